"""The forward and reverse Fisher divergences and their gradients, with error estimates.

    F(θ) = E_{x~p}  ||∇log q_θ − ∇log p||²      (forward_fisher)
    R(θ) = E_{x~q_θ}||∇log q_θ − ∇log p||²      (reverse_fisher)

with no factor 1/2 (``derivations.fisher.FISHER_FACTOR``). Each is the generated integrand of
``derivations/fisher.py`` integrated by the error-controlled rule of ``rfisher.quadrature``
(default: relative error ≤ 1e−12 of Σ|w f|), or by Monte Carlo with a standard error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rfisher import quadrature, validation
from rfisher.mixture import GaussianMixture, check_pair


@dataclass(frozen=True)
class FisherResult:
    """One objective at one θ: value, gradient (K, d), and an error bound for each.

    ``value_error`` and ``gradient_error`` bound the absolute error (quadrature: the
    conservative estimate of ``rfisher.quadrature``; Monte Carlo: 3 standard errors, see
    ``rfisher.montecarlo``). ``converged`` says whether the requested tolerance was met; a result
    with a non-finite value, gradient or error is never converged (``__post_init__`` enforces it).
    """

    objective: str
    value: float
    gradient: np.ndarray
    value_error: float
    gradient_error: np.ndarray
    nodes: int
    rule: str
    converged: bool

    def __post_init__(self):
        finite = (np.isfinite(self.value) and np.isfinite(self.value_error) and np.all(np.isfinite(self.gradient))
                  and np.all(np.isfinite(self.gradient_error)))
        object.__setattr__(self, "converged", bool(self.converged and finite))

    def __repr__(self) -> str:
        return (
            f"FisherResult({self.objective}: value={self.value!r} ± {self.value_error:.1e}, "
            f"gradient={self.gradient.tolist()}, max gradient error={float(np.max(self.gradient_error)):.1e}, "
            f"{self.nodes} nodes, rule={self.rule})"
        )


def _evaluate(objective, student, teacher, rtol, atol, rule, samples, seed) -> FisherResult:
    check_pair(student, teacher)
    validation.choice(rule, "rule", ("quadrature", "montecarlo"))
    rtol, atol = validation.rtol(rtol), validation.atol(atol)
    if rule == "montecarlo":
        samples, seed = validation.integer(samples, "samples", 4, validation.MAX_SAMPLES), validation.seed(seed)
        if samples % 2:
            raise validation.InvalidArgument(f"samples must be an even number ≥ 4, got {samples!r}")
    validation.distances_in_range(student.means[None], teacher.means[None], "student/teacher means")
    K, d = student.K, student.d
    if rule == "quadrature":
        res = quadrature.integrate(objective, student.means[None], student.weights, teacher.means,
                                   teacher.weights, rtol=rtol, atol=atol)
        value, error, nodes, ok = res.value[0], res.error[0], int(res.nodes[0]), bool(res.converged[0])
    elif rule == "montecarlo":
        from rfisher import montecarlo

        res = montecarlo.integrate(objective, student.means[None], student.weights, teacher.means,
                                   teacher.weights, samples=samples, seed=seed)
        # a Monte Carlo estimate has no tolerance to meet: it counts as converged when it is finite
        value, error, nodes = res.value[0], 3 * res.stderr[0], int(res.nodes)
        ok = bool(np.all(np.isfinite(value)) and np.all(np.isfinite(error)))
    return FisherResult(
        objective=objective,
        value=float(value[0]),
        gradient=value[1:].reshape(K, d).copy(),
        value_error=float(error[0]),
        gradient_error=error[1:].reshape(K, d).copy(),
        nodes=nodes,
        rule=rule,
        converged=ok,
    )


def reverse_fisher(student: GaussianMixture, teacher: GaussianMixture, *, rtol=1e-12, atol=0.0,
                   rule="quadrature", samples=2**16, seed=0) -> FisherResult:
    """R(θ) = E_{q_θ}||∇log q_θ − ∇log p||² and ∇_μ R (including the moving-measure term).

    ``rtol`` in [1e−15, 1), ``atol`` ≥ 0 finite; the means may span at most 1e50 (the ranges and
    their reasons: ``rfisher.validation``). Bad arguments raise ``InvalidArgument`` naming them."""
    return _evaluate("reverse", student, teacher, rtol, atol, rule, samples, seed)


def forward_fisher(student: GaussianMixture, teacher: GaussianMixture, *, rtol=1e-12, atol=0.0,
                   rule="quadrature", samples=2**16, seed=0) -> FisherResult:
    """F(θ) = E_p||∇log q_θ − ∇log p||² and ∇_μ F (arguments as for ``reverse_fisher``)."""
    return _evaluate("forward", student, teacher, rtol, atol, rule, samples, seed)
