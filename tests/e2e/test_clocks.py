"""Clocks start when the work starts, and a retry gets a clock, and a token, of its own. A pod that waits
to be scheduled (a node scaling up, an image, a GPU) does not spend its task's timeout, the control plane
keeps its token alive meanwhile, and a pod that never starts fails with the reason after the maximum
pending time. The sandbox holds such pods back (SLIPSTREAM_SANDBOX_PENDING_SECONDS) in a sandbox of its own
with short heartbeats, so a token that nobody kept alive would time out long before the pod starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from slipstream.config import ClientConfig
from tests.e2e.conftest import Runner
from tests.support.sandbox_process import sandbox_process

pytestmark = pytest.mark.e2e
WORKFLOWS = Path(__file__).parent / "workflows"
HEARTBEAT_SECONDS = 5  # the R states' HeartbeatSeconds: 3 s shorter than the 8 s the pod is held
# The unschedulable pod fails after this: the critical path of the module. The sandbox ends a pod's hold before it
# checks the maximum again, so a held pod (8 s) and the maximum do not race.
MAX_PENDING_SECONDS = 10


@pytest.fixture(scope="module")
def pending_runner(tmp_path_factory) -> Runner:
    with sandbox_process(tmp_path_factory.mktemp("clocks-sandbox"), stack="clocks",
                         heartbeat_seconds=HEARTBEAT_SECONDS, max_pending_seconds=MAX_PENDING_SECONDS) as state:
        client = ApiClient(ClientConfig(state["api_url"], "default", "development", "none"))
        files = [str(WORKFLOWS / "pending.py"), str(WORKFLOWS / "faults.py")]
        client.register(build_registration(client, files, "default", "development", "v1")[0])
        yield Runner(client, "v1")


@pytest.fixture(scope="module")
def started(pending_runner) -> dict[str, str]:
    """The three executions, started at once so that their waits overlap: test → execution name."""
    runs = {"late": ("pending.scheduled_late", {"x": 41}), "unschedulable": ("pending.unschedulable", {"x": 1}),
            "retried": ("faults.retried_after_user_error", {"seconds": 2.5})}
    return {key: pending_runner.start(workflow, inputs)["id"]["name"] for key, (workflow, inputs) in runs.items()}


def test_a_pod_pending_longer_than_its_timeout_and_heartbeat_still_runs_and_succeeds(pending_runner, started):
    # GIVEN a task with a 3 s timeout whose pod stays Pending for 8 s (> timeout, > HeartbeatSeconds)
    execution = pending_runner.wait(started["late"])
    # THEN it runs once it starts and succeeds
    assert execution["phase"] == "SUCCEEDED", execution.get("error")
    assert execution["outputs"] == {"o0": 42}
    node = pending_runner.nodes(execution["id"]["name"])["n0"]
    assert node["phase"] == "SUCCEEDED" and node["attempts"] == 1


def test_a_pod_that_never_starts_fails_with_its_reason_after_the_maximum_pending_time(pending_runner, started):
    execution = pending_runner.wait(started["unschedulable"])
    assert execution["phase"] == "FAILED"
    message = execution["error"]["message"]
    assert f"stayed Pending for {MAX_PENDING_SECONDS}s" in message, message
    assert "[Unschedulable]" in message and "SLIPSTREAM_MAX_PENDING_SECONDS" in message, message


def test_a_retry_after_a_user_error_heartbeats_and_succeeds(pending_runner, started):
    # GIVEN a task that heartbeats for 2.5 s (every second here: twice), then fails its first attempt
    execution = pending_runner.wait(started["retried"])
    # THEN its second attempt heartbeats as long, under a token of its own, and succeeds
    assert execution["phase"] == "SUCCEEDED", execution.get("error")
    assert execution["outputs"] == {"o0": 1}
    assert pending_runner.nodes(execution["id"]["name"])["n0"]["attempts"] == 2
