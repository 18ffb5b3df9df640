"""Task dispatch to Kubernetes: one pod per task attempt on EKS.

    pods.py        PodRequest + PodConfig → V1Pod, a pure function (names, labels, resources, scheduling)
    kube.py        the adapter: PodLauncher / KubernetesLauncher around a CoreV1Api passed in; EKS tokens
    reconciler.py  fails the task tokens of pods that died without answering, removes finished pods
    deferred.py    DeferredLauncher: builds the Kubernetes launcher on its first use
    namespaces.py  manifests of a project-domain (namespace, service account) and of the control plane's RBAC:
                   pure functions of plain dicts, no client (the deploy command writes them out)
    provisioner.py NamespaceProvisioner: applies a project's namespace manifests, idempotently
    task_roles.py  TaskRoles: each project-domain's task IAM role (IRSA), made at project creation (boto3 IAM)
    errors.py      ClusterError, ClusterUnreachable, PodRejected: what the API server answered, as 5xx

The sandbox runs the same `build_pod` output as a local process (`slipstream.sandbox.launcher`); the tests
run these modules over HTTP against a Kubernetes API emulator (`tests.support.kube_emulator`).

Every Lambda function of the app imports the same app.py, but only the dispatcher launches pods and only
the reconciler lists them. The `kubernetes` client costs ≈0.2 s to import, so this package loads its
modules on first attribute access (PEP 562): `from chalicelib.dispatch import DeferredLauncher` stays
cheap, `from chalicelib.dispatch import build_pod` imports the client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.dispatch.deferred import DeferredLauncher
    from chalicelib.dispatch.errors import ClusterError, ClusterUnreachable, PodRejected
    from chalicelib.dispatch.kube import (
        KubernetesLauncher,
        PodLauncher,
        core_v1_for_cluster,
        core_v1_for_eks,
        eks_bearer_token,
    )
    from chalicelib.dispatch.namespaces import (
        cluster_manifests,
        namespace_for,
        namespace_manifests,
        rbac_yaml,
        service_account_for,
        task_role_arn,
    )
    from chalicelib.dispatch.pods import (
        PodConfig,
        PodRequest,
        build_pod,
        build_token_secret,
        execution_label,
        label_value,
        pod_name,
        runs_on_spot,
        secret_env_name,
        token_secret_name,
    )
    from chalicelib.dispatch.provisioner import NamespaceProvisioner
    from chalicelib.dispatch.reconciler import SYSTEM_ERROR, TIMEOUT_ERROR, Diagnosis, Reconciler, diagnose
    from chalicelib.dispatch.task_roles import TaskRoleError, TaskRoles, task_policy, task_role_name, trust_policy

_MODULES = {
    "deferred": ("DeferredLauncher",),
    "kube": ("KubernetesLauncher", "PodLauncher", "core_v1_for_cluster", "core_v1_for_eks", "eks_bearer_token"),
    "errors": ("ClusterError", "ClusterUnreachable", "PodRejected"),
    "namespaces": ("cluster_manifests", "namespace_for", "namespace_manifests", "rbac_yaml", "service_account_for",
                   "task_role_arn"),
    "pods": ("PodConfig", "PodRequest", "build_pod", "build_token_secret", "execution_label", "label_value",
             "pod_name", "runs_on_spot", "secret_env_name", "token_secret_name"),
    "provisioner": ("NamespaceProvisioner",),
    "task_roles": ("TaskRoleError", "TaskRoles", "task_policy", "task_role_name", "trust_policy"),
    "reconciler": ("SYSTEM_ERROR", "TIMEOUT_ERROR", "Diagnosis", "Reconciler", "diagnose"),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "SYSTEM_ERROR",
    "TIMEOUT_ERROR",
    "ClusterError",
    "ClusterUnreachable",
    "DeferredLauncher",
    "Diagnosis",
    "KubernetesLauncher",
    "NamespaceProvisioner",
    "PodConfig",
    "PodLauncher",
    "PodRejected",
    "PodRequest",
    "Reconciler",
    "TaskRoleError",
    "TaskRoles",
    "build_pod",
    "build_token_secret",
    "cluster_manifests",
    "core_v1_for_cluster",
    "core_v1_for_eks",
    "diagnose",
    "eks_bearer_token",
    "execution_label",
    "label_value",
    "namespace_for",
    "namespace_manifests",
    "pod_name",
    "rbac_yaml",
    "runs_on_spot",
    "secret_env_name",
    "service_account_for",
    "task_policy",
    "task_role_arn",
    "task_role_name",
    "token_secret_name",
    "trust_policy",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
