"""Past Step Functions' limits: large maps read their items from S3 (Distributed Map) and large workflows
split into child executions. A sandbox with low limits exercises both on small workflows; it runs in a
process of its own, as moto's interpreter finds its server through the process-wide MOTO_PORT."""

from __future__ import annotations

import json

import boto3
import pytest

from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from slipstream.config import ClientConfig
from tests.conftest import EXAMPLES
from tests.e2e.conftest import Runner
from tests.support.sandbox_process import sandbox_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    with sandbox_process(tmp_path_factory.mktemp("small-sandbox"), stack="small", distributed_map_threshold=2,
                         max_nodes_per_machine=2) as state:
        client = ApiClient(ClientConfig(state["api_url"], "default", "development", "none"))
        used = [str(EXAMPLES / "subworkflows.py"), str(EXAMPLES / "map_reduce.py")]  # all examples: +3.5 s
        client.register(build_registration(client, used, "default", "development", "v1")[0])
        sfn = boto3.session.Session("sandbox", "sandbox", region_name=state["region"]).client(
            "stepfunctions", endpoint_url=state["aws_endpoint_url"])
        yield sfn, Runner(client, "v1")


def _executions(sfn) -> list[dict]:
    found = []
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            found.append({**execution, "input": json.loads(described.get("input") or "{}")})
    return found


def test_a_large_workflow_runs_as_child_executions_with_the_same_outputs(small):
    sfn, runner = small
    execution = runner.run("subworkflows.outer", {"x": 3.0})
    assert execution["outputs"] == {"o0": 7.0, "o1": "HELLO FLYTE users"}
    x = f"default/development/{execution['id']['name']}"
    groups = [e for e in _executions(sfn) if e["input"].get("x") == x and e["input"].get("kind") == "group"]
    assert len(groups) == 3 and {g["status"] for g in groups} == {"SUCCEEDED"}  # 6 nodes, 2 per machine


def test_a_large_map_reads_its_items_from_s3(small):
    sfn, runner = small
    execution = runner.run("map_reduce.inverses", {"xs": [0, 1, 2, 4]})
    assert execution["outputs"] == {"o0": 3}
    x = f"default/development/{execution['id']['name']}"
    root = next(e for e in _executions(sfn) if e["input"].get("x") == x and "parent_token" not in e["input"])
    events = sfn.get_execution_history(executionArn=root["executionArn"], maxResults=1000)["events"]
    assert any(e["type"] == "MapRunStarted" for e in events)
