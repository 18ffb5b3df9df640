"""Faults in the session's sandbox: a task process killed from outside (as a pod is OOMKilled, evicted or
lost with its node) fails or retries its node as soon as it dies, with an error that says so, rather than
at the heartbeat timeout; a pod Kubernetes refuses fails its node at once with Kubernetes' own message."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from chalicelib.dispatch import KubernetesLauncher, PodConfig
from chalicelib.dispatch.provisioner import NamespaceProvisioner
from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from slipstream.config import ClientConfig
from tests.e2e.conftest import Runner
from tests.support.kube_emulator import core_v1, start_emulator

pytestmark = pytest.mark.e2e
WORKFLOWS = Path(__file__).parent / "workflows"


@pytest.fixture(scope="module")
def faults(api_config) -> Runner:
    """The module's project with the fault workflows registered once: each test reads only the executions it
    starts, and registering per test cost a second each."""
    project = f"faults-{uuid.uuid4().hex[:8]}"
    ApiClient(api_config).create_project(project)
    project_api = ApiClient(ClientConfig(api_config.api_url, project, "development", "none"))
    files = [str(WORKFLOWS / "faults.py"), str(WORKFLOWS / "pending.py")]
    project_api.register(build_registration(project_api, files, project, "development", "v1")[0])
    return Runner(project_api, "v1", project=project)


@pytest.fixture(scope="module")
def killed(faults) -> dict[str, str]:
    """Both killed-task executions, started together: the one killed on every attempt waits out two Retry
    intervals (1 s, then 2 s), in which the other one runs."""
    return {workflow: faults.start(f"faults.{workflow}", {"x": 1})["id"]["name"]
            for workflow in ("dies", "retried_after_kill")}


def test_a_task_killed_on_every_attempt_fails_its_execution_saying_it_was_killed(faults, killed):
    execution = faults.wait(killed["dies"])
    assert execution["phase"] == "FAILED"
    message = execution["error"]["message"]
    assert "killed by SIGKILL before it reported" in message and "faults.killed" in message, message
    # killed is a system error: retried like a lost pod (2 system retries), then the node fails
    assert faults.nodes(execution["id"]["name"])["n0"]["attempts"] == 3


def test_a_killed_task_is_retried_and_the_retry_succeeds(faults, killed):
    name = killed["retried_after_kill"]
    execution = faults.wait(name)
    assert execution["phase"] == "SUCCEEDED", execution.get("error")
    assert execution["outputs"] == {"o0": 1}  # the second attempt's number
    assert faults.nodes(name)["n0"]["attempts"] == 2


def test_a_pod_kubernetes_refuses_fails_its_node_at_once_with_kubernetes_message(sandbox, faults):
    # GIVEN the dispatcher launching pods on a Kubernetes API server (the emulator, over HTTP)
    url, stop = start_emulator()
    core = core_v1(url)
    NamespaceProvisioner(core).provision(faults.project, ["development"])
    dispatcher = sandbox.services.dispatcher
    local = dispatcher.launcher
    dispatcher.launcher = KubernetesLauncher(core, PodConfig(default_image="registry.example/task:1",
                                                             region="us-east-1", data_bucket="data"))
    try:
        # WHEN a task's pod has an environment variable name Kubernetes refuses
        execution = faults.run("faults.refused_pod", {"x": 1})
    finally:
        dispatcher.launcher = local
        stop()
    # THEN the execution fails with the API server's message, naming the field, without retries
    assert execution["phase"] == "FAILED"
    message = execution["error"]["message"]
    assert "Kubernetes refused pod" in message and "1BAD" in message, message


def test_terminate_ends_every_node_and_its_pods(sandbox, faults):
    # GIVEN an execution whose only pod waits to be scheduled (for an hour)
    name = faults.start("pending.unschedulable", {"x": 1})["id"]["name"]
    faults.wait_node(name, "n0", "RUNNING")
    # WHEN it is terminated
    faults.client.terminate(faults.project, "development", name)
    execution = faults.wait(name)
    # THEN the execution and every node end ABORTED, and no pod of it is left
    assert execution["phase"] == "ABORTED"
    assert {n: v["phase"] for n, v in faults.nodes(name).items()} == {"n0": "ABORTED"}
    key = f"{faults.project}/development/{name}"
    assert sandbox.launcher.stop_execution(faults.project, "development", name) == 0, key


def test_a_failed_execution_stops_the_pods_of_its_other_branches(sandbox, faults):
    execution = faults.run("faults.one_fails_one_waits", {"x": 1})
    assert execution["phase"] == "FAILED"
    nodes = faults.nodes(execution["id"]["name"])
    assert nodes["n0"]["phase"] == "FAILED" and nodes["n1"]["phase"] in ("ABORTED", "TIMED_OUT"), nodes
    assert sandbox.launcher.stop_execution(faults.project, "development", execution["id"]["name"]) == 0


def test_a_release_whose_answer_fails_is_retried_and_the_execution_ends(sandbox, faults):
    """The dispatcher claims a node's wait token, then answers it; when Step Functions refuses the answer
    (throttled), the token goes back with the message, so the redelivery answers it."""
    from botocore.exceptions import ClientError

    events = sandbox.services.dispatcher.sfn.meta.events
    refused: list[str] = []

    def throttle_once(params: dict, **_: object) -> None:
        if not refused:
            refused.append(params["taskToken"])
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                              "SendTaskSuccess")

    events.register("before-parameter-build.sfn.SendTaskSuccess", throttle_once)
    try:
        execution = faults.run("faults.joined", {"x": 3})  # n2 joins n0 and n1: released by SendTaskSuccess
    finally:
        events.unregister("before-parameter-build.sfn.SendTaskSuccess", throttle_once)
    assert refused, "the release was never refused: the test did not exercise the fault"
    assert execution["phase"] == "SUCCEEDED" and execution["outputs"] == {"o0": 10}, execution.get("error")
