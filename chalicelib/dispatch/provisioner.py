"""Applies a project's namespace manifests (`chalicelib.dispatch.namespaces`) with a CoreV1Api passed in.

Apply is create-first: the common case (a new project) costs one request per object. AlreadyExists (409)
is success; the object is then read, and patched (a JSON merge patch of the labels and annotations
slipstream sets, nothing else) only if they differ, so a second run changes nothing and a changed role
pattern reaches existing service accounts. Labels and annotations others added are left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from chalicelib.dispatch.errors import cluster_failure, cluster_unreachable
from chalicelib.dispatch.namespaces import CONTROL_PLANE_GROUP, namespace_manifests, task_role_arn

MERGE_PATCH = "application/merge-patch+json"  # RFC 7386 on every client version (a dict body defaults to SMP)
_HINTS = {
    401: "the API server refused the bearer token: give the control plane's IAM role an EKS access entry",
    403: f"the control plane's group [{CONTROL_PLANE_GROUP}] lacks this permission: apply "
         "infra/kubernetes/rbac.yaml (or what `--dry-run` of the deploy command writes)",
}


class _Calls(NamedTuple):
    """The three calls of one kind of object, its namespace bound where it has one."""

    create: Callable[..., Any]
    read: Callable[..., Any]
    patch: Callable[..., Any]


def _differs(wanted: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """The merge patch that brings `found`'s labels, annotations and top-level fields to `wanted`'s."""
    patch: dict[str, Any] = {}
    for field in ("labels", "annotations"):
        want = wanted["metadata"].get(field) or {}
        have = found.get("metadata", {}).get(field) or {}
        changed = {k: v for k, v in want.items() if have.get(k) != v}
        if changed:
            patch.setdefault("metadata", {})[field] = changed
    for field, value in wanted.items():
        if field not in ("apiVersion", "kind", "metadata") and found.get(field) != value:
            patch[field] = value
    return patch


class NamespaceProvisioner:
    """Makes every project-domain's namespace and service account exist as `namespace_manifests` says."""

    def __init__(self, core_v1: k8s.CoreV1Api, role_arn_pattern: str = "", stack: str = "slipstream") -> None:
        self.core = core_v1
        self.role_arn_pattern = role_arn_pattern
        self.stack = stack

    def role_arn(self, project: str, domain: str) -> str:
        return task_role_arn(self.role_arn_pattern, project=project, domain=domain, stack=self.stack)

    def provision(self, project: str, domains: Sequence[str]) -> list[dict[str, str]]:
        """Apply the manifests of every domain; one {"kind", "name", "namespace", "outcome"} per object, the
        outcome "created", "updated" or "unchanged". Raises ClusterError / ClusterUnreachable."""
        results = []
        for domain in domains:
            for manifest in namespace_manifests(project, domain, self.role_arn(project, domain)):
                metadata = manifest["metadata"]
                results.append({"kind": manifest["kind"], "name": metadata["name"],
                                "namespace": metadata.get("namespace", metadata["name"]),
                                "outcome": self.apply(manifest)})
        return results

    def _calls(self, manifest: dict[str, Any]) -> _Calls:
        core, namespace = self.core, manifest["metadata"].get("namespace")
        if manifest["kind"] == "Namespace":
            return _Calls(core.create_namespace, core.read_namespace, core.patch_namespace)
        if manifest["kind"] == "ServiceAccount":
            return _Calls(lambda body: core.create_namespaced_service_account(namespace, body),
                          lambda name: core.read_namespaced_service_account(name, namespace),
                          lambda name, body, **kw: core.patch_namespaced_service_account(name, namespace, body, **kw))
        raise ValueError(f"cannot apply a [{manifest['kind']}]")

    def apply(self, manifest: dict[str, Any]) -> str:
        """Create one object, or bring an existing one's labels and annotations to the manifest's."""
        calls, metadata = self._calls(manifest), manifest["metadata"]
        name = metadata["name"]
        what = f"{manifest['kind']} {metadata['namespace']}/{name}" if "namespace" in metadata else f"Namespace {name}"
        action = "create"
        try:
            try:
                calls.create(manifest)
                return "created"
            except ApiException as exc:
                if exc.status != 409:
                    raise
            action = "read"
            found = self.core.api_client.sanitize_for_serialization(calls.read(name))
            patch = _differs(manifest, found)
            if not patch:
                return "unchanged"
            action = "patch"
            calls.patch(name, patch, _content_type=MERGE_PATCH)
            return "updated"
        except ApiException as exc:
            raise cluster_failure(action, what, exc, _HINTS.get(exc.status or 0, "")) from exc
        except HTTPError as exc:
            raise cluster_unreachable(action, what, exc) from exc
