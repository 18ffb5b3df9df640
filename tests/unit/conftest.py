"""Fixtures and Hypothesis profiles of the unit tests.

Profiles, as chalice does: few examples by default so the suite stays fast, many in CI
(`HYPOTHESIS_PROFILE=ci`). No deadline: a test must not depend on how fast the machine is.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from slipstream.cache import LocalCache

settings.register_profile("unit", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "unit"))


@pytest.fixture()
def local_cache(tmp_path: Path) -> LocalCache:
    """A task cache of this test's own (the session's default cache is shared by all tests)."""
    return LocalCache(tmp_path / "cache")
