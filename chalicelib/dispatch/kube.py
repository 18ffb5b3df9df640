"""The thin Kubernetes adapter: every call to the API server, with the CoreV1Api passed in.

AlreadyExists and NotFound are answers here, not errors: a redelivered dispatch message finds its pod
already created (409), a terminate finds its pod already gone (404). Every other failure becomes a
ClusterError (`chalicelib.dispatch.errors`) that names the pod and the likely fix, with the ApiException
as its cause; a pod the API server refuses as invalid is a PodRejected carrying Kubernetes' message.

A pod the namespace's ResourceQuota has no room for (`namespaces.TASK_QUOTA`, the project-domain's task
slots) is refused with 403 Forbidden, `exceeded quota: <quota>, requested: pods=1, used: pods=N, limited:
pods=N`; so is every pod while a new quota's usage is still being counted (`status unknown for quota`).
Both are NoCapacity: the dispatcher sends the run message back later. Kubernetes marks them with no reason
of their own (only Forbidden, which RBAC and Pod Security use too), so its message is what tells them
apart. Quota admission runs before storage: a redelivered message whose pod exists gets the same 403 while
the slots are full, not AlreadyExists, so the launcher looks for the pod before it reports no capacity.
The attempt's Secret stays while it waits: the retry makes the same pod with the same Secret.

A task attempt is two objects: the Secret holding its token, then the pod that reads it (a container
whose secretKeyRef names a missing Secret fails with CreateContainerConfigError). The pod's uid exists
only once the pod does, so the Secret is made first and handed to its pod afterwards (an ownerReference
patch): the garbage collector then deletes it with the pod. Every step is idempotent, so a redelivered
message that finds the Secret or the pod already there completes what an interrupted launch left; a pod
the cluster refuses takes its Secret with it.

On AWS the client talks to EKS with a bearer token made as `aws eks get-token` makes it: a presigned STS
GetCallerIdentity URL whose signature covers an `x-k8s-aws-id: <cluster>` header. EKS's authenticator
replays the URL against STS to learn the caller's IAM identity, then maps it to Kubernetes RBAC.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from chalicelib.dispatch.errors import (
    ClusterError,
    ClusterUnreachable,
    NoCapacity,
    cluster_failure,
    cluster_unreachable,
    pod_rejected,
    status_of,
)
from chalicelib.dispatch.namespaces import MANAGED_BY, MANAGED_BY_LABEL, PROJECT_LABEL
from chalicelib.dispatch.pods import (
    EXECUTION_LABEL,
    MANAGED_SELECTOR,
    TOKEN_KEY,
    PodConfig,
    PodRequest,
    build_pod,
    build_token_secret,
    execution_label,
    namespace_for,
    token_secret_name,
)

_HINTS = {
    401: "the API server refused the bearer token: give the control plane's IAM role an EKS access entry",
    403: "the control plane's Kubernetes RBAC does not allow this: apply infra/kubernetes/rbac.yaml",
    422: "the API server rejected the object as invalid",
}
MERGE_PATCH = "application/merge-patch+json"
_K8S_AWS_ID = "x-k8s-aws-id"
_TOKEN_PREFIX = "k8s-aws-v1."
_TOKEN_REFRESH_SECONDS = 600  # EKS accepts a token for 15 minutes; a warm Lambda container lives longer
_NO_SLOT = ("exceeded quota:", "status unknown for quota:")  # plugin/pkg/admission/resourcequota's refusals


def _failure(action: str, what: str, exc: ApiException, hints: dict[int, str] | None = None) -> ClusterError:
    return cluster_failure(action, what, exc, {**_HINTS, **(hints or {})}.get(exc.status or 0, ""))


def quota_refusal(exc: ApiException) -> str:
    """Kubernetes' message if `exc` is quota admission refusing a pod for want of room, else ""."""
    message = str(status_of(exc).get("message") or "")
    return message if exc.status == 403 and any(marker in message for marker in _NO_SLOT) else ""


def _launch_hints(pod: k8s.V1Pod, exc: ApiException) -> dict[int, str]:
    namespace = pod.metadata.namespace
    project = (pod.metadata.labels or {}).get(PROJECT_LABEL, "<project>")
    hints = {404: f"namespace [{namespace}] does not exist: provision the project's namespaces "
                  f"(POST /api/v1/projects/{project}/provision)"}
    if "violates PodSecurity" in (status_of(exc).get("message") or ""):
        hints[403] = "the namespace enforces the restricted Pod Security Standard, which build_pod must meet"
    return hints


class PodLauncher:
    """Creates, lists and deletes slipstream's pods (namespaces: `chalicelib.dispatch.provisioner`)."""

    def __init__(self, core_v1: k8s.CoreV1Api) -> None:
        self.core = core_v1

    def launch(self, pod: k8s.V1Pod, token_secret: k8s.V1Secret | None = None) -> bool:
        """True if the pod was created; False if a pod of that name exists (a redelivered message). With
        `token_secret` (pods.build_token_secret), the Secret is made first and owned by the pod after."""
        if token_secret is not None:
            self._create_secret(pod, token_secret)
        try:
            created = self._create_pod(pod)
        except ClusterError as exc:
            if token_secret is not None and not isinstance(exc, ClusterUnreachable | NoCapacity):  # no pod will come
                with contextlib.suppress(ClusterError, ApiException, HTTPError):
                    self.core.delete_namespaced_secret(token_secret.metadata.name, pod.metadata.namespace)
            raise
        if token_secret is not None:
            uid = created.metadata.uid if created is not None else self._uid(pod)
            self._own(token_secret, pod.metadata.name, uid)
        return created is not None

    def _create_pod(self, pod: k8s.V1Pod) -> k8s.V1Pod | None:
        """The created pod, or None if one of that name exists."""
        namespace, name = pod.metadata.namespace, pod.metadata.name
        try:
            return self.core.create_namespaced_pod(namespace, pod)
        except ApiException as exc:
            if exc.status == 409:
                return None
            if exc.status in (400, 422):
                raise pod_rejected(namespace, name, exc) from exc
            if quota := quota_refusal(exc):
                return self._existing(pod, quota, exc)
            raise _failure("create pod", f"{namespace}/{name}", exc, _launch_hints(pod, exc)) from exc
        except HTTPError as exc:
            raise cluster_unreachable("create pod", f"{namespace}/{name}", exc) from exc

    def _existing(self, pod: k8s.V1Pod, quota: str, exc: ApiException) -> None:
        """None if the pod the quota refused exists already (a redelivered message); else NoCapacity."""
        namespace, name = pod.metadata.namespace, pod.metadata.name
        try:
            self.core.read_namespaced_pod(name, namespace)
            return None
        except ApiException as read_exc:
            if read_exc.status != 404:
                raise _failure("read pod", f"{namespace}/{name}", read_exc) from read_exc
        except HTTPError as read_exc:
            raise cluster_unreachable("read pod", f"{namespace}/{name}", read_exc) from read_exc
        raise NoCapacity(f"no task slot is free in namespace [{namespace}] for pod [{name}]: Kubernetes answered "
                         f"{exc.status} {exc.reason} ({quota}); the task waits for one of the namespace's pods to "
                         "end (more slots: raise SLIPSTREAM_MAX_RUNNING_TASKS and provision the project again)"
                         ) from exc

    def _create_secret(self, pod: k8s.V1Pod, secret: k8s.V1Secret) -> None:
        """Make the token's Secret; one that exists already (a redelivered message) is the same token."""
        namespace, name = secret.metadata.namespace, secret.metadata.name
        try:
            self.core.create_namespaced_secret(namespace, secret)
        except ApiException as exc:
            if exc.status != 409:
                raise _failure("create secret", f"{namespace}/{name}", exc, _launch_hints(pod, exc)) from exc
        except HTTPError as exc:
            raise cluster_unreachable("create secret", f"{namespace}/{name}", exc) from exc

    def _uid(self, pod: k8s.V1Pod) -> str:
        namespace, name = pod.metadata.namespace, pod.metadata.name
        try:
            return str(self.core.read_namespaced_pod(name, namespace).metadata.uid)
        except ApiException as exc:
            raise _failure("read pod", f"{namespace}/{name}", exc) from exc
        except HTTPError as exc:
            raise cluster_unreachable("read pod", f"{namespace}/{name}", exc) from exc

    def _own(self, secret: k8s.V1Secret, pod: str, uid: str) -> None:
        """Make the pod the Secret's owner, so that the garbage collector deletes it with the pod."""
        namespace, name = secret.metadata.namespace, secret.metadata.name
        owner = {"apiVersion": "v1", "kind": "Pod", "name": pod, "uid": uid}
        try:
            self.core.patch_namespaced_secret(name, namespace, {"metadata": {"ownerReferences": [owner]}},
                                              _content_type=MERGE_PATCH)
        except ApiException as exc:
            raise _failure("patch secret", f"{namespace}/{name}", exc) from exc
        except HTTPError as exc:
            raise cluster_unreachable("patch secret", f"{namespace}/{name}", exc) from exc

    def read_token(self, namespace: str, pod: str) -> str | None:
        """The task token of the pod named `pod`, from its Secret; None if there is none (already gone)."""
        name = token_secret_name(pod)
        try:
            secret = self.core.read_namespaced_secret(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise _failure("read secret", f"{namespace}/{name}", exc) from exc
        except HTTPError as exc:
            raise cluster_unreachable("read secret", f"{namespace}/{name}", exc) from exc
        value = (secret.data or {}).get(TOKEN_KEY)
        return base64.b64decode(value).decode() if value else None

    def delete(self, namespace: str, name: str, grace_period_seconds: int | None = None) -> bool:
        """True if the pod was deleted; False if it was not there. `grace_period_seconds=0` is a forced delete,
        right only for pods whose containers have ended."""
        try:
            self.core.delete_namespaced_pod(name, namespace, grace_period_seconds=grace_period_seconds)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise _failure("delete pod", f"{namespace}/{name}", exc) from exc
        except HTTPError as exc:
            raise cluster_unreachable("delete pod", f"{namespace}/{name}", exc) from exc
        return True

    def list_managed(self, namespace: str | None = None, selector: str = "") -> list[k8s.V1Pod]:
        """slipstream's pods in one namespace or in all, narrowed by an extra label selector."""
        selector = ",".join(s for s in (MANAGED_SELECTOR, selector) if s)
        where = namespace or "all namespaces"
        try:
            if namespace:
                return list(self.core.list_namespaced_pod(namespace, label_selector=selector).items)
            return list(self.core.list_pod_for_all_namespaces(label_selector=selector).items)
        except ApiException as exc:
            raise _failure("list pods in", where, exc) from exc
        except HTTPError as exc:
            raise cluster_unreachable("list pods in", where, exc) from exc

    def pages(self, selector: str, namespace: str | None = None, field_selector: str = "",
              limit: int = 500) -> Iterator[list[k8s.V1Pod]]:
        """Pods matching the selectors, one page of at most `limit` at a time (limit/continue): a pass over
        many pods holds one page in memory, and the API server answers in bounded pieces."""
        where, token = namespace or "all namespaces", None
        while True:
            options: dict[str, Any] = {"label_selector": selector, "limit": limit}
            if field_selector:
                options["field_selector"] = field_selector
            if token:
                options["_continue"] = token
            try:
                if namespace:
                    page = self.core.list_namespaced_pod(namespace, **options)
                else:
                    page = self.core.list_pod_for_all_namespaces(**options)
            except ApiException as exc:  # 410 Gone: the continue token expired; the next pass starts afresh
                raise _failure("list pods in", where, exc) from exc
            except HTTPError as exc:
                raise cluster_unreachable("list pods in", where, exc) from exc
            yield list(page.items or [])
            token = page.metadata._continue if page.metadata else None
            if not token:
                return

    def delete_collection(self, namespace: str, selector: str, field_selector: str = "",
                          grace_period_seconds: int | None = None) -> int:
        """Delete every pod of `namespace` the selectors match with one deletecollection; the count deleted
        (the API server answers with the list of the pods it deleted)."""
        options: dict[str, Any] = {"label_selector": selector}
        if field_selector:
            options["field_selector"] = field_selector
        if grace_period_seconds is not None:
            options["grace_period_seconds"] = grace_period_seconds
        try:
            response = self.core.delete_collection_namespaced_pod(namespace, _preload_content=False, **options)
        except ApiException as exc:
            raise _failure("delete pods in", namespace, exc) from exc
        except HTTPError as exc:
            raise cluster_unreachable("delete pods in", namespace, exc) from exc
        return len(json.loads(response.data or b"{}").get("items") or [])

    def managed_namespaces(self) -> list[str]:
        """The namespaces slipstream provisioned (`chalicelib.dispatch.provisioner`), by their label."""
        try:
            listed = self.core.list_namespace(label_selector=f"{MANAGED_BY_LABEL}={MANAGED_BY}")
        except ApiException as exc:
            raise _failure("list namespaces", "the cluster", exc) from exc
        except HTTPError as exc:
            raise cluster_unreachable("list namespaces", "the cluster", exc) from exc
        return sorted(ns.metadata.name for ns in listed.items or [])

    def delete_execution_pods(self, namespace: str, execution: str) -> int:
        """Delete every pod of an execution (its name or key; dynamic children included) with one
        deletecollection; the count deleted."""
        return self.delete_collection(namespace, f"{MANAGED_SELECTOR},{EXECUTION_LABEL}={execution_label(execution)}")


class KubernetesLauncher:
    """The dispatcher's launcher on AWS (see `chalicelib.dispatcher.Launcher`): one pod per task attempt."""

    def __init__(self, core_v1: k8s.CoreV1Api, config: PodConfig) -> None:
        self.pods = PodLauncher(core_v1)
        self.config = config

    def launch(self, request: PodRequest) -> bool:
        return self.pods.launch(build_pod(request, self.config), build_token_secret(request, self.config))

    def stop_execution(self, project: str, domain: str, execution: str) -> int:
        return self.pods.delete_execution_pods(namespace_for(project, domain), execution)


def _carry_cluster_id(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """provide-client-params: move the header value out of the API parameters (STS would refuse an unknown
    parameter) into the request context."""
    if _K8S_AWS_ID in params:
        context[_K8S_AWS_ID] = params.pop(_K8S_AWS_ID)


def _sign_cluster_id(request: Any, **_: Any) -> None:
    """before-sign: add the header, so the signature covers it and the URL is good for that cluster only."""
    if _K8S_AWS_ID in request.context:
        request.headers[_K8S_AWS_ID] = request.context[_K8S_AWS_ID]


def eks_bearer_token(sts_client: Any, cluster_name: str) -> str:
    """A bearer token for an EKS cluster: `k8s-aws-v1.` + unpadded base64url of a presigned GetCallerIdentity
    URL. The handlers carry the cluster in the request context, not in a closure, so one STS client can mint
    tokens for several clusters from several threads; `unique_id` keeps them registered once."""
    events = sts_client.meta.events
    events.register("provide-client-params.sts.GetCallerIdentity", _carry_cluster_id,
                    unique_id="slipstream-k8s-aws-id-params")
    events.register("before-sign.sts.GetCallerIdentity", _sign_cluster_id, unique_id="slipstream-k8s-aws-id-sign")
    url = sts_client.generate_presigned_url("get_caller_identity", Params={_K8S_AWS_ID: cluster_name},
                                            ExpiresIn=60, HttpMethod="GET")
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def _ca_file(ca_data_base64: str) -> str:
    """The cluster's CA bundle as a file (urllib3 wants a path), one per distinct CA, written atomically."""
    data = base64.b64decode(ca_data_base64)
    path = os.path.join(tempfile.gettempdir(), f"slipstream-ca-{hashlib.sha256(data).hexdigest()[:16]}.crt")
    if not os.path.exists(path):
        fd, partial = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".partial")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(partial, path)
    return path


def core_v1_for_cluster(endpoint: str, ca_data_base64: str, token: str) -> k8s.CoreV1Api:
    """A CoreV1Api for a cluster's endpoint, trusting its CA, authenticating with a bearer token."""
    configuration = k8s.Configuration(host=endpoint)
    configuration.ssl_ca_cert = _ca_file(ca_data_base64)
    configuration.api_key = {"authorization": f"Bearer {token}"}
    return k8s.CoreV1Api(k8s.ApiClient(configuration))


def core_v1_for_eks(sts_client: Any, cluster_name: str, endpoint: str, ca_data_base64: str) -> k8s.CoreV1Api:
    """A CoreV1Api for an EKS cluster whose token is minted again before EKS stops accepting it."""
    api = core_v1_for_cluster(endpoint, ca_data_base64, eks_bearer_token(sts_client, cluster_name))
    issued = time.monotonic()
    lock = threading.Lock()

    def refresh(configuration: k8s.Configuration) -> None:
        nonlocal issued
        with lock:
            if time.monotonic() - issued > _TOKEN_REFRESH_SECONDS:
                configuration.api_key = {"authorization": f"Bearer {eks_bearer_token(sts_client, cluster_name)}"}
                issued = time.monotonic()

    api.api_client.configuration.refresh_api_key_hook = refresh
    return api
