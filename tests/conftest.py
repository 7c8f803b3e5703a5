"""Hypothesis profiles: ``ci`` (seeded, derandomized, the default) and ``thorough`` (deep local runs).

Select with ``HYPOTHESIS_PROFILE=thorough pytest``. ``deadline=None`` everywhere: several
properties run SymPy or mpmath, whose first call is slow.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=20,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
