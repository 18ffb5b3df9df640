"""Pod specs for task nodes, built with the official client's models (no I/O).

One pod per (execution, node, attempt), named deterministically so that a redelivered dispatch message
finds the pod it already created (AlreadyExists) instead of starting a second one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client as k8s

_RESOURCE_NAMES = {"cpu": "cpu", "mem": "memory", "gpu": "nvidia.com/gpu", "ephemeral_storage": "ephemeral-storage"}
LABEL_PREFIX = "slipstream.dev"


@dataclass(frozen=True)
class PodRequest:
    project: str
    domain: str
    execution: str  # the execution key: <project>/<domain>/<name>[/<dynamic node>…]
    node_id: str
    attempt: int
    task: dict[str, Any]  # the task spec
    inputs_uri: str
    outputs_prefix: str
    task_token: str


@dataclass(frozen=True)
class PodConfig:
    default_image: str
    region: str
    data_bucket: str
    extra_env: dict[str, str] = field(default_factory=dict)


def namespace_for(project: str, domain: str) -> str:
    return f"{project}-{domain}"


def service_account_for(domain: str) -> str:
    return f"slipstream-{domain}"


def label_value(value: str) -> str:
    """A valid label value (≤ 63, alphanumerics and -_. inside)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", value)[:63].strip("-_.")
    return cleaned or "x"


def pod_name(execution: str, node_id: str, attempt: int) -> str:
    """A DNS-1123 label unique per (execution, node, attempt): a readable prefix and a hash suffix."""
    digest = hashlib.sha256(f"{execution}\0{node_id}\0{attempt}".encode()).hexdigest()[:10]
    readable = re.sub(r"[^a-z0-9-]+", "-", f"{execution.split('/')[2]}-{node_id}".lower()).strip("-")
    return f"{readable[:40].strip('-')}-{attempt}-{digest}"


def _resources(container: dict[str, Any]) -> k8s.V1ResourceRequirements:
    requests = {_RESOURCE_NAMES[k]: v for k, v in container["requests"].items()}
    limits = {_RESOURCE_NAMES[k]: v for k, v in container["limits"].items()}
    if "nvidia.com/gpu" in requests:  # Kubernetes needs extended resources in limits
        limits.setdefault("nvidia.com/gpu", requests["nvidia.com/gpu"])
    return k8s.V1ResourceRequirements(requests=requests or None, limits=limits or None)


def _secret_env(secrets: list[dict[str, Any]]) -> list[k8s.V1EnvVar]:
    env = []
    for secret in secrets:
        key = secret.get("key") or secret["group"]
        name = re.sub(r"[^A-Z0-9_]", "_", f"SLIPSTREAM_SECRET_{secret['group']}_{key}".upper())
        env.append(k8s.V1EnvVar(name=name, value_from=k8s.V1EnvVarSource(
            secret_key_ref=k8s.V1SecretKeySelector(name=secret["group"], key=key))))
    return env


def build_pod(request: PodRequest, config: PodConfig) -> k8s.V1Pod:
    task = request.task
    container_spec = task["container"]
    metadata = task["metadata"]
    command = ["python", "-m", "slipstream.entrypoint", "--inputs", request.inputs_uri,
               "--outputs", request.outputs_prefix, "--task-module", task["function"]["module"],
               "--task-name", task["function"]["name"]]
    if container_spec.get("bundle"):
        command += ["--bundle", container_spec["bundle"]]
    env = {**container_spec["environment"], **config.extra_env,
           "SLIPSTREAM_TASK_TOKEN": request.task_token, "SLIPSTREAM_REGION": config.region,
           "SLIPSTREAM_DATA_BUCKET": config.data_bucket, "SLIPSTREAM_EXECUTION": request.execution,
           "SLIPSTREAM_NODE": request.node_id, "SLIPSTREAM_ATTEMPT": str(request.attempt)}
    tolerations, affinity = [], None
    if "gpu" in container_spec["requests"] or "gpu" in container_spec["limits"]:
        tolerations.append(k8s.V1Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule"))
    if metadata["interruptible"]:
        tolerations.append(k8s.V1Toleration(key="eks.amazonaws.com/capacityType", operator="Equal", value="SPOT",
                                            effect="NoSchedule"))
        affinity = k8s.V1Affinity(node_affinity=k8s.V1NodeAffinity(
            preferred_during_scheduling_ignored_during_execution=[k8s.V1PreferredSchedulingTerm(
                weight=100, preference=k8s.V1NodeSelectorTerm(match_expressions=[k8s.V1NodeSelectorRequirement(
                    key="eks.amazonaws.com/capacityType", operator="In", values=["SPOT"])]))]))
    labels = {
        "app.kubernetes.io/managed-by": "slipstream",
        f"{LABEL_PREFIX}/execution": label_value(request.execution.replace("/", ".")),
        f"{LABEL_PREFIX}/node": label_value(request.node_id),
        f"{LABEL_PREFIX}/attempt": str(request.attempt),
        f"{LABEL_PREFIX}/project": label_value(request.project),
        f"{LABEL_PREFIX}/domain": label_value(request.domain),
        f"{LABEL_PREFIX}/task": label_value(task["id"]["name"]),
    }
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(
            name=pod_name(request.execution, request.node_id, request.attempt),
            namespace=namespace_for(request.project, request.domain), labels=labels,
            annotations={f"{LABEL_PREFIX}/node-id": request.node_id, f"{LABEL_PREFIX}/execution": request.execution,
                         f"{LABEL_PREFIX}/task-token": request.task_token}),
        spec=k8s.V1PodSpec(
            restart_policy="Never", service_account_name=service_account_for(request.domain),
            active_deadline_seconds=metadata["timeout_seconds"], termination_grace_period_seconds=10,
            tolerations=tolerations or None, affinity=affinity,
            containers=[k8s.V1Container(
                name="task", image=container_spec["image"] or config.default_image, command=command,
                env=[k8s.V1EnvVar(name=k, value=v) for k, v in sorted(env.items())]
                + _secret_env(container_spec["secrets"]),
                resources=_resources(container_spec),
                security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, run_as_non_root=True),
            )],
        ),
    )
