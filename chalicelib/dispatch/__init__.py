"""Task dispatch to Kubernetes: pod specs, the pod launcher, the reconciler."""

from chalicelib.dispatch.kube import KubernetesLauncher, PodLauncher, core_v1_for_cluster, eks_bearer_token
from chalicelib.dispatch.pods import PodConfig, PodRequest, build_pod, namespace_for, pod_name, service_account_for
from chalicelib.dispatch.reconciler import Reconciler, diagnose

__all__ = [
    "KubernetesLauncher",
    "PodConfig",
    "PodLauncher",
    "PodRequest",
    "Reconciler",
    "build_pod",
    "core_v1_for_cluster",
    "diagnose",
    "eks_bearer_token",
    "namespace_for",
    "pod_name",
    "service_account_for",
]
