"""Shared fixtures. Every test session gets its own SLIPSTREAM_HOME, so no test reads or writes the
user's ~/.slipstream (local cache, config, sandbox state)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session", autouse=True)
def slipstream_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("slipstream-home")
    os.environ["SLIPSTREAM_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def examples_on_path() -> Path:
    """Make `import hello` find examples/hello.py, as `slipstream run examples/hello.py` does."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    return EXAMPLES
