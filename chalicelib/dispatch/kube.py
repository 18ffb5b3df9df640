"""Thin Kubernetes adapter: the CoreV1Api is passed in. On AWS it talks to EKS with a bearer token
made from a presigned STS GetCallerIdentity call, as `aws eks get-token` does."""

from __future__ import annotations

import base64
import tempfile
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from chalicelib.dispatch.pods import LABEL_PREFIX, PodConfig, PodRequest, build_pod, label_value, namespace_for
from chalicelib.errors import SlipstreamError

MANAGED = "app.kubernetes.io/managed-by=slipstream"


class PodLauncher:
    """Creates and deletes pods; AlreadyExists and NotFound are answers, not errors."""

    def __init__(self, core_v1: k8s.CoreV1Api) -> None:
        self.core = core_v1

    def launch(self, pod: k8s.V1Pod) -> bool:
        """True if created; False if a pod of that name exists (a redelivered message)."""
        try:
            self.core.create_namespaced_pod(pod.metadata.namespace, pod)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise SlipstreamError(f"cannot create pod [{pod.metadata.namespace}/{pod.metadata.name}]: "
                                  f"{exc.status} {exc.reason}") from exc
        return True

    def delete(self, namespace: str, name: str) -> bool:
        try:
            self.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise SlipstreamError(f"cannot delete pod [{namespace}/{name}]: {exc.status} {exc.reason}") from exc
        return True

    def delete_matching(self, namespace: str, selector: str) -> int:
        pods = self.core.list_namespaced_pod(namespace, label_selector=selector).items
        return sum(self.delete(namespace, pod.metadata.name) for pod in pods)


class KubernetesLauncher:
    """The dispatcher's launcher on AWS: one pod per task attempt on EKS."""

    def __init__(self, core_v1: k8s.CoreV1Api, config: PodConfig) -> None:
        self.pods = PodLauncher(core_v1)
        self.config = config

    def launch(self, request: PodRequest) -> bool:
        return self.pods.launch(build_pod(request, self.config))

    def stop_execution(self, project: str, domain: str, execution: str) -> int:
        key = label_value(f"{project}/{domain}/{execution}".replace("/", "."))
        return self.pods.delete_matching(namespace_for(project, domain), f"{MANAGED},{LABEL_PREFIX}/execution={key}")


def eks_bearer_token(sts_client: Any, cluster_name: str) -> str:
    """A short-lived EKS token: `k8s-aws-v1.` + base64url of a presigned GetCallerIdentity URL that names
    the cluster in the signed `x-k8s-aws-id` header."""
    events = sts_client.meta.events

    def add_cluster_header(request: Any, **_: Any) -> None:
        request.headers["x-k8s-aws-id"] = cluster_name

    events.register_first("before-sign.sts.GetCallerIdentity", add_cluster_header)
    try:
        url = sts_client.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    finally:
        events.unregister("before-sign.sts.GetCallerIdentity", add_cluster_header)
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def core_v1_for_cluster(endpoint: str, ca_data_base64: str, token: str) -> k8s.CoreV1Api:
    configuration = k8s.Configuration(host=endpoint)
    with tempfile.NamedTemporaryFile("wb", suffix=".crt", delete=False) as ca:
        ca.write(base64.b64decode(ca_data_base64))
    configuration.ssl_ca_cert = ca.name
    configuration.api_key = {"authorization": f"Bearer {token}"}
    return k8s.CoreV1Api(k8s.ApiClient(configuration))


def core_v1_for_eks(sts_client: Any, cluster_name: str, endpoint: str, ca_data_base64: str) -> k8s.CoreV1Api:
    """A client for an EKS cluster whose token is renewed before it expires (tokens last 15 minutes; a
    Lambda container lives longer)."""
    import time

    api = core_v1_for_cluster(endpoint, ca_data_base64, eks_bearer_token(sts_client, cluster_name))
    issued = [time.monotonic()]

    def refresh(configuration: k8s.Configuration) -> None:
        if time.monotonic() - issued[0] > 600:
            configuration.api_key = {"authorization": f"Bearer {eks_bearer_token(sts_client, cluster_name)}"}
            issued[0] = time.monotonic()

    api.api_client.configuration.refresh_api_key_hook = refresh
    return api
