"""Task dispatch to Kubernetes: one pod per task attempt on EKS.

    pods.py        PodRequest + PodConfig → V1Pod, a pure function (names, labels, resources, scheduling)
    kube.py        the adapter: PodLauncher / KubernetesLauncher around a CoreV1Api passed in; EKS tokens
    reconciler.py  fails the task tokens of pods that died without answering, removes finished pods

The sandbox runs the same `build_pod` output as a local process (`slipstream.sandbox.launcher`); the tests
run these modules over HTTP against a Kubernetes API emulator (`tests.support.kube_emulator`).
"""

from chalicelib.dispatch.kube import (
    KubernetesLauncher,
    PodLauncher,
    core_v1_for_cluster,
    core_v1_for_eks,
    eks_bearer_token,
)
from chalicelib.dispatch.pods import (
    PodConfig,
    PodRequest,
    build_pod,
    execution_label,
    label_value,
    namespace_for,
    pod_name,
    runs_on_spot,
    secret_env_name,
    service_account_for,
)
from chalicelib.dispatch.reconciler import SYSTEM_ERROR, TIMEOUT_ERROR, Diagnosis, Reconciler, diagnose

__all__ = [
    "SYSTEM_ERROR",
    "TIMEOUT_ERROR",
    "Diagnosis",
    "KubernetesLauncher",
    "PodConfig",
    "PodLauncher",
    "PodRequest",
    "Reconciler",
    "build_pod",
    "core_v1_for_cluster",
    "core_v1_for_eks",
    "diagnose",
    "eks_bearer_token",
    "execution_label",
    "label_value",
    "namespace_for",
    "pod_name",
    "runs_on_spot",
    "secret_env_name",
    "service_account_for",
]
