"""The reconciler: fail the task tokens of pods that died without answering, and remove finished pods.

A pod answers its own task token (the entrypoint calls SendTaskSuccess / SendTaskFailure, and exits 0
after either). When it cannot — killed for memory, evicted, its image never pulled, stopped at its
`activeDeadlineSeconds`, crashed before it could report — Step Functions would wait until the task's
heartbeat timeout. The reconciler (a scheduled Lambda) fails those tokens at once, with error names the
state machine's `Retry` understands:

    slipstream.SystemError   OOMKilled, Evicted, image pull or container config errors, any other death
                             without an answer: retried up to the task's `retries`
    slipstream.Timeout       DeadlineExceeded: the task's own timeout
    slipstream.PendingTimeout  Pending for longer than `max_pending_seconds` (unschedulable, no capacity):
                             not retried — another attempt would wait for the same capacity

Clocks start when the work starts: while a pod is Pending (waiting for a node to scale up, an image, a
GPU) its task's own timeout has not begun, so the reconciler keeps the token alive with heartbeats and
fails it only after the maximum pending time, with Kubernetes' own reason. Running pods heartbeat
themselves. Finished pods (Succeeded, Failed, or diagnosed dead while Pending) are deleted once handled,
so a second run fails nothing again. Failing a token that was already answered is harmless: Step
Functions refuses it and `fail_token` ignores that refusal. A pod's token is in its own Secret (see
`chalicelib.dispatch.pods`), read only for the pods that need an answer, before the pod (and with it,
through its ownerReference, the Secret) is deleted.

What one pass asks of the API server, whatever the number of pods that ended since the last one:
- one paginated list (`limit`/`continue`, 500 a page) of this deployment's pods that have not succeeded:
  label selector `app.kubernetes.io/managed-by=slipstream,slipstream.dev/stack=<stack>` (two deployments
  on one cluster never touch each other's pods), field selector `status.phase!=Succeeded` (a succeeded pod
  answered its token itself: there is nothing to read in it);
- one list of slipstream's namespaces, then one deletecollection per namespace of this deployment's pods
  with `status.phase=Succeeded` (the API server deletes pods that have ended without a grace period);
- per pod that needs an answer (died, or Pending): its Secret read, and for the dead ones one delete.
  These are deleted one by one on purpose: a pod that died between the list and a collection delete by
  phase would lose its pod, its Secret and with them its token before it was failed.

Jobs with `ttlSecondsAfterFinished` were the other choice, not taken: the TTL controller deletes a failed
Job's pod (and with it the token's Secret) whether or not the token was failed, so a TTL shorter than the
reconcile period loses answers and a longer one only delays them; a Job adds an object and a controller
hop before every pod (more API writes per task node, seconds of latency at hundreds of nodes a second);
and the deterministic pod name that makes a redelivered dispatch message start no second pod would move
to the Job, the Secret's owner with it. A watch needs a process that lives longer than a Lambda.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import NamedTuple

from kubernetes import client as k8s

from chalicelib.dispatch.kube import PodLauncher
from chalicelib.dispatch.pods import (
    ATTEMPT_LABEL,
    DEFAULT_STACK,
    EXECUTION_ANNOTATION,
    NODE_ANNOTATION,
    TIMEOUT_ANNOTATION,
    stack_selector,
)

SYSTEM_ERROR = "slipstream.SystemError"
TIMEOUT_ERROR = "slipstream.Timeout"
PENDING_TIMEOUT_ERROR = "slipstream.PendingTimeout"
DEFAULT_MAX_PENDING_SECONDS = 1800
# A container waiting for one of these will never start by itself.
_HOPELESS_WAITS = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError"})
_FINISHED = ("Succeeded", "Failed")
PAGE_SIZE = 500

logger = logging.getLogger("slipstream.reconciler")


class Diagnosis(NamedTuple):
    error: str  # the Step Functions error name
    reason: str  # Kubernetes' reason: OOMKilled, Evicted, ImagePullBackOff, DeadlineExceeded, …
    detail: str  # Kubernetes' message, or the last lines a crashed container logged


def _container_diagnosis(status: k8s.V1PodStatus) -> Diagnosis | None:
    for container in status.container_statuses or []:
        state = container.state or k8s.V1ContainerState()
        if state.waiting and state.waiting.reason in _HOPELESS_WAITS:
            return Diagnosis(SYSTEM_ERROR, state.waiting.reason, state.waiting.message or "")
        ended = state.terminated
        if ended and (ended.reason == "OOMKilled" or ended.exit_code not in (0, None)):
            reason = ended.reason or "Error"
            detail = f"exit code {ended.exit_code}" + (f": {ended.message.strip()}" if ended.message else "")
            return Diagnosis(SYSTEM_ERROR, reason, detail)
    return None


def diagnose(pod: k8s.V1Pod) -> Diagnosis | None:
    """Why the pod cannot answer its token any more; None while it may still (or did: Succeeded)."""
    status = pod.status or k8s.V1PodStatus()
    if status.reason == "DeadlineExceeded":
        return Diagnosis(TIMEOUT_ERROR, "DeadlineExceeded", status.message or "")
    if status.reason == "Evicted":
        return Diagnosis(SYSTEM_ERROR, "Evicted", status.message or "")
    found = _container_diagnosis(status)
    if found is None and status.phase == "Failed":
        return Diagnosis(SYSTEM_ERROR, status.reason or "Failed", status.message or "")
    return found


def pending_reason(pod: k8s.V1Pod) -> tuple[str, str]:
    """(reason, message) of why a Pending pod has not started: the scheduler's condition, else the
    container's waiting reason (ContainerCreating, …), else plain Pending."""
    status = pod.status or k8s.V1PodStatus()
    for condition in status.conditions or []:
        if condition.type == "PodScheduled" and condition.status == "False":
            return condition.reason or "Unschedulable", condition.message or ""
    for container in status.container_statuses or []:
        waiting = container.state.waiting if container.state else None
        if waiting and waiting.reason:
            return waiting.reason, waiting.message or ""
    return "Pending", status.message or ""


def pending_cause(pod_ref: str, node: str, seconds: float, reason: str, detail: str) -> str:
    """The error a user sees when a pod never started; the sandbox's launcher says the same."""
    text = (f"pod [{pod_ref}] of node [{node}] stayed Pending for {seconds:.0f}s without starting [{reason}]"
            f"{': ' + detail[:2000] if detail else ''}; the task's timeout had not begun. Check the cluster's "
            "capacity for the task's requests (GPU, memory), or raise the stage's SLIPSTREAM_MAX_PENDING_SECONDS")
    return text


def _cause(pod: k8s.V1Pod, diagnosis: Diagnosis) -> str:
    meta = pod.metadata
    node = (meta.annotations or {}).get(NODE_ANNOTATION, "?")
    text = f"pod [{meta.namespace}/{meta.name}] of node [{node}] ended with [{diagnosis.reason}] before it reported"
    if diagnosis.error == PENDING_TIMEOUT_ERROR:
        return diagnosis.detail  # already the whole story: see `Reconciler._pending`
    if diagnosis.error == TIMEOUT_ERROR:
        timeout = (meta.annotations or {}).get(TIMEOUT_ANNOTATION, "?")
        text += f": it ran past the task's timeout of {timeout}s"
    elif diagnosis.reason == "OOMKilled":
        text += ": raise the task's memory limit (limits=Resources(mem=…))"
    return text + (f" ({diagnosis.detail[:2000]})" if diagnosis.detail else "")


class Reconciler:
    """One pass over one deployment's pods per `run_once`; safe to run concurrently and repeatedly."""

    def __init__(self, core_v1: k8s.CoreV1Api, fail_token: Callable[[str, str, str], None],
                 heartbeat_token: Callable[[str], None] | None = None,
                 save_error: Callable[[str, str, int, str, str], None] | None = None,
                 max_pending_seconds: int = DEFAULT_MAX_PENDING_SECONDS,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 stack: str = DEFAULT_STACK, page_size: int = PAGE_SIZE) -> None:
        self.pods = PodLauncher(core_v1)
        self.selector = stack_selector(stack)  # this deployment's pods only (PodConfig.stack)
        self.page_size = page_size
        self.fail_token = fail_token  # (token, error, cause), e.g. Dispatcher.fail_token
        self.heartbeat_token = heartbeat_token  # (token), e.g. Dispatcher.heartbeat_token
        self.save_error = save_error  # (execution, node, attempt, kind, message), e.g. Dispatcher.save_attempt_error
        self.max_pending_seconds = max_pending_seconds
        self.clock = clock

    def run_once(self, namespace: str | None = None) -> dict[str, int]:
        """Reconcile one namespace, or all of this deployment's; counts of pods seen (all but the succeeded
        ones), tokens failed, pods deleted (succeeded ones included), pods still active, and pods skipped
        because failing their token raised (they are tried again on the next run)."""
        counts = {"seen": 0, "failed": 0, "deleted": 0, "active": 0, "errors": 0}
        for page in self.pods.pages(self.selector, namespace, "status.phase!=Succeeded", self.page_size):
            for pod in page:
                self._reconcile(pod, counts)
        for name in [namespace] if namespace else self.pods.managed_namespaces():
            counts["deleted"] += self.pods.delete_collection(name, self.selector, "status.phase=Succeeded",
                                                             grace_period_seconds=0)
        return counts

    def _reconcile(self, pod: k8s.V1Pod, counts: dict[str, int]) -> None:
        counts["seen"] += 1
        diagnosis = diagnose(pod)
        phase = (pod.status.phase if pod.status else None) or "Pending"
        if diagnosis is None and phase == "Pending":
            diagnosis = self._pending(pod)
        if diagnosis is None and phase not in _FINISHED:
            counts["active"] += 1
            return
        outcome = "finished" if diagnosis is None else self._fail(pod, diagnosis)
        if outcome == "error":
            counts["errors"] += 1
            return
        counts["failed"] += outcome == "failed"
        # Forced: the containers have ended, or never started (a hopeless wait).
        counts["deleted"] += self.pods.delete(pod.metadata.namespace, pod.metadata.name, grace_period_seconds=0)

    def _pending(self, pod: k8s.V1Pod) -> Diagnosis | None:
        """Past the maximum pending time: a diagnosis; else keep the token alive while the pod waits."""
        created = pod.metadata.creation_timestamp
        waited = (self.clock() - created).total_seconds() if created else 0.0
        if waited > self.max_pending_seconds:
            reason, detail = pending_reason(pod)
            meta = pod.metadata
            node = (meta.annotations or {}).get(NODE_ANNOTATION, "?")
            return Diagnosis(PENDING_TIMEOUT_ERROR, reason,
                             pending_cause(f"{meta.namespace}/{meta.name}", node, waited, reason, detail))
        if self.heartbeat_token is None:
            return None
        try:
            token = self.pods.read_token(pod.metadata.namespace, pod.metadata.name)
            if token:
                self.heartbeat_token(token)
        except Exception:  # the next pass heartbeats again, well inside the heartbeat window
            logger.exception("could not heartbeat the token of pending pod [%s/%s]", pod.metadata.namespace,
                             pod.metadata.name)
        return None

    def _fail(self, pod: k8s.V1Pod, diagnosis: Diagnosis) -> str:
        """Fail the pod's token: "failed", "no token" (nothing to answer), or "error" if reading the token or
        `fail_token` raised."""
        try:
            token = self.pods.read_token(pod.metadata.namespace, pod.metadata.name)
        except Exception:  # ClusterError: the pod stays, so the next run retries
            logger.exception("could not read the task token of pod [%s/%s]", pod.metadata.namespace,
                             pod.metadata.name)
            return "error"
        if not token:
            logger.warning("pod [%s/%s] has no task token to fail", pod.metadata.namespace, pod.metadata.name)
            return "no token"
        annotations = pod.metadata.annotations or {}
        try:
            cause = _cause(pod, diagnosis)
            if self.save_error is not None and EXECUTION_ANNOTATION in annotations:
                attempt = int((pod.metadata.labels or {}).get(ATTEMPT_LABEL, "0"))
                kind = "timeout" if diagnosis.error == TIMEOUT_ERROR else "system"
                self.save_error(annotations[EXECUTION_ANNOTATION], annotations.get(NODE_ANNOTATION, "?"), attempt,
                                kind, cause)
            self.fail_token(token, diagnosis.error, cause)
        except Exception:  # one bad answer must not stop the pass; the pod stays, so the next run retries
            logger.exception("could not fail the task token of pod [%s/%s]", pod.metadata.namespace,
                             pod.metadata.name)
            return "error"
        return "failed"
