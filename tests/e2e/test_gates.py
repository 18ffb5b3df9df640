"""Gates in the session's sandbox: a sleep is a Wait state, signals and approvals are callback tokens answered
through the API and the CLI (chalicelib.gates); wrong values are refused, a rejected or unanswered gate fails its
execution naming the gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from chalicelib.errors import ConflictError, NotFoundError, ValidationError
from slipstream.cli.main import cli
from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from slipstream.config import ClientConfig
from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e
WORKFLOWS = Path(__file__).parent / "workflows" / "gate_flows.py"


@pytest.fixture(scope="module")
def gates(sandbox, registered) -> Runner:
    """examples/gates.py (registered with every example) and the test workflows, in the default project."""
    client = ApiClient(ClientConfig(sandbox.api_url, "default", "development", "none"))
    client.register(build_registration(client, [str(WORKFLOWS)], "default", "development", registered)[0])
    return Runner(client, registered)


def _cli(sandbox, *args: str) -> str:
    env = {"SLIPSTREAM_API_URL": sandbox.api_url, "SLIPSTREAM_PROJECT": "default",
           "SLIPSTREAM_DOMAIN": "development", "SLIPSTREAM_AUTH": "none"}
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_sleep_signal_and_approval_answered_from_the_cli_run_the_example(sandbox, gates):
    # GIVEN examples/gates.py's workflow: a sleep, a signal and an approval before its last task
    name = gates.start("gates.gated", {"n": 2})["id"]["name"]
    # WHEN its title and its approval come over the CLI, before their gates are reached (the approval's gate waits
    # for the first task): each is kept until its gate stores its token (test_a_rejected_approval: the other order)
    assert "title" in _cli(sandbox, "execution", "signal", name, "title", "Report")
    assert "approved" in _cli(sandbox, "execution", "approve", name, "publish")
    # THEN it succeeds with the signal's value and the approved value passed on, after the sleep
    execution = gates.wait(name)
    assert execution["phase"] == "SUCCEEDED", execution["error"]
    assert execution["outputs"] == {"o0": "Report: xx"}
    nodes = gates.nodes(name)
    assert {n: nodes[n]["phase"] for n in ("n1", "n2", "n3")} == dict.fromkeys(("n1", "n2", "n3"), "SUCCEEDED")


def test_a_typed_signal_is_checked_then_becomes_the_nodes_output(gates):
    api = gates.client
    name = gates.start("gate_flows.counted")["id"]["name"]
    with pytest.raises(ValidationError, match=r"signal \[count\]: expected int"):
        api.signal("default", "development", name, "count", "three")  # 400
    with pytest.raises(NotFoundError, match=r"no gate \[cnt\].*count"):
        api.signal("default", "development", name, "cnt", 3)  # 404
    assert api.signal("default", "development", name, "count", 3)["value"] == 3
    with pytest.raises(ConflictError, match="answered already"):
        api.signal("default", "development", name, "count", 4)  # 409
    execution = gates.wait(name)
    assert execution["phase"] == "SUCCEEDED", execution["error"]
    assert execution["outputs"] == {"o0": 3}
    assert gates.nodes(name)["n0"]["phase"] == "SUCCEEDED"


def test_a_rejected_approval_fails_the_execution_naming_the_gate(gates):
    api = gates.client
    name = gates.start("gate_flows.approved", {"x": 4})["id"]["name"]
    gates.wait_node(name, "n1", "RUNNING")
    api.signal("default", "development", name, "ship", False)
    execution = gates.wait(name)
    assert execution["phase"] == "FAILED"
    assert "approval [ship]" in execution["error"]["message"] and "rejected" in execution["error"]["message"]
    assert gates.nodes(name)["n1"]["phase"] == "FAILED"


def test_an_unanswered_gate_times_out_and_fails_the_execution_naming_it(gates):
    execution = gates.run("gate_flows.unanswered")
    assert execution["phase"] == "FAILED"
    assert "gate [never]" in execution["error"]["message"] and "timed out" in execution["error"]["message"]
    node = gates.nodes(execution["id"]["name"])["n0"]
    assert node["phase"] == "FAILED" and "timed out" in node["error"]["message"]
