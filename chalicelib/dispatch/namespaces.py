"""The Kubernetes objects slipstream owns besides pods, as plain manifests: pure functions, no client, no I/O.

Per project-domain (what Flyte's cluster resource manager makes from its templates), applied when a
project is created (`chalicelib.dispatch.provisioner`):

    Namespace       <project>-<domain>     labels: managed-by, project, domain; Pod Security Admission
                                           enforces `restricted` (the pods meet it by construction)
    ServiceAccount  slipstream-<domain>    IRSA: annotated with the project-domain's task IAM role, whose
                                           policy reaches only that project-domain's S3 prefixes (made by
                                           `chalicelib.dispatch.task_roles`); no API token is mounted into
                                           pods, and they get no RBAC at all
    ResourceQuota   slipstream-tasks       only when Settings.max_running_tasks > 0: `pods` hard at that
                                           number, the project-domain's task slots. The API server counts
                                           the namespace's pods that have not ended and refuses one more
                                           with 403 `exceeded quota`, atomically: two dispatchers launching
                                           at once cannot both take the last slot. The launcher turns that
                                           403 into NoCapacity and the dispatcher waits for a slot

Once per cluster (`cluster_manifests`, written out by the deploy command and applied by an administrator):
a ClusterRole and its binding to the Kubernetes group the control plane's IAM role maps to (an EKS access
entry), allowing what the control plane does and nothing else. Pods, namespaces, service accounts and
resource quotas are cluster-wide grants: RBAC cannot scope a grant to namespaces that do not exist yet, and
the control plane makes them at project creation. So are secrets: each attempt's task token travels in a
Secret of its own (`chalicelib.dispatch.pods`), which the reconciler reads back. Creating pods anywhere already implies
reading secrets there (a pod can mount any secret of its namespace), so this grants little more; scoping
both to the project namespaces would take a RoleBinding per namespace made at provisioning.

These names live here, not in pods.py, so that the deploy command can write manifests without importing
the Kubernetes client.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.errors import SlipstreamError
from chalicelib.spec.identifiers import check_name

LABEL_PREFIX = "slipstream.dev"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "slipstream"
PROJECT_LABEL = f"{LABEL_PREFIX}/project"
DOMAIN_LABEL = f"{LABEL_PREFIX}/domain"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
TASK_QUOTA = "slipstream-tasks"  # the ResourceQuota holding a project-domain's task slots
CONTROL_PLANE_GROUP = "slipstream-control-plane"  # the kubernetesGroups of the control plane's EKS access entry
POD_SECURITY = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}
RBAC_API = "rbac.authorization.k8s.io"
# (resources, verbs) the control plane uses, all in the core API group
CONTROL_PLANE_RULES = (
    (("pods",), ("create", "get", "list", "watch", "delete", "deletecollection")),  # dispatch, reconcile, stop
    (("pods/log",), ("get",)),  # node logs
    (("namespaces",), ("create", "get", "list", "patch")),  # project provisioning
    (("serviceaccounts",), ("create", "get", "patch")),  # project provisioning
    (("events",), ("list",)),  # why a pod is Pending
    (("secrets",), ("create", "get", "patch", "delete")),  # each attempt's task token (pods.build_token_secret)
    (("resourcequotas",), ("create", "get", "patch")),  # project provisioning: the task slots (TASK_QUOTA)
)
_PLACEHOLDERS = ("project", "domain", "stack")
# an IAM role ARN: partition, a 12-digit account, an optional path, a role name of at most 64 characters
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/(?:[\x21-\x7e]*/)?[A-Za-z0-9+=,.@_-]{1,64}")
_RBAC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")


def namespace_for(project: str, domain: str) -> str:
    return f"{project}-{domain}"


def service_account_for(domain: str) -> str:
    return f"slipstream-{domain}"


def task_role_arn(pattern: str, *, project: str, domain: str, stack: str) -> str:
    """The task IAM role of a project-domain from the stage's pattern (Settings.task_role_arn_pattern, e.g.
    "arn:aws:iam::123456789012:role/{stack}-task-{project}-{domain}"); "" when the pattern is empty."""
    if not pattern:
        return ""
    try:
        arn = pattern.format_map({"project": project, "domain": domain, "stack": stack})
    except (KeyError, IndexError, ValueError) as exc:
        raise SlipstreamError(f"setting task_role_arn_pattern [{pattern}] is malformed ({exc!r}): it may use only "
                              f"{', '.join('{' + p + '}' for p in _PLACEHOLDERS)}; fix "
                              "SLIPSTREAM_TASK_ROLE_ARN_PATTERN in the stage") from None
    if not _ROLE_ARN.fullmatch(arn):
        raise SlipstreamError(f"task role ARN [{arn}] of [{project}-{domain}] is not an IAM role ARN whose name has "
                              "at most 64 characters; fix SLIPSTREAM_TASK_ROLE_ARN_PATTERN in the stage")
    return arn


def _labels(project: str, domain: str) -> dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY, PROJECT_LABEL: project, DOMAIN_LABEL: domain}


def namespace_manifests(project: str, domain: str, role_arn: str, max_pods: int = 0) -> list[dict[str, Any]]:
    """The Namespace and the ServiceAccount of one project-domain, and with `max_pods` > 0 the ResourceQuota of
    its task slots, in the order they must be applied."""
    check_name("project", project)
    check_name("domain", domain)
    if isinstance(max_pods, bool) or not isinstance(max_pods, int) or max_pods < 0:
        raise SlipstreamError(f"setting max_running_tasks [{max_pods}] must be a whole number, 0 for no task slot "
                              "limit; fix SLIPSTREAM_MAX_RUNNING_TASKS in the stage")
    namespace = namespace_for(project, domain)
    account: dict[str, Any] = {"name": service_account_for(domain), "namespace": namespace,
                               "labels": _labels(project, domain)}
    if role_arn:
        account["annotations"] = {ROLE_ARN_ANNOTATION: role_arn}
    manifests = [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": namespace, "labels": {**_labels(project, domain), **POD_SECURITY}}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": account, "automountServiceAccountToken": False},
    ]
    if max_pods:
        manifests.append({"apiVersion": "v1", "kind": "ResourceQuota",
                          "metadata": {"name": TASK_QUOTA, "namespace": namespace, "labels": _labels(project, domain)},
                          "spec": {"hard": {"pods": str(max_pods)}}})
    return manifests


def cluster_manifests(stack: str) -> list[dict[str, Any]]:
    """The ClusterRole of a stack's control plane and its binding to CONTROL_PLANE_GROUP."""
    if not _RBAC_NAME.fullmatch(stack):
        raise SlipstreamError(f"stack [{stack}] cannot name a ClusterRole: use letters, digits, '-', '_' and '.'")
    name = f"{stack}-control-plane"
    metadata = {"name": name, "labels": {MANAGED_BY_LABEL: MANAGED_BY}}
    rules = [{"apiGroups": [""], "resources": list(resources), "verbs": list(verbs)}
             for resources, verbs in CONTROL_PLANE_RULES]
    return [
        {"apiVersion": f"{RBAC_API}/v1", "kind": "ClusterRole", "metadata": metadata, "rules": rules},
        {"apiVersion": f"{RBAC_API}/v1", "kind": "ClusterRoleBinding", "metadata": dict(metadata),
         "roleRef": {"apiGroup": RBAC_API, "kind": "ClusterRole", "name": name},
         "subjects": [{"apiGroup": RBAC_API, "kind": "Group", "name": CONTROL_PLANE_GROUP}]},
    ]


def manifests_yaml(manifests: list[dict[str, Any]], comment: str = "") -> str:
    """Manifests as one YAML stream for `kubectl apply -f`, under a `#` comment."""
    import yaml  # PyYAML comes with the server's dependencies; only writers of files need it

    header = "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines())
    return header + yaml.safe_dump_all(manifests, sort_keys=False, explicit_start=True, default_flow_style=None)


def rbac_yaml(stack: str) -> str:
    """infra/kubernetes/rbac.yaml for a stack: `cluster_manifests` with how to apply them."""
    return manifests_yaml(cluster_manifests(stack), f"""\
What the control plane of the slipstream stack [{stack}] may do on its EKS cluster.
Written by chalicelib.dispatch.namespaces.rbac_yaml("{stack}") (the deploy command's --dry-run writes it for
its stack; tests/integration/dispatch/test_namespaces.py checks that infra/kubernetes/rbac.yaml is its output).

Apply once per cluster, as an administrator:  kubectl apply -f rbac.yaml
then map the control plane's IAM role (the Lambdas') to the group [{CONTROL_PLANE_GROUP}] with an EKS access
entry (kubernetesGroups). The namespace and service account of each project-domain are made by the control
plane when the project is created (POST /api/v1/projects), with the ResourceQuota of its task slots when the
stage limits them (SLIPSTREAM_MAX_RUNNING_TASKS); task pods get no RBAC at all.""")
