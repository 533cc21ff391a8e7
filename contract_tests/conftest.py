"""Hypothesis profiles: quick by default, thorough in CI (HYPOTHESIS_PROFILE=ci, set by .ci/run)."""

import os

from hypothesis import HealthCheck, settings

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile("default", max_examples=60, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile(
    "ci", max_examples=400, deadline=None, suppress_health_check=_SLOW_OK, print_blob=True
)
# A few examples per property, for runs that only need to know the suite holds together (the
# update-spec test that moves a copy of the project to another API version).
settings.register_profile("smoke", max_examples=5, deadline=None, suppress_health_check=_SLOW_OK)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
