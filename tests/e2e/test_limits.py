"""Past Step Functions' limits: large maps read their items from S3 (Distributed Map) and large workflows
split into child executions. A sandbox with low limits exercises both on small workflows."""

from __future__ import annotations

import json

import pytest

from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from slipstream.config import ClientConfig
from slipstream.sandbox.server import Sandbox
from tests.conftest import EXAMPLES
from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def small():
    sandbox = Sandbox(stack="small", distributed_map_threshold=2, max_nodes_per_machine=2).start()
    client = ApiClient(ClientConfig(sandbox.api_url, "default", "development", "none"))
    client.register(build_registration(client, [str(EXAMPLES)], "default", "development", "v1")[0])
    yield sandbox, Runner(client, "v1")
    sandbox.stop()


def _executions(sandbox) -> list[dict]:
    sfn = sandbox.client("stepfunctions")
    found = []
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            found.append({**execution, "input": json.loads(described.get("input") or "{}")})
    return found


def test_a_large_workflow_runs_as_child_executions_with_the_same_outputs(small):
    sandbox, runner = small
    execution = runner.run("subworkflows.outer", {"x": 3.0})
    assert execution["outputs"] == {"o0": 7.0, "o1": "HELLO FLYTE users"}
    x = f"default/development/{execution['id']['name']}"
    groups = [e for e in _executions(sandbox) if e["input"].get("x") == x and e["input"].get("kind") == "group"]
    assert len(groups) == 3 and {g["status"] for g in groups} == {"SUCCEEDED"}  # 6 nodes, 2 per machine


def test_a_large_map_reads_its_items_from_s3(small):
    sandbox, runner = small
    execution = runner.run("map_reduce.inverses", {"xs": [0, 1, 2, 4]})
    assert execution["outputs"] == {"o0": 3}
    arn = sandbox.services.executions.store.get("default", "development", execution["id"]["name"]).sfn_execution_arn
    events = sandbox.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    assert any(e["type"] == "MapRunStarted" for e in events)
