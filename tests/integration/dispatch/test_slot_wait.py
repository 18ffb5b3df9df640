"""The dispatcher's wait for a task slot, end to end: the session's sandbox, its dispatcher launching pods on
the Kubernetes API emulator (over HTTP) into a namespace with one slot. No pod runs code here: the test
plays the kubelet (pod status) and the pod (its outputs in S3, its task token answered), so nothing races
a timeout."""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.data import node_outputs
from chalicelib.dispatch import KubernetesLauncher, PodConfig, PodLauncher, pod_name
from chalicelib.dispatch.errors import NoCapacity
from chalicelib.dispatch.provisioner import NamespaceProvisioner
from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from slipstream.config import ClientConfig
from tests.e2e.conftest import TERMINAL, Runner

pytestmark = pytest.mark.integration
WORKFLOW = Path(__file__).parent / "workflows" / "slots.py"
DEADLINE = 60.0  # stops a hung test only; the waits below end in a few seconds


class RecordingLauncher(KubernetesLauncher):
    """The real launcher, noting each attempt that found no free slot (each time its run message came)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.refused: list[str] = []

    def launch(self, request: Any) -> bool:
        try:
            return super().launch(request)
        except NoCapacity:
            self.refused.append(request.node_id)
            raise


def until(what: str, check: Callable[[], Any]) -> Any:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if found := check():
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen")


@pytest.fixture()
def one_slot(sandbox, api, kube) -> Iterator[tuple[Runner, RecordingLauncher]]:
    """A project whose development namespace has one task slot, the workflow registered, and the sandbox's
    dispatcher launching on the emulator for the test's duration."""
    project = f"slots-{uuid.uuid4().hex[:8]}"
    api.create_project(project)
    NamespaceProvisioner(kube, max_pods=1).provision(project, ["development"])
    client = ApiClient(ClientConfig(api.config.api_url, project, "development", "none"))
    client.register(build_registration(client, [str(WORKFLOW)], project, "development", "v1")[0])
    dispatcher = sandbox.services.dispatcher
    local = dispatcher.launcher
    launcher = RecordingLauncher(kube, PodConfig(default_image="registry.example/task:1", region="us-east-1",
                                                 data_bucket="data"))
    dispatcher.launcher = launcher
    try:
        yield Runner(client, "v1", project=project), launcher
    finally:
        dispatcher.launcher = local


def pods_of(kube, namespace: str) -> list[Any]:
    return kube.list_namespaced_pod(namespace).items


def complete(sandbox, kube, namespace: str, x: str, node: str, value: int) -> None:
    """What a pod and its kubelet do when the task ends: outputs to S3, the token answered, phase Succeeded."""
    pod = pod_name(x, node, 0)
    token = PodLauncher(kube).read_token(namespace, pod)
    assert token, f"pod [{pod}] has no token Secret"
    now = datetime.datetime.now(datetime.UTC).isoformat()
    key = sandbox.services.blobs.put_json(node_outputs(x, node), {"o0": value})
    kube.patch_namespaced_pod_status(pod, namespace, {"status": {"phase": "Succeeded"}})
    sandbox.services.dispatcher.succeed_token(token, {"outputs": key, "started": now, "ended": now})


def test_a_task_waits_queued_for_a_slot_and_starts_when_the_running_one_ends(sandbox, kube, one_slot):
    runner, launcher = one_slot
    namespace = f"{runner.project}-development"
    # GIVEN a workflow of two independent tasks, in a namespace with one task slot
    name = runner.start("slots.pair", {"x": 5})["id"]["name"]
    x = f"{runner.project}/development/{name}"
    # WHEN both are dispatched: one pod starts, the other's run message finds no slot, and comes back
    until("a run message coming back", lambda: len(launcher.refused) >= 2)
    (first,) = pods_of(kube, namespace)
    running = next(n for n in ("n0", "n1") if pod_name(x, n, 0) == first.metadata.name)
    waiting = "n1" if running == "n0" else "n0"
    # THEN the waiting task is neither failed nor running (a root node has no record before it runs; one
    # released by its dependencies would say QUEUED); only its attempt was refused, and nothing else ran
    runner.wait_node(name, running, "RUNNING")
    nodes = runner.nodes(name)
    assert nodes.get(waiting, {"phase": "QUEUED"})["phase"] == "QUEUED", nodes
    assert set(launcher.refused) == {waiting}
    assert len(pods_of(kube, namespace)) == 1
    assert runner.client.get_execution(runner.project, "development", name)["phase"] not in TERMINAL
    # WHEN the running task ends (its pod Succeeded, its token answered)
    values = {"n0": 10, "n1": 15}
    complete(sandbox, kube, namespace, x, running, values[running])
    # THEN the waiting task's pod is made on its next try, under its own attempt's name
    second = until("the second pod", lambda: [p for p in pods_of(kube, namespace)
                                              if p.metadata.name == pod_name(x, waiting, 0)])
    assert second[0].status.phase == "Pending"
    runner.wait_node(name, waiting, "RUNNING")
    complete(sandbox, kube, namespace, x, waiting, values[waiting])
    execution = runner.wait(name)
    assert execution["phase"] == "SUCCEEDED", execution.get("error")
    assert execution["outputs"] == {"o0": [10, 15]}
    nodes = runner.nodes(name)
    assert {n: nodes[n]["attempts"] for n in ("n0", "n1")} == {"n0": 1, "n1": 1}
