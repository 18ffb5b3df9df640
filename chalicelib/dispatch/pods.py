"""Pod specs for task attempts, built with the official client's models: a pure function, no I/O.

One task attempt is one pod:

    namespace        <project>-<domain>                  infra creates it with its RBAC and service accounts
    service account  slipstream-<domain>                 IRSA: the domain's IAM role reaches the data bucket
    name             pod_name(execution, node, attempt)  deterministic: a redelivered dispatch message gets
                                                         AlreadyExists instead of starting a second pod
    labels           managed-by, stack, execution, node, attempt, project, domain, task   sanitized, for selectors
    annotations      node id, execution key, task id                               verbatim, for the reconciler
    token            Secret `<pod>-token`, owned by the pod                        SLIPSTREAM_TASK_TOKEN

The container runs `python -m slipstream.entrypoint`, which reads the inputs from S3, runs the function,
writes the outputs and answers the Step Functions task token itself. Whoever holds a token can complete
(or fail) that node, so it reaches the pod only: not in argv (`ps` on the node, crash reports), not in an
annotation or a plain env value (anyone who may `get pods` reads those), but in a Secret of its own that
the container's env references (`secretKeyRef`). People and tools allowed to read pods are rarely allowed
to read secrets; the pods themselves get no Kubernetes API token at all. The Secret is owned by its pod
(ownerReferences), so the garbage collector removes it with the pod. The reconciler reads it back to fail
the token of a pod that died before it could answer (OOMKilled, evicted, image never pulled, past its
deadline). Putting the token in S3 under the attempt's prefix was the other choice; but every pod of the
project-domain can read those prefixes with its role, and so every other pod's token.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client as k8s

from chalicelib.dispatch.namespaces import LABEL_PREFIX, MANAGED_BY_LABEL, namespace_for, service_account_for

MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}=slipstream"
STACK_LABEL = f"{LABEL_PREFIX}/stack"  # the deployment whose reconciler owns the pod (Settings.name_prefix)
DEFAULT_STACK = "slipstream"
EXECUTION_LABEL = f"{LABEL_PREFIX}/execution"
TOKEN_ENV = "SLIPSTREAM_TASK_TOKEN"
TOKEN_KEY = "token"  # the key of the token in its Secret
NODE_ANNOTATION = f"{LABEL_PREFIX}/node-id"
EXECUTION_ANNOTATION = f"{LABEL_PREFIX}/execution"
TIMEOUT_ANNOTATION = f"{LABEL_PREFIX}/timeout-seconds"
ATTEMPT_LABEL = f"{LABEL_PREFIX}/attempt"
CONTAINER_NAME = "task"
GPU_RESOURCE = "nvidia.com/gpu"
CAPACITY_TYPE_LABEL = "eks.amazonaws.com/capacityType"  # set by EKS managed node groups: ON_DEMAND | SPOT

_RESOURCE_NAMES = {"cpu": "cpu", "mem": "memory", "gpu": GPU_RESOURCE, "ephemeral_storage": "ephemeral-storage"}
_MAX_LABEL = 63  # a DNS-1123 label and a label value are both at most 63 characters
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?)?")


@dataclass(frozen=True)
class PodRequest:
    """One attempt of one task node, as the dispatcher asks for it."""

    project: str
    domain: str
    execution: str  # the execution key: <project>/<domain>/<name>[/<dynamic node>…]
    node_id: str  # a node path: "n0", "n3-0", "n1/n0", "n2.17" (map item), "n2[17]"
    attempt: int  # 0 for the first try; Step Functions' Retry counts up
    task: dict[str, Any]  # the task spec (ir.schema.json#/$defs/task)
    inputs_uri: str  # s3://… JSON literal map
    outputs_prefix: str  # s3://…/ where the entrypoint writes outputs.json
    task_token: str


@dataclass(frozen=True)
class PodConfig:
    """What the stage decides for every pod, as opposed to what a task declares."""

    default_image: str  # for tasks that name no image
    region: str
    data_bucket: str
    extra_env: Mapping[str, str] = field(default_factory=dict)  # e.g. SLIPSTREAM_HEARTBEAT_SECONDS
    node_selector: Mapping[str, str] = field(default_factory=dict)
    priority_class_name: str | None = None
    image_pull_policy: str | None = None  # None: Kubernetes' default (Always for :latest, else IfNotPresent)
    # runAsNonRoot alone refuses images whose USER is root or a name (CreateContainerConfigError); a numeric
    # user makes the check pass for any image. None trusts the image's own numeric USER.
    run_as_user: int | None = 1000
    termination_grace_period_seconds: int = 15  # the entrypoint has nothing to flush once it has answered
    # activeDeadlineSeconds counts from the kubelet's acknowledgement, image pull included; the entrypoint
    # enforces the task's own timeout from the task's start, so the deadline is only a backstop.
    deadline_slack_seconds: int = 600
    # Flyte's rule: an interruptible task's last attempt runs on on-demand capacity, so spot reclaims
    # cannot exhaust its retries.
    last_attempt_on_demand: bool = True
    stack: str = DEFAULT_STACK  # the `slipstream.dev/stack` label: two deployments on one cluster keep apart


def _digest(*parts: str, length: int = 10) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:length]


def execution_name(execution: str) -> str:
    """The root execution's name in an execution key (`p/d/name/...` → `name`); a bare name is returned as is.

    Pods of dynamic children carry their root's name, so terminating an execution finds them too."""
    parts = execution.split("/")
    return parts[2] if len(parts) >= 3 else execution


def label_value(value: str) -> str:
    """A valid label value for `value`: itself when valid, else a sanitized prefix and a hash of the original,
    so two different values never share a label (`n1/n0` and `n1-n0` stay apart)."""
    if len(value) <= _MAX_LABEL and _LABEL_VALUE.fullmatch(value):
        return value
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", value).strip("-_.")
    head = cleaned[: _MAX_LABEL - 9].rstrip("-_.")
    return f"{head}-{_digest(value, length=8)}" if head else _digest(value, length=8)


def execution_label(execution: str) -> str:
    """The `slipstream.dev/execution` label of an execution key or name (the namespace holds project-domain)."""
    return label_value(execution_name(execution))


def pod_name(execution: str, node_id: str, attempt: int) -> str:
    """A DNS-1123 label, unique per (execution, node, attempt): a readable prefix (execution name, node,
    attempt) and a sha256 of the triple, so neither truncation nor sanitizing can make two names collide."""
    if attempt < 0:
        raise ValueError(f"attempt [{attempt}] must be 0 or more")
    suffix = f"-{attempt}-{_digest(execution, node_id, str(attempt))}"
    readable = re.sub(r"[^a-z0-9]+", "-", f"{execution_name(execution)}-{node_id}".lower()).strip("-")
    head = readable[: _MAX_LABEL - len(suffix)].rstrip("-") or "task"
    return head + suffix


def token_secret_name(pod: str) -> str:
    """The Secret holding the task token of the pod named `pod` (a DNS-1123 subdomain: a pod name + 6)."""
    return f"{pod}-token"


def secret_env_name(group: str, key: str | None = None) -> str:
    """The environment variable a secret reaches the task in: SLIPSTREAM_SECRET_<GROUP>_<KEY>."""
    return re.sub(r"[^A-Z0-9_]", "_", f"SLIPSTREAM_SECRET_{group}_{key or group}".upper())


def _present(value: Any) -> bool:
    return value not in (None, "")


def _resources(container: Mapping[str, Any]) -> tuple[k8s.V1ResourceRequirements, bool]:
    """(requirements, whether the pod wants a GPU). Kubernetes cannot overcommit extended resources: a GPU
    must be in limits and its request, if any, must equal the limit; the limit wins when both are given."""
    requests = {_RESOURCE_NAMES[k]: str(v) for k, v in (container.get("requests") or {}).items() if _present(v)}
    limits = {_RESOURCE_NAMES[k]: str(v) for k, v in (container.get("limits") or {}).items() if _present(v)}
    gpu = limits.get(GPU_RESOURCE) or requests.get(GPU_RESOURCE)
    if gpu is not None:
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = gpu
    wants_gpu = gpu is not None and gpu != "0"
    return k8s.V1ResourceRequirements(requests=requests or None, limits=limits or None), wants_gpu


def _command(request: PodRequest) -> list[str]:
    container, function = request.task["container"], request.task["function"]
    command = ["python", "-m", "slipstream.entrypoint", "--inputs", request.inputs_uri,
               "--outputs", request.outputs_prefix, "--task-module", function["module"],
               "--task-name", function["name"]]
    if container.get("bundle"):
        command += ["--bundle", container["bundle"]]
    return command


def _env(request: PodRequest, config: PodConfig) -> list[k8s.V1EnvVar]:
    """The task's own environment, then the stage's, then slipstream's (which always wins), then secrets."""
    container = request.task["container"]
    # optional: a Kubernetes Secret of the group's name, where the cluster has one; otherwise the entrypoint
    # fetches the secret from AWS Secrets Manager with the project-domain's role (slipstream.context)
    secrets = [k8s.V1EnvVar(name=secret_env_name(s["group"], s.get("key")), value_from=k8s.V1EnvVarSource(
        secret_key_ref=k8s.V1SecretKeySelector(name=s["group"], key=s.get("key") or s["group"], optional=True)))
        for s in container.get("secrets") or []]
    token = k8s.V1EnvVar(name=TOKEN_ENV, value_from=k8s.V1EnvVarSource(secret_key_ref=k8s.V1SecretKeySelector(
        name=token_secret_name(pod_name(request.execution, request.node_id, request.attempt)), key=TOKEN_KEY)))
    plain = {**(container.get("environment") or {}), **config.extra_env,
             "SLIPSTREAM_REGION": config.region,
             "SLIPSTREAM_DATA_BUCKET": config.data_bucket, "SLIPSTREAM_EXECUTION": request.execution,
             "SLIPSTREAM_NODE": request.node_id, "SLIPSTREAM_ATTEMPT": str(request.attempt)}
    timeout = request.task["metadata"].get("timeout_seconds")
    if timeout:
        plain["SLIPSTREAM_TASK_TIMEOUT_SECONDS"] = str(timeout)
    if container.get("image"):
        plain["SLIPSTREAM_TASK_IMAGE"] = container["image"]
    for secret in [token, *secrets]:
        plain.pop(secret.name, None)
    return [k8s.V1EnvVar(name=k, value=str(v)) for k, v in sorted(plain.items())] + [token] + secrets


def runs_on_spot(request: PodRequest, config: PodConfig) -> bool:
    """Interruptible tasks go to spot capacity, except the last of several attempts (see PodConfig)."""
    metadata = request.task["metadata"]
    if not metadata.get("interruptible"):
        return False
    retries = int(metadata.get("retries") or 0)
    return not (config.last_attempt_on_demand and retries > 0 and request.attempt >= retries)


def _scheduling(spot: bool, gpu: bool) -> tuple[list[k8s.V1Toleration] | None, k8s.V1Affinity | None]:
    """GPU nodes and spot nodes are tainted so that only pods that ask for them land there; spot is a
    preference, not a requirement, so a task still runs when no spot capacity is left."""
    tolerations = []
    if gpu:
        tolerations.append(k8s.V1Toleration(key=GPU_RESOURCE, operator="Exists", effect="NoSchedule"))
    if not spot:
        return tolerations or None, None
    tolerations.append(k8s.V1Toleration(key=CAPACITY_TYPE_LABEL, operator="Equal", value="SPOT", effect="NoSchedule"))
    prefer_spot = k8s.V1PreferredSchedulingTerm(weight=100, preference=k8s.V1NodeSelectorTerm(match_expressions=[
        k8s.V1NodeSelectorRequirement(key=CAPACITY_TYPE_LABEL, operator="In", values=["SPOT"])]))
    return tolerations, k8s.V1Affinity(node_affinity=k8s.V1NodeAffinity(
        preferred_during_scheduling_ignored_during_execution=[prefer_spot]))


def stack_selector(stack: str) -> str:
    """The label selector of one deployment's task pods."""
    return f"{MANAGED_SELECTOR},{STACK_LABEL}={label_value(stack)}"


def _labels(request: PodRequest, stack: str) -> dict[str, str]:
    return {
        MANAGED_BY_LABEL: "slipstream",
        STACK_LABEL: label_value(stack),
        EXECUTION_LABEL: execution_label(request.execution),
        f"{LABEL_PREFIX}/node": label_value(request.node_id),
        ATTEMPT_LABEL: str(request.attempt),
        f"{LABEL_PREFIX}/project": label_value(request.project),
        f"{LABEL_PREFIX}/domain": label_value(request.domain),
        f"{LABEL_PREFIX}/task": label_value(request.task["id"]["name"]),
    }


def _metadata(request: PodRequest, config: PodConfig) -> k8s.V1ObjectMeta:
    task_id = request.task["id"]
    annotations = {
        NODE_ANNOTATION: request.node_id,
        EXECUTION_ANNOTATION: request.execution,
        f"{LABEL_PREFIX}/task-id": f"{task_id['project']}/{task_id['domain']}/{task_id['name']}@{task_id['version']}",
    }
    if request.task["metadata"].get("timeout_seconds"):
        annotations[TIMEOUT_ANNOTATION] = str(request.task["metadata"]["timeout_seconds"])
    return k8s.V1ObjectMeta(name=pod_name(request.execution, request.node_id, request.attempt),
                            namespace=namespace_for(request.project, request.domain),
                            labels=_labels(request, config.stack), annotations=annotations)


def _deadline(request: PodRequest, config: PodConfig) -> int | None:
    timeout = request.task["metadata"].get("timeout_seconds")
    return timeout + config.deadline_slack_seconds if timeout else None


def build_pod(request: PodRequest, config: PodConfig) -> k8s.V1Pod:
    """The pod of one task attempt. It meets the `restricted` Pod Security Standard: non-root, no privilege
    escalation, no capabilities, the runtime's seccomp profile, no Kubernetes API token mounted (IRSA
    injects its own web-identity token)."""
    container_spec = request.task["container"]
    resources, gpu = _resources(container_spec)
    tolerations, affinity = _scheduling(runs_on_spot(request, config), gpu)
    container = k8s.V1Container(
        name=CONTAINER_NAME, image=container_spec.get("image") or config.default_image,
        image_pull_policy=config.image_pull_policy, command=_command(request), env=_env(request, config),
        resources=resources,
        termination_message_policy="FallbackToLogsOnError",  # a crash's last log lines reach the reconciler
        security_context=k8s.V1SecurityContext(
            run_as_non_root=True, run_as_user=config.run_as_user, allow_privilege_escalation=False,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault")),
    )
    return k8s.V1Pod(
        api_version="v1", kind="Pod", metadata=_metadata(request, config),
        spec=k8s.V1PodSpec(
            restart_policy="Never",  # retries are Step Functions' Retry: a new attempt is a new pod
            service_account_name=service_account_for(request.domain),
            automount_service_account_token=False, enable_service_links=False,
            active_deadline_seconds=_deadline(request, config),
            termination_grace_period_seconds=config.termination_grace_period_seconds,
            node_selector=dict(config.node_selector) or None, priority_class_name=config.priority_class_name,
            tolerations=tolerations, affinity=affinity, containers=[container],
        ),
    )


def build_token_secret(request: PodRequest, config: PodConfig | None = None) -> k8s.V1Secret:
    """The Secret that hands the attempt's task token to its pod, and only to it (see the module docstring).
    Immutable: nothing may swap the token once the pod may read it. The launcher makes it before the pod
    (a container whose secretKeyRef is missing cannot start), then makes the pod its owner."""
    pod = pod_name(request.execution, request.node_id, request.attempt)
    return k8s.V1Secret(
        api_version="v1", kind="Secret", type="Opaque", immutable=True,
        metadata=k8s.V1ObjectMeta(name=token_secret_name(pod), namespace=namespace_for(request.project, request.domain),
                                  labels=_labels(request, config.stack if config else DEFAULT_STACK)),
        string_data={TOKEN_KEY: request.task_token})
