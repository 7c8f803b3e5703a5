"""The identities of docs/theory.md, "Identities" (single-Gaussian teacher p = N(μ*, I)): pointwise parts, symbolically.

Each identity about an expectation is split into a pointwise (algebraic) part, proved here with
SymPy, and an integration step (integration by parts, or E_q[r_i] = w_i) whose numeric check
lives in the tests.

1. Stein. div(q g) = q ⟨∇log q, g⟩ + q div g, so for g = ∇log p = μ* − x (div g = −d):
   E_q⟨∇log q, ∇log p⟩ = −E_q[Δ log p] = d.
2. Fisher information of the student. Δ log q = −d + tr Cov_{r(x)}(μ), and by 1. with g = ∇log q,
   E_q||∇log q||² = −E_q[Δ log q] = d − E_q[tr Cov_{r(x)}(μ)].
3. Decomposition. Pointwise, with Σ r_i = 1:
   ||m_θ − μ*||² = Σ_i r_i ||μ_i − μ*||² − Σ_i r_i ||μ_i − m_θ||²,
   and q r_i = w_i N(μ_i, I) gives E_q[r_i(x) h] = w_i E_{N(μ_i, I)}[h], so E_q[m_θ] = μ̄ and
   R = Σ w_i ||μ_i − μ*||² − E_q Σ r_i ||μ_i − m_θ||² = ||μ̄ − μ*||² + Var_q(m_θ).
4. R = 0 iff every μ_i = μ*: by 3., R ≥ ||μ̄ − μ*||² and R = 0 forces Var_q(m_θ) = 0, i.e. m_θ
   constant, which for distinct means contradicts m_θ → μ_i along rays (checked numerically).
5. Translation (sum rule). m is equivariant: m_{θ+t}(x + t) = m_θ(x) + t, and q_{θ+t}(x + t) =
   q_θ(x); hence R(θ + t·1) = E_{q_θ}||m_θ + t − μ*||², and Σ_j ∇_{μ_j} R = 2(μ̄ − μ*).
"""

from __future__ import annotations

import sympy as sp

from derivations import scores
from derivations.symbols import MixtureSymbols, dot, sq_norm, sub


def _single_teacher(ms: MixtureSymbols) -> tuple:
    if ms.J != 1:
        raise ValueError("the identities are stated for a single-Gaussian teacher (J = 1)")
    return ms.nu[0]


# 1. Stein ---------------------------------------------------------------------------------------


def stein_integrand(ms: MixtureSymbols) -> sp.Expr:
    """⟨∇log q_θ, ∇log p⟩ = ⟨m_θ − x, μ* − x⟩ (closed form); its E_q is d."""
    target = _single_teacher(ms)
    return dot(scores.student_score(ms), sub(target, ms.x))


def stein_pointwise_residual(ms: MixtureSymbols) -> sp.Expr:
    """div(q ∇log p) − q⟨∇log q, ∇log p⟩ − q Δlog p, from the definitions: identically 0."""
    target = _single_teacher(ms)
    q = scores.mixture_density(ms.x, ms.mu, ms.w)
    g = sub(target, ms.x)  # ∇ log p for p = N(μ*, I)
    div_qg = sp.Add(*[sp.diff(q * g[a], ms.x[a]) for a in range(ms.d)])
    score_q = scores.student_score_from_definition(ms)
    lap_log_p = sp.Add(*[sp.diff(g[a], ms.x[a]) for a in range(ms.d)])
    return div_qg - q * dot(score_q, g) - q * lap_log_p


# 2. Fisher information ---------------------------------------------------------------------------


def student_fisher_integrand(ms: MixtureSymbols) -> sp.Expr:
    """||∇log q_θ||² = ||m_θ − x||²."""
    return sq_norm(scores.student_score(ms))


def laplacian_log_q_from_definition(ms: MixtureSymbols) -> sp.Expr:
    log_q = sp.log(scores.mixture_density(ms.x, ms.mu, ms.w))
    return sp.Add(*[sp.diff(log_q, xa, 2) for xa in ms.x])


def laplacian_log_q(ms: MixtureSymbols) -> sp.Expr:
    """Δ log q_θ = −d + tr Cov_{r(x)}(μ) (closed form)."""
    return -ms.d + scores.responsibility_spread(ms)


# 3. Decomposition --------------------------------------------------------------------------------


def decomposition_residual(ms: MixtureSymbols) -> sp.Expr:
    """||m − μ*||² − (Σ r_i ||μ_i − μ*||² − Σ r_i ||μ_i − m||²); zero once Σ r_i = 1."""
    target = _single_teacher(ms)
    m = scores.student_posterior_mean(ms)
    lhs = sq_norm(sub(m, target))
    rhs = sp.Add(*[ms.r[i] * sq_norm(sub(ms.mu[i], target)) for i in range(ms.K)]) - scores.responsibility_spread(ms)
    return lhs - rhs


def spread_integrand(ms: MixtureSymbols) -> sp.Expr:
    """Σ_i r_i ||μ_i − m_θ||², whose E_q is the gap V_w − R."""
    return scores.responsibility_spread(ms)


def weighted_distance(ms: MixtureSymbols) -> sp.Expr:
    """V_w = Σ_i w_i ||μ_i − μ*||² (the upper bound of R)."""
    target = _single_teacher(ms)
    return sp.Add(*[ms.w[i] * sq_norm(sub(ms.mu[i], target)) for i in range(ms.K)])


def responsibility_times_density_residual(ms: MixtureSymbols, i: int) -> sp.Expr:
    """q(x) r_i(x) − w_i N(x; μ_i, I), from the definitions: identically 0 (so E_q r_i = w_i)."""
    q = scores.mixture_density(ms.x, ms.mu, ms.w)
    r = scores.responsibilities_from_definition(ms.x, ms.mu, ms.w)
    comp = scores.mixture_density(ms.x, [ms.mu[i]], [ms.w[i]])
    return q * r[i] - comp


# 5. Translation ----------------------------------------------------------------------------------


def posterior_mean_equivariance_residual(ms: MixtureSymbols) -> tuple:
    """m_{θ+t}(x + t) − m_θ(x) − t with the responsibilities written out: identically 0."""
    t = tuple(sp.Symbol(f"t{a}", real=True) for a in range(ms.d))
    m = scores.posterior_mean_from_definition(ms)
    shift = {ms.x[a]: ms.x[a] + t[a] for a in range(ms.d)}
    shift.update({ms.mu[i][a]: ms.mu[i][a] + t[a] for i in range(ms.K) for a in range(ms.d)})
    moved = tuple(sp.sympify(c).subs(shift, simultaneous=True) for c in m)
    return tuple(moved[a] - m[a] - t[a] for a in range(ms.d))
