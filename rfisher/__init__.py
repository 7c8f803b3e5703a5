"""rfisher: symbolic derivations and numerical checks of reverse-Fisher score matching for
Gaussian mixtures (arXiv:2606.19876).

Public API:
    GaussianMixture          validated mixture Σ w_i N(μ_i, I)
    reverse_fisher, forward_fisher   R and F with gradients and error bounds
"""

from rfisher.mixture import GaussianMixture
from rfisher.objectives import FisherResult, forward_fisher, reverse_fisher

__version__ = "0.1.0"

__all__ = ["FisherResult", "GaussianMixture", "__version__", "forward_fisher", "reverse_fisher"]
