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


@pytest.fixture(scope="session")
def sandbox():
    """The whole control plane in this process: moto's server and the Chalice app on 127.0.0.1, started
    once per test session (each test uses its own project to stay independent). At the end, every state
    machine the session created must be one AWS accepts (moto takes some AWS refuses)."""
    from slipstream.sandbox.server import Sandbox
    from tests.support.asl import assert_deployed_valid

    running = Sandbox().start()
    yield running
    try:
        assert_deployed_valid(running.client("stepfunctions"), "the session's sandbox")
    finally:
        running.stop()


@pytest.fixture(scope="session")
def api_config(sandbox):
    from slipstream.config import ClientConfig

    return ClientConfig(api_url=sandbox.api_url, project="default", domain="development", auth="none")


@pytest.fixture()
def api(api_config):
    """An API client of the session's sandbox."""
    from slipstream.client import ApiClient

    return ApiClient(api_config)


@pytest.fixture()
def project(api, request) -> str:
    """A fresh project for one test, named after it."""
    import re
    import uuid

    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:28] + "-" + uuid.uuid4().hex[:6]
    api.create_project(name)
    return name


# The longest files, longest first (measured with --durations=0). xdist's loadfile hands whole files to the
# workers in collection order: started first, the long ones overlap each other instead of ending the run on
# one worker alone.
LONG_FILES = ("tests/e2e/test_conditionals_remote.py", "tests/e2e/test_burst.py",
              "tests/integration/test_registration_atomic.py", "tests/e2e/test_remote_executions.py",
              "tests/e2e/test_sandbox_lifecycle.py", "tests/e2e/test_cli_remote.py", "tests/e2e/test_clocks.py",
              "tests/integration/dispatch/test_reconciler.py", "tests/e2e/test_console.py", "tests/e2e/test_launch.py",
              "tests/integration/test_task_image_install.py",
              "tests/e2e/test_cli_sandbox.py", "tests/e2e/test_limits.py", "tests/e2e/test_cli_local.py",
              "tests/e2e/test_faults.py", "tests/deploy/test_aws.py", "tests/e2e/test_flytekit_idioms_remote.py",
              "tests/unit/compiler/test_asl_valid.py", "tests/integration/dispatch/test_reconciler_selectors.py")


def pytest_configure(config: pytest.Config) -> None:
    """xdist (3.x) reorders loadfile's files by their number of tests unless told not to, which put a file of
    two long tests (the burst) last and made it the run's tail; the order of LONG_FILES is by time."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: index for index, path in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
