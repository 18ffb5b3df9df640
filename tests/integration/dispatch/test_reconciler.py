"""The reconciler over HTTP against a Kubernetes API emulator: pods are created by the launcher, then moved
to the states kubelet would report through the status subresource, then reconciled. `fail_token` is a
plain function that records its calls (the dispatcher's in production). Each pod's token is in its own
Secret, which the reconciler reads back and which goes with the pod."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.dispatch import KubernetesLauncher, PodLauncher, Reconciler, build_pod, token_secret_name
from tests.integration.dispatch.conftest import CONFIG

pytestmark = pytest.mark.integration


def container(**state: Any) -> dict[str, Any]:
    """A containerStatuses entry of the task container in the given state."""
    return {"name": "task", "image": "registry.example/train:3", "imageID": "", "ready": False, "restartCount": 0,
            "state": state}


STATES: dict[str, dict[str, Any]] = {
    "oom": {"phase": "Failed", "containerStatuses": [container(terminated={"exitCode": 137, "reason": "OOMKilled"})]},
    "pull": {"phase": "Pending", "containerStatuses": [container(waiting={
        "reason": "ImagePullBackOff", "message": 'Back-off pulling image "registry.example/train:3"'})]},
    "evicted": {"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."},
    "deadline": {"phase": "Failed", "reason": "DeadlineExceeded",
                 "message": "Pod was active on the node longer than the specified deadline"},
    "crashed": {"phase": "Failed", "containerStatuses": [container(terminated={
        "exitCode": 1, "reason": "Error", "message": "ModuleNotFoundError: No module named 'pipelines'"})]},
    "done": {"phase": "Succeeded", "containerStatuses": [container(terminated={"exitCode": 0, "reason": "Completed"})]},
    "running": {"phase": "Running", "containerStatuses": [container(running={"startedAt": "2026-01-01T00:00:00Z"})]},
    "pending": None,  # just created: the emulator says Pending, as the API server does
}


class Recorder:
    """fail_token by dependency injection: records (token, error, cause)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, token: str, error: str, cause: str) -> None:
        self.calls.append((token, error, cause))


TOKENS: dict[str, str] = {}  # pod name → the task token it was launched with


@pytest.fixture()
def pods(kube, project, pod_request) -> dict[str, Any]:
    """One launched pod per entry of STATES (node id = the entry's name), its status set as kubelet would."""
    launched = {}
    execution = pod_request().execution
    for node, status in STATES.items():
        request = pod_request(execution, node=node)
        assert KubernetesLauncher(kube, CONFIG).launch(request) is True
        pod = build_pod(request, CONFIG)
        TOKENS[pod.metadata.name] = request.task_token
        if status is not None:
            kube.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, {"status": status})
        launched[node] = pod
    return launched


def token_of(pod: Any) -> str:
    return TOKENS[pod.metadata.name]


def secrets_in(kube, namespace: str) -> set[str]:
    return {s.metadata.name for s in kube.list_namespaced_secret(namespace).items}


def names_in(kube, namespace: str) -> set[str]:
    return {p.metadata.name for p in kube.list_namespaced_pod(namespace).items}


def test_pods_that_died_without_reporting_get_their_tokens_failed_and_finished_pods_go(kube, project, pods):
    # GIVEN pods that were OOMKilled, never pulled their image, were evicted, ran past their deadline,
    # crashed, succeeded, are running, are pending
    namespace = f"{project}-production"
    failed = Recorder()
    # WHEN the reconciler passes over the namespace
    counts = Reconciler(kube, failed).run_once(namespace)
    # THEN each dead pod's token is failed once, with the error the state machine's Retry expects
    node_of = {token_of(pod): node for node, pod in pods.items()}
    assert sorted((node_of[token], error) for token, error, _ in failed.calls) == [
        ("crashed", "slipstream.SystemError"), ("deadline", "slipstream.Timeout"),
        ("evicted", "slipstream.SystemError"), ("oom", "slipstream.SystemError"), ("pull", "slipstream.SystemError")]
    # AND the finished pods are gone, the live ones untouched, and the tokens' Secrets went with their pods
    assert names_in(kube, namespace) == {pods["running"].metadata.name, pods["pending"].metadata.name}
    assert secrets_in(kube, namespace) == {token_secret_name(pods[n].metadata.name) for n in ("running", "pending")}
    assert counts == {"seen": 7, "failed": 5, "deleted": 6, "active": 2, "errors": 0}  # "done" is never read
    # AND a second pass fails nothing more
    assert Reconciler(kube, failed).run_once(namespace) == {"seen": 2, "failed": 0, "deleted": 0, "active": 2,
                                                             "errors": 0}
    assert len(failed.calls) == 5


def test_causes_name_the_pod_and_the_reason(kube, project, pods):
    failed = Recorder()
    Reconciler(kube, failed).run_once(f"{project}-production")
    cause = {token: cause for token, _, cause in failed.calls}
    oom, deadline = cause[token_of(pods["oom"])], cause[token_of(pods["deadline"])]
    assert pods["oom"].metadata.name in oom and "[OOMKilled]" in oom and "memory limit" in oom
    assert "[DeadlineExceeded]" in deadline and "timeout of 600s" in deadline
    assert "[ImagePullBackOff]" in cause[token_of(pods["pull"])]
    assert "[Evicted]" in cause[token_of(pods["evicted"])] and "low on resource" in cause[token_of(pods["evicted"])]
    assert "No module named 'pipelines'" in cause[token_of(pods["crashed"])]  # the crash's last log line


def test_a_token_that_cannot_be_failed_keeps_its_pod_for_the_next_pass(kube, project, pods):
    namespace = f"{project}-production"

    def broken(token: str, error: str, cause: str) -> None:
        raise ConnectionError("Step Functions is unreachable")

    counts = Reconciler(kube, broken).run_once(namespace)
    assert counts["errors"] == 5 and counts["failed"] == 0 and counts["deleted"] == 1  # only "done" went
    failed = Recorder()
    assert Reconciler(kube, failed).run_once(namespace)["failed"] == 5
    assert names_in(kube, namespace) == {pods["running"].metadata.name, pods["pending"].metadata.name}


def test_one_pass_covers_every_namespace(kube, project, pod_request, pods):
    failed = Recorder()
    Reconciler(kube, failed).run_once()  # other tests' pods are alive or gone: only this test's die here
    assert {token_of(pods[node]) for node in ("oom", "pull", "evicted", "deadline", "crashed")} <= {
        token for token, _, _ in failed.calls}
    assert names_in(kube, f"{project}-production") == {pods["running"].metadata.name, pods["pending"].metadata.name}


def test_pods_not_managed_by_slipstream_are_left_alone(kube, project, pod_request):
    pod = build_pod(pod_request(), CONFIG)
    pod.metadata.labels["app.kubernetes.io/managed-by"] = "someone-else"
    PodLauncher(kube).launch(pod)
    kube.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, {"status": STATES["oom"]})
    failed = Recorder()
    assert Reconciler(kube, failed).run_once(pod.metadata.namespace)["seen"] == 0
    assert failed.calls == [] and pod.metadata.name in names_in(kube, pod.metadata.namespace)


def test_the_token_comes_from_the_pods_secret_and_nowhere_in_the_pod(kube, project, pods):
    # GIVEN launched pods: no token in their annotations or in a plain env value
    for pod in pods.values():
        stored = kube.read_namespaced_pod(pod.metadata.name, pod.metadata.namespace)
        assert token_of(pod) not in str(stored.metadata.annotations) + str(stored.metadata.labels)
        assert all(e.value != token_of(pod) for e in stored.spec.containers[0].env)
    # WHEN the Secret of the OOMKilled pod holds another token (it is the one source) and the pass runs
    oom = pods["oom"]
    secret = token_secret_name(oom.metadata.name)
    kube.delete_namespaced_secret(secret, oom.metadata.namespace)
    kube.create_namespaced_secret(oom.metadata.namespace, {"metadata": {"name": secret},
                                                          "stringData": {"token": "from-the-secret"}})
    failed = Recorder()
    Reconciler(kube, failed).run_once(oom.metadata.namespace)
    # THEN that token is the one failed
    assert ("from-the-secret", "slipstream.SystemError") in {(token, error) for token, error, _ in failed.calls}


def test_a_dead_pod_whose_secret_is_gone_has_nothing_to_fail_and_goes(kube, project, pods):
    crashed = pods["crashed"]
    kube.delete_namespaced_secret(token_secret_name(crashed.metadata.name), crashed.metadata.namespace)
    failed = Recorder()
    counts = Reconciler(kube, failed).run_once(crashed.metadata.namespace)
    assert token_of(crashed) not in {token for token, _, _ in failed.calls}
    assert counts["failed"] == 4 and crashed.metadata.name not in names_in(kube, crashed.metadata.namespace)


def test_a_pod_launched_without_a_token_secret_is_reconciled_too(kube, project, pod_request):
    """A pod made by other means (a test, an old control plane) has no Secret: warned about, then removed."""
    pod = build_pod(pod_request(), CONFIG)
    PodLauncher(kube).launch(pod)
    kube.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, {"status": STATES["evicted"]})
    failed = Recorder()
    assert Reconciler(kube, failed).run_once(pod.metadata.namespace)["deleted"] == 1 and failed.calls == []
