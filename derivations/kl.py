"""KL(q_θ‖p) and KL(p‖q_θ) as Lyapunov candidates: the pointwise integrands of their values and
of their gradients in the student means, derived here (docs/theory.md, "Lyapunov candidates",
"KL candidates").

Student q_θ = Σ_k w_k N(μ_k, I), teacher p = Σ_j π_j N(ν_j, I) in R^d. Both have covariance I, so
the normalisations cancel in log q − log p and the common −||x||²/2 cancels from every logit:

    a_k(x) = log w_k + ⟨μ_k, x⟩ − ||μ_k||²/2,    b_j(x) = log π_j + ⟨ν_j, x⟩ − ||ν_j||²/2,
    ℓ(x) = log q(x) − log p(x) = LSE_k a_k(x) − LSE_j b_j(x),
    r_k = softmax_k a,  ρ_j = softmax_j b  (the responsibilities).

Reverse KL, KL(q‖p) = E_q ℓ = Σ_i w_i E_{z~N(0,I)} ℓ(μ_i + z). Its gradient in μ_i, two forms:

* reparametrised (used): ∇_{μ_i} KL(q‖p) = w_i E_z[∇_x ℓ(μ_i + z)] (the explicit dependence of ℓ on
  θ drops out because E_q ∇_θ log q = ∫∇_θ q = 0), with ∇_x ℓ = Σ_k r_k μ_k − Σ_j ρ_j ν_j;
* score function (cross-check): ∇_{μ_i} KL(q‖p) = E_q[ℓ(x) r_i(x) (x − μ_i)], since
  ∇_{μ_i} log q = r_i (x − μ_i).

Forward KL, KL(p‖q) = E_p[−ℓ], ∇_{μ_i} KL(p‖q) = −E_p[r_i(x)(x − μ_i)].

Each identity used (the cancellation of ||x||²/2, ∇_{μ_i} log q, ∇_x ℓ) is checked here by SymPy on the
raw log-densities (``verify``); the forms exported are the simplified ones, in the atoms x, μ, ν, r, ρ,
ℓ, and are lambdified for numpy by ``rfisher.kl`` (they are not hot paths of the GD runner).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.symbols import MixtureSymbols, dot, sq_norm, sub

#: ℓ(x) = log q(x) − log p(x), an atom of the pointwise forms (computed by a stable log-sum-exp).
ELL = sp.Symbol("ell", real=True)


def raw_log_student(ms: MixtureSymbols) -> sp.Expr:
    """log q(x) up to the constant −(d/2) log 2π: log Σ_k w_k exp(−||x − μ_k||²/2)."""
    return sp.log(sp.Add(*[ms.w[k] * sp.exp(-sq_norm(sub(ms.x, ms.mu[k])) / 2) for k in range(ms.K)]))


def raw_log_teacher(ms: MixtureSymbols) -> sp.Expr:
    """log p(x) up to the same constant: log Σ_j π_j exp(−||x − ν_j||²/2)."""
    return sp.log(sp.Add(*[ms.pi[j] * sp.exp(-sq_norm(sub(ms.x, ms.nu[j])) / 2) for j in range(ms.J)]))


def student_logits(ms: MixtureSymbols) -> list[sp.Expr]:
    """a_k(x) = log w_k + ⟨μ_k, x⟩ − ||μ_k||²/2 (the −||x||²/2 common to q and p removed)."""
    return [sp.log(ms.w[k]) + dot(ms.mu[k], ms.x) - sq_norm(ms.mu[k]) / 2 for k in range(ms.K)]


def teacher_logits(ms: MixtureSymbols) -> list[sp.Expr]:
    """b_j(x) = log π_j + ⟨ν_j, x⟩ − ||ν_j||²/2."""
    return [sp.log(ms.pi[j]) + dot(ms.nu[j], ms.x) - sq_norm(ms.nu[j]) / 2 for j in range(ms.J)]


def _softmax(logits, k):
    return sp.exp(logits[k]) / sp.Add(*[sp.exp(a) for a in logits])


def score_in_mean(ms: MixtureSymbols, i: int) -> list[sp.Expr]:
    """∇_{μ_i} log q(x) = r_i (x − μ_i), in the atom r_i."""
    return [ms.r[i] * (ms.x[a] - ms.mu[i][a]) for a in range(ms.d)]


def _x_gradient_raw(ms: MixtureSymbols) -> list[sp.Expr]:
    """∇_x ℓ = Σ_k r_k (μ_k − x) − Σ_j ρ_j (ν_j − x), before using Σ r = Σ ρ = 1."""
    return [sp.Add(*[ms.r[k] * (ms.mu[k][a] - ms.x[a]) for k in range(ms.K)])
            - sp.Add(*[ms.rho[j] * (ms.nu[j][a] - ms.x[a]) for j in range(ms.J)]) for a in range(ms.d)]


def x_gradient(ms: MixtureSymbols) -> list[sp.Expr]:
    """∇_x ℓ(x) = Σ_k r_k μ_k − Σ_j ρ_j ν_j (the x terms cancel since Σ_k r_k = Σ_j ρ_j = 1)."""
    return [sp.Add(*[ms.r[k] * ms.mu[k][a] for k in range(ms.K)]) - sp.Add(*[ms.rho[j] * ms.nu[j][a] for j in range(ms.J)])
            for a in range(ms.d)]


@cache
def forms(K: int, J: int, d: int) -> dict:
    """The pointwise integrands, in the atoms x, μ, ν, r, ρ, ℓ (each a list of SymPy expressions):

    ``reverse_value``          ℓ                          (under q)
    ``reverse_gradient``       ∇_x ℓ, d entries           (under N(μ_i, I), times w_i: reparametrised)
    ``reverse_gradient_score`` ℓ r_i (x − μ_i), K·d       (under q: score-function form, cross-check)
    ``forward_value``          −ℓ                         (under p)
    ``forward_gradient``       −r_i (x − μ_i), K·d        (under p)
    ``student_logits``, ``teacher_logits``  a_k, b_j      (in x, μ, w and x, ν, π)
    """
    ms = MixtureSymbols(K, J, d)
    score = [c for i in range(K) for c in score_in_mean(ms, i)]
    return {
        "symbols": ms,
        "student_logits": student_logits(ms),
        "teacher_logits": teacher_logits(ms),
        "reverse_value": [ELL],
        "reverse_gradient": x_gradient(ms),
        "reverse_gradient_score": [ELL * c for c in score],
        "forward_value": [-ELL],
        "forward_gradient": [-c for c in score],
    }


def verify(K: int = 2, J: int = 2, d: int = 2) -> None:
    """SymPy checks of every identity the forms use (raises AssertionError on a wrong one):

    1. LSE(a) − LSE(b) equals log q − log p (the ||x||²/2 and the normalisations cancel);
    2. ∂_{μ_i} log q = r_i (x − μ_i) with r_i = softmax_i(a);
    3. ∂_x (log q − log p) equals the raw form Σ r_k (μ_k − x) − Σ ρ_j (ν_j − x), and that equals the
       simplified Σ r_k μ_k − Σ ρ_j ν_j once r_K = 1 − Σ_{k<K} r_k, ρ_J = 1 − Σ_{j<J} ρ_j.
    """
    ms = MixtureSymbols(K, J, d)
    a, b = student_logits(ms), teacher_logits(ms)
    log_q, log_p = raw_log_student(ms), raw_log_teacher(ms)
    half = sq_norm(ms.x) / 2
    # 1: log Σ_k exp(a_k) − ||x||²/2 = log q, likewise for p (compared through exp: log's branches are real here)
    lhs_q = sp.Add(*[sp.exp(ak - half) for ak in a])
    lhs_p = sp.Add(*[sp.exp(bj - half) for bj in b])
    assert sp.simplify(sp.expand(lhs_q - sp.exp(log_q))) == 0
    assert sp.simplify(sp.expand(lhs_p - sp.exp(log_p))) == 0
    r_of = {ms.r[k]: _softmax(a, k) for k in range(K)}
    rho_of = {ms.rho[j]: _softmax(b, j) for j in range(J)}
    # 2: the score in μ_i
    for i in range(K):
        for c, target in zip([sp.diff(log_q, ms.mu[i][t]) for t in range(d)], score_in_mean(ms, i)):
            assert sp.simplify(c - target.xreplace(r_of)) == 0
    # 3: the x-gradient of ℓ, raw and simplified
    ell = log_q - log_p
    raw = _x_gradient_raw(ms)
    for t in range(d):
        assert sp.simplify(sp.diff(ell, ms.x[t]) - raw[t].xreplace({**r_of, **rho_of})) == 0
    closure = {ms.r[K - 1]: 1 - sp.Add(*ms.r[:K - 1]), ms.rho[J - 1]: 1 - sp.Add(*ms.rho[:J - 1])}
    for t, (c_raw, c) in enumerate(zip(raw, x_gradient(ms))):
        assert sp.expand((c_raw - c).xreplace(closure)) == 0, t
