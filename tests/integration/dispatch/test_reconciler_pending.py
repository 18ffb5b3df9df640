"""Pending pods over HTTP against the Kubernetes API emulator: the reconciler keeps their tokens alive while
they wait to be scheduled (their task's clock has not started), and fails them with the scheduler's own
reason once they have waited longer than the maximum pending time. The clock is passed in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from chalicelib.dispatch import KubernetesLauncher, Reconciler, build_pod
from tests.integration.dispatch.conftest import CONFIG

pytestmark = pytest.mark.integration

UNSCHEDULABLE = {"phase": "Pending", "conditions": [{
    "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
    "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}]}


class Calls:
    def __init__(self) -> None:
        self.heartbeats: list[str] = []
        self.failures: list[tuple[str, str, str]] = []
        self.errors: list[tuple[str, str, int, str, str]] = []

    def heartbeat(self, token: str) -> None:
        self.heartbeats.append(token)

    def fail(self, token: str, error: str, cause: str) -> None:
        self.failures.append((token, error, cause))

    def save(self, execution: str, node: str, attempt: int, kind: str, message: str) -> None:
        self.errors.append((execution, node, attempt, kind, message))


@pytest.fixture()
def launched(kube, pod_request) -> tuple[Any, str]:
    """(a pod Pending as unschedulable, its task token)."""
    request = pod_request(node="train", attempt=1)
    pod = build_pod(request, CONFIG)
    assert KubernetesLauncher(kube, CONFIG).launch(request) is True
    kube.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, {"status": UNSCHEDULABLE})
    return kube.read_namespaced_pod(pod.metadata.name, pod.metadata.namespace), request.task_token


@pytest.fixture()
def pending_pod(launched) -> Any:
    return launched[0]


def _reconciler(kube, calls: Calls, minutes_later: float) -> Reconciler:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes_later)
    return Reconciler(kube, calls.fail, calls.heartbeat, calls.save, max_pending_seconds=1800, clock=lambda: later)


def test_a_pending_pod_within_the_limit_gets_heartbeats_and_stays(kube, pending_pod, launched):
    calls = Calls()
    counts = _reconciler(kube, calls, minutes_later=10).run_once(pending_pod.metadata.namespace)
    assert calls.heartbeats == [launched[1]] and calls.failures == []  # the token, read from the pod's Secret
    assert counts["active"] == 1 and counts["deleted"] == 0
    assert kube.read_namespaced_pod(pending_pod.metadata.name, pending_pod.metadata.namespace)


def test_a_pod_pending_past_the_limit_fails_with_the_schedulers_reason_and_goes(kube, pending_pod, launched):
    calls = Calls()
    namespace = pending_pod.metadata.namespace
    counts = _reconciler(kube, calls, minutes_later=31).run_once(namespace)
    assert calls.heartbeats == []
    [(token, error, cause)] = calls.failures
    assert token == launched[1]
    assert error == "slipstream.PendingTimeout"  # not retried: another attempt would wait for the same capacity
    assert "[Unschedulable]" in cause and "Insufficient nvidia.com/gpu" in cause and "stayed Pending for 18" in cause
    # the error is kept where the pod would have put its own, for the node and the execution to show
    [(execution, node, attempt, kind, message)] = calls.errors
    assert (node, attempt, kind, message) == ("train", 1, "system", cause)
    assert execution == pending_pod.metadata.annotations["slipstream.dev/execution"]
    assert counts["failed"] == 1 and counts["deleted"] == 1
    assert pending_pod.metadata.name not in {p.metadata.name for p in kube.list_namespaced_pod(namespace).items}
