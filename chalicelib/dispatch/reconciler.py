"""The reconciler: pods that died without reporting get their task token failed, finished pods go.

A pod answers its own token; when it cannot (OOMKilled, image never pulled, evicted, past its deadline),
Step Functions would wait for the heartbeat timeout. The reconciler (a scheduled Lambda; a thread in
the sandbox) fails those tokens at once, with an error the state machine's Retry understands.
"""

from __future__ import annotations

from collections.abc import Callable

from kubernetes import client as k8s

from chalicelib.dispatch.kube import MANAGED, PodLauncher
from chalicelib.dispatch.pods import LABEL_PREFIX

SYSTEM_ERROR = "slipstream.SystemError"
TIMEOUT_ERROR = "slipstream.Timeout"
_WAITING_FAILURES = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError"}


def diagnose(pod: k8s.V1Pod) -> tuple[str, str] | None:
    """(error, reason) if the pod died or can never start; None while it is fine or succeeded."""
    status = pod.status or k8s.V1PodStatus()
    if status.reason == "DeadlineExceeded":
        return TIMEOUT_ERROR, "DeadlineExceeded"
    if status.reason == "Evicted":
        return SYSTEM_ERROR, "Evicted"
    for container in status.container_statuses or []:
        state = container.state or k8s.V1ContainerState()
        if state.waiting and state.waiting.reason in _WAITING_FAILURES:
            return SYSTEM_ERROR, state.waiting.reason
        if state.terminated and state.terminated.reason == "OOMKilled":
            return SYSTEM_ERROR, "OOMKilled"
    if status.phase == "Failed":
        return SYSTEM_ERROR, status.reason or "Failed"
    return None


class Reconciler:
    def __init__(self, core_v1: k8s.CoreV1Api, fail_token: Callable[[str, str, str], None]) -> None:
        self.core = core_v1
        self.pods = PodLauncher(core_v1)
        self.fail_token = fail_token

    def run_once(self, namespace: str | None = None) -> dict[str, int]:
        if namespace:
            pods = self.core.list_namespaced_pod(namespace, label_selector=MANAGED).items
        else:
            pods = self.core.list_pod_for_all_namespaces(label_selector=MANAGED).items
        counts = {"failed": 0, "deleted": 0, "running": 0}
        for pod in pods:
            diagnosis = diagnose(pod)
            phase = (pod.status.phase if pod.status else None) or "Pending"
            if diagnosis is not None:
                error, reason = diagnosis
                token = (pod.metadata.annotations or {}).get(f"{LABEL_PREFIX}/task-token")
                if token:
                    self.fail_token(token, error, f"pod [{pod.metadata.name}] {reason} without reporting")
                    counts["failed"] += 1
            elif phase not in ("Succeeded", "Failed"):
                counts["running"] += 1
                continue
            counts["deleted"] += self.pods.delete(pod.metadata.namespace, pod.metadata.name)
        return counts
