"""Forward and reverse Fisher divergences: integrands and their gradients (docs/theory.md, "Notation and conventions").

Convention (stated once, followed everywhere in rfisher): **no factor 1/2**,

    F(θ) = E_{x~p} ||∇log q_θ(x) − ∇log p(x)||²,      R(θ) = E_{x~q_θ} ||∇log q_θ(x) − ∇log p(x)||².

Both are expectations of the same integrand ||e(x)||², with the score gap
e(x) = m_θ(x) − m_p(x) (the −x of both scores cancels). They differ in the measure, and so in
their gradients: for R the measure q_θ moves with θ, and ∇_{μ_j} q_θ(x) = q_θ(x) r_j(x) (x − μ_j),
which adds the term E_q[ r_j (x − μ_j) ||e||² ].

Each object comes twice: ``*_from_definition`` (differentiated with ``sympy.diff`` from the
densities) and the closed form of docs/theory.md ("Gradients") in responsibility atoms, which the code
generator prints. ``derivations.proofs`` proves them equal.
"""

from __future__ import annotations

import sympy as sp

from derivations import scores
from derivations.symbols import MixtureSymbols, dot, sq_norm, sub

#: The factor in front of E||∇log q − ∇log p||² in F and R. rfisher uses 1 (no 1/2).
FISHER_FACTOR = 1


# --- closed forms ------------------------------------------------------------------------------


def score_gap(ms: MixtureSymbols) -> tuple:
    """e(x) = ∇log q_θ(x) − ∇log p(x) = m_θ(x) − m_p(x)."""
    return sub(scores.student_posterior_mean(ms), scores.teacher_posterior_mean(ms))


def fisher_integrand(ms: MixtureSymbols) -> sp.Expr:
    """||e(x)||²: the integrand of both F (under p) and R (under q_θ)."""
    return FISHER_FACTOR * sq_norm(score_gap(ms))


def forward_gradient_integrand(ms: MixtureSymbols) -> list[tuple]:
    """∇_{μ_j} ||e||² = 2 r_j ( e + (x − μ_j) ⟨μ_j − m_θ, e⟩ ), so ∇_{μ_j} F = E_p[that].

    The measure p does not depend on θ, so this is the whole integrand of ∇F.
    """
    e = score_gap(ms)
    m = scores.student_posterior_mean(ms)
    out = []
    for j in range(ms.K):
        inner = dot(sub(ms.mu[j], m), e)
        out.append(
            tuple(
                FISHER_FACTOR * 2 * ms.r[j] * (e[a] + (ms.x[a] - ms.mu[j][a]) * inner)
                for a in range(ms.d)
            )
        )
    return out


def moving_measure_integrand(ms: MixtureSymbols) -> list[tuple]:
    """r_j (x − μ_j) ||e||²: the term that ∇_{μ_j} q_θ = q_θ r_j (x − μ_j) adds to ∇R."""
    ee = fisher_integrand(ms)
    return [tuple(ms.r[j] * (ms.x[a] - ms.mu[j][a]) * ee for a in range(ms.d)) for j in range(ms.K)]


def reverse_gradient_integrand(ms: MixtureSymbols) -> list[tuple]:
    """∇_{μ_j} R = E_q[ r_j (x − μ_j) ||e||² ] + E_q[ 2 r_j ( e + (x − μ_j) ⟨μ_j − m_θ, e⟩ ) ]."""
    moving = moving_measure_integrand(ms)
    fixed = forward_gradient_integrand(ms)
    return [tuple(mv + fx for mv, fx in zip(moving[j], fixed[j], strict=True)) for j in range(ms.K)]


# --- definitions -------------------------------------------------------------------------------


def score_gap_from_definition(ms: MixtureSymbols) -> tuple:
    """∇_x log q_θ − ∇_x log p, each obtained by ``diff`` of the log-density."""
    return sub(scores.student_score_from_definition(ms), scores.teacher_score_from_definition(ms))


def fisher_integrand_from_definition(ms: MixtureSymbols) -> sp.Expr:
    return FISHER_FACTOR * sq_norm(score_gap_from_definition(ms))


def forward_gradient_integrand_from_definition(ms: MixtureSymbols) -> list[tuple]:
    """∂/∂μ_{j,a} of ||∇log q_θ − ∇log p||² (the measure p is fixed)."""
    f = fisher_integrand_from_definition(ms)
    return [tuple(sp.diff(f, ms.mu[j][a]) for a in range(ms.d)) for j in range(ms.K)]


def reverse_gradient_integrand_from_definition(ms: MixtureSymbols) -> list[tuple]:
    """∂/∂μ_{j,a} of q_θ(x) ||∇log q_θ − ∇log p||², divided by q_θ(x).

    R(θ) = ∫ q_θ(x) f_θ(x) dx, so ∇R = ∫ ∂(q_θ f_θ) dx = E_q[ ∂(q_θ f_θ) / q_θ ]: the derivative
    of the product includes the moving measure.
    """
    q = scores.mixture_density(ms.x, ms.mu, ms.w)
    qf = q * fisher_integrand_from_definition(ms)
    return [tuple(sp.diff(qf, ms.mu[j][a]) / q for a in range(ms.d)) for j in range(ms.K)]
