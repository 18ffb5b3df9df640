"""Status events that are not a root execution's: a Distributed Map runs each item as a child execution
(`<machine>/<map run>:<id>`) whose status events reach the same EventBridge rule, carrying the root's
execution key in their input. They must never move the root execution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.data import node_outputs
from chalicelib.status import is_map_run_child
from slipstream.cli.register import build_registration

pytestmark = pytest.mark.e2e
WORKFLOWS = Path(__file__).parent / "workflows" / "pending.py"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:slipstream_0123abcd"
ITEM_EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:slipstream_0123abcd/run-1:7b2f"


def test_map_run_children_are_told_apart_from_executions():
    assert is_map_run_child({"stateMachineArn": f"{MACHINE}/run-1", "executionArn": ITEM_EXECUTION})
    assert is_map_run_child({"stateMachineArn": MACHINE, "executionArn": ITEM_EXECUTION})
    assert not is_map_run_child({"stateMachineArn": MACHINE, "executionArn": MACHINE.replace(
        ":stateMachine:", ":execution:") + ":default-development-x-0123"})


def test_a_map_item_succeeding_does_not_end_its_running_root_execution(sandbox, api):
    # GIVEN a root execution that stays RUNNING (its only pod waits to be scheduled for an hour)
    api.register(build_registration(api, [str(WORKFLOWS)], "default", "development", "status-events")[0])
    execution = api.create_execution({"project": "default", "domain": "development", "inputs": {},
                                      "workflow": {"name": "pending.unschedulable", "version": "status-events"}})
    name = execution["id"]["name"]
    x = f"default/development/{name}"
    try:
        # WHEN a Distributed Map item child of it reports SUCCEEDED, with the root's key in its input
        for detail in ({"stateMachineArn": f"{MACHINE}/run-1", "executionArn": ITEM_EXECUTION},
                       {"stateMachineArn": MACHINE, "executionArn": MACHINE.replace(":stateMachine:", ":execution:")
                        + ":item"}):
            sandbox.services.status.handle({**detail, "status": "SUCCEEDED", "output": "{}",
                                            "input": json.dumps({"i": 0, "x": x, "q": "queue"})})
        # THEN the root execution is still running, with no outputs
        current = api.get_execution("default", "development", name)
        assert current["phase"] in ("QUEUED", "RUNNING") and not current.get("outputs")
    finally:
        api.terminate("default", "development", name)


def test_a_workflow_ending_in_a_conditional_has_its_outputs_before_the_conditionals_copy_lands(sandbox, runner):
    # GIVEN a run whose last node is a conditional
    execution = runner.run("conditionals.toss", {"seed": 4})
    assert execution["phase"] == "SUCCEEDED", execution.get("error")
    x = f"default/development/{execution['id']['name']}"
    services = sandbox.services
    [branch] = [n.id for n in services.dispatcher.plan(x).nodes.values() if n.kind == "branch"]
    # WHEN its end is handled before the dispatcher copied the case's outputs to the conditional's (the state
    # machine does not wait for that copy)
    services.blobs.s3.delete_object(Bucket=services.blobs.bucket, Key=node_outputs(x, branch))
    # THEN the outputs are read from the case that ran
    assert services.status.outputs_of(x) == execution["outputs"]
