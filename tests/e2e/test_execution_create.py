"""Execution names given by a client make creation idempotent, as the raw HTTP answers show: 201 the first
time, 200 with the same execution for the same request (also when the inputs resolve to the same values),
409 for another request under a taken name; one Step Functions execution whatever the number of calls."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from chalicelib.data import execution_key
from chalicelib.machines import sfn_execution_name
from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from tests.e2e.conftest import Runner
from tests.integration.api_http import call, error_of, executions_path

pytestmark = pytest.mark.e2e
WORKFLOWS = Path(__file__).parent / "workflows" / "notified.py"
VERSION = "create-idempotent"


@pytest.fixture(scope="module")
def runner(api_config) -> Runner:
    client = ApiClient(api_config)
    client.register(build_registration(client, [str(WORKFLOWS)], "default", "development", VERSION)[0])
    return Runner(client, VERSION)


def _body(name: str, inputs: dict[str, Any], **target: Any) -> dict[str, Any]:
    return {"project": "default", "domain": "development", "name": name, "inputs": inputs,
            **(target or {"workflow": {"name": "notified.checked", "version": VERSION}})}


def _sfn_executions(sandbox, name: str) -> list[str]:
    """The Step Functions executions started for execution `name` (any state machine of the deployment)."""
    sfn = sandbox.client("stepfunctions")
    wanted = sfn_execution_name(execution_key("default", "development", name))
    return [e["executionArn"] for m in sfn.list_state_machines()["stateMachines"]
            for e in sfn.list_executions(stateMachineArn=m["stateMachineArn"])["executions"] if e.get("name") == wanted]


def test_created_then_found_then_refused(runner, sandbox):
    name = f"idem-{uuid.uuid4().hex[:8]}"
    first_status, first = call(runner.client, "POST", executions_path("default"), _body(name, {"ok": True}))
    assert first_status == 201, first
    again_status, again = call(runner.client, "POST", executions_path("default"), _body(name, {"ok": True}))
    assert again_status == 200, again
    assert again["id"] == first["id"] and again["created_at"] == first["created_at"]
    assert again["started_at"] == first["started_at"] and again["workflow"] == first["workflow"]
    # the default of `ok` is True: the same request once inputs are resolved
    defaulted_status, defaulted = call(runner.client, "POST", executions_path("default"), _body(name, {}))
    assert defaulted_status == 200 and defaulted["id"] == first["id"], defaulted

    other = error_of(call(runner.client, "POST", executions_path("default"), _body(name, {"ok": False})), 409)
    assert other["code"] == "Conflict" and name in other["message"] and "choose another name" in other["message"]
    via_plan = _body(name, {"ok": True}, launch_plan={"name": "notified_on_failure", "version": VERSION})
    assert error_of(call(runner.client, "POST", executions_path("default"), via_plan), 409)["code"] == "Conflict"

    assert runner.wait(name)["outputs"] == {"o0": "fine"}
    assert len(_sfn_executions(sandbox, name)) == 1


def test_concurrent_creates_of_one_name_make_one_execution(runner, sandbox):
    """Four Lambda containers handling the same request at once (the sandbox's HTTP server takes one
    request at a time, so the service is called directly, from four threads)."""
    name = f"race-{uuid.uuid4().hex[:8]}"
    barrier = threading.Barrier(4)
    answers: list[tuple[dict[str, Any], bool]] = []

    def create() -> None:
        barrier.wait()
        answers.append(sandbox.services.executions.create(_body(name, {"ok": True})))

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(created for _, created in answers) == [False, False, False, True], answers
    assert {view["id"]["name"] for view, _ in answers} == {name}
    ended = runner.wait(name)
    assert ended["phase"] == "SUCCEEDED", ended.get("error")
    assert len(_sfn_executions(sandbox, name)) == 1
