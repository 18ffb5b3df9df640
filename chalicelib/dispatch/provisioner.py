"""Applies a project's namespace manifests (`chalicelib.dispatch.namespaces`) with a CoreV1Api passed in:
namespace, service account, and the ResourceQuota of its task slots when the stage limits them.

Each domain's service account is annotated with the domain's own task role (IRSA). When the stage makes
task roles (`chalicelib.dispatch.task_roles`, a deployed stack with a cluster), the role is made first, so
that the annotation never names a role that does not exist; else the stage's role ARN pattern names roles
made outside slipstream, or nothing (pods then have only their node's role).

Apply is create-first: the common case (a new project) costs one request per object. AlreadyExists (409)
is success; the object is then read, and patched (a JSON merge patch of the labels, annotations and fields
slipstream sets, nothing else) only if they differ, so a second run changes nothing, a changed role pattern
reaches existing service accounts and a changed slot count existing quotas. Labels, annotations and quota
limits others added are left alone. A stage whose slot count drops to 0 leaves existing quotas in place
(deleting one is an administrator's decision: `kubectl delete resourcequota slipstream-tasks`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from chalicelib.dispatch.errors import cluster_failure, cluster_unreachable
from chalicelib.dispatch.namespaces import (
    CONTROL_PLANE_GROUP,
    namespace_for,
    namespace_manifests,
    task_role_arn,
)
from chalicelib.spec.identifiers import check_name

if TYPE_CHECKING:
    from chalicelib.dispatch.task_roles import TaskRoles

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


def _changes(want: Any, have: Any) -> Any:
    """The part of `want` that `have` lacks or holds differently, as a merge patch; None if nothing. Objects
    compare key by key, so keys only `have` holds (others' labels, others' quota limits) stay out of it."""
    if isinstance(want, dict) and isinstance(have, dict):
        changed = {k: c for k, v in want.items() if (c := _changes(v, have.get(k))) is not None}
        return changed or None
    return None if want == have else want


def _differs(wanted: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """The merge patch that brings `found`'s labels, annotations and other fields to `wanted`'s."""
    metadata = found.get("metadata") or {}
    patch = {f: c for f, v in wanted.items() if f not in ("apiVersion", "kind", "metadata")
             and (c := _changes(v, found.get(f))) is not None}
    for field in ("labels", "annotations"):
        changed = _changes(wanted["metadata"].get(field) or {}, metadata.get(field) or {})
        if changed:
            patch.setdefault("metadata", {})[field] = changed
    return patch


class NamespaceProvisioner:
    """Makes every project-domain's namespace, service account and task slots (`max_pods`, 0: no quota)
    exist as `namespace_manifests` says."""

    def __init__(self, core_v1: k8s.CoreV1Api, role_arn_pattern: str = "", stack: str = "slipstream",
                 task_roles: TaskRoles | None = None, max_pods: int = 0) -> None:
        self.core = core_v1
        self.role_arn_pattern = role_arn_pattern
        self.stack = stack
        self.task_roles = task_roles
        self.max_pods = max_pods

    def role_arn(self, project: str, domain: str) -> str:
        return task_role_arn(self.role_arn_pattern, project=project, domain=domain, stack=self.stack)

    def provision(self, project: str, domains: Sequence[str]) -> list[dict[str, str]]:
        """Apply the task role (when the stage makes them) and the manifests of every domain; one {"kind",
        "name", "namespace", "outcome"} per object, the outcome "created", "updated" or "unchanged". Raises
        ClusterError / ClusterUnreachable (TaskRoleError / TaskRoleUnreachable among them)."""
        results = []
        for domain in domains:
            check_name("project", project)
            check_name("domain", domain)
            role_arn = self.role_arn(project, domain)
            if self.task_roles is not None:
                name, role_arn, outcome = self.task_roles.ensure(project, domain)
                results.append({"kind": "IAMRole", "name": name, "namespace": namespace_for(project, domain),
                                "outcome": outcome})
            for manifest in namespace_manifests(project, domain, role_arn, self.max_pods):
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
        if manifest["kind"] == "ResourceQuota":
            return _Calls(lambda body: core.create_namespaced_resource_quota(namespace, body),
                          lambda name: core.read_namespaced_resource_quota(name, namespace),
                          lambda name, body, **kw: core.patch_namespaced_resource_quota(name, namespace, body, **kw))
        raise ValueError(f"cannot apply a [{manifest['kind']}]")

    def apply(self, manifest: dict[str, Any]) -> str:
        """Create one object, or bring an existing one's labels, annotations and fields to the manifest's."""
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
