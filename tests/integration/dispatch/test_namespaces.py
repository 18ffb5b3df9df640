"""Namespaces from templates: the manifests of a project-domain and of the control plane's cluster access fit
the Kubernetes schema, and the provisioner applies them over HTTP against the Kubernetes API emulator,
idempotently, patching only what differs."""

from __future__ import annotations

import socket
import uuid

import pytest
from kubernetes.client.exceptions import ApiException

from chalicelib.dispatch import KubernetesLauncher, build_pod, pod_name
from chalicelib.dispatch.errors import ClusterError, ClusterUnreachable
from chalicelib.dispatch.namespaces import (
    CONTROL_PLANE_GROUP,
    cluster_manifests,
    namespace_manifests,
    rbac_yaml,
    task_role_arn,
)
from chalicelib.dispatch.provisioner import NamespaceProvisioner
from chalicelib.errors import SlipstreamError, ValidationError
from tests.conftest import ROOT
from tests.integration.dispatch.conftest import CONFIG, ROLE_PATTERN
from tests.support.k8s_schema import check_manifest
from tests.support.kube_emulator import core_v1

pytestmark = pytest.mark.integration

DOMAINS = ["development", "staging", "production"]
ARN = "arn:aws:iam::123456789012:role/slipstream-task-ml-production"


def fresh() -> str:
    return f"ns{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("role_arn", [ARN, ""])
def test_a_project_domain_is_a_namespace_and_a_service_account_that_fit_the_schema(role_arn):
    namespace, account = (check_manifest(m) for m in namespace_manifests("ml", "production", role_arn))
    assert namespace["metadata"] == {"name": "ml-production", "labels": {
        "app.kubernetes.io/managed-by": "slipstream", "slipstream.dev/project": "ml",
        "slipstream.dev/domain": "production", "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest"}}
    assert account["metadata"]["name"] == "slipstream-production"
    assert account["metadata"]["namespace"] == "ml-production"
    assert account["automountServiceAccountToken"] is False
    assert account["metadata"].get("annotations") == ({"eks.amazonaws.com/role-arn": ARN} if role_arn else None)


def test_task_slots_are_a_pod_quota_in_the_namespace_that_fits_the_schema():
    *_, quota = (check_manifest(m) for m in namespace_manifests("ml", "production", "", max_pods=8))
    assert quota["kind"] == "ResourceQuota" and quota["spec"] == {"hard": {"pods": "8"}}
    assert quota["metadata"]["name"] == "slipstream-tasks" and quota["metadata"]["namespace"] == "ml-production"
    assert quota["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "slipstream"
    assert [m["kind"] for m in namespace_manifests("ml", "production", "")] == ["Namespace", "ServiceAccount"]


@pytest.mark.parametrize("max_pods", [-1, 2.5, True])
def test_a_slot_count_that_is_not_a_whole_number_names_the_setting(max_pods):
    with pytest.raises(SlipstreamError, match=rf"max_running_tasks \[{max_pods}\] must be a whole number.*"
                                              "SLIPSTREAM_MAX_RUNNING_TASKS"):
        namespace_manifests("ml", "production", "", max_pods=max_pods)


@pytest.mark.parametrize("project, domain", [("Bad_Project", "production"), ("ml", "prod/uction"), ("", "x")])
def test_manifests_refuse_names_that_cannot_make_a_namespace(project, domain):
    with pytest.raises(ValidationError):
        namespace_manifests(project, domain, "")


def test_the_task_role_comes_from_the_stage_pattern():
    assert task_role_arn(ROLE_PATTERN, project="ml", domain="staging", stack="prod") == \
        "arn:aws:iam::123456789012:role/prod-task-ml-staging"
    assert task_role_arn("", project="ml", domain="staging", stack="prod") == ""
    with pytest.raises(SlipstreamError, match=r"malformed \(KeyError\('region'\)\): it may use only \{project\}, "
                                              r"\{domain\}, \{stack\}; fix SLIPSTREAM_TASK_ROLE_ARN_PATTERN"):
        task_role_arn("arn:aws:iam::123456789012:role/{region}", project="ml", domain="staging", stack="prod")
    long = "a" * 40
    with pytest.raises(SlipstreamError, match=r"at most 64 characters"):
        task_role_arn(ROLE_PATTERN, project=long, domain="development", stack="slipstream")


def test_the_control_plane_may_do_what_it_does_and_nothing_else():
    role, binding = (check_manifest(m) for m in cluster_manifests("slipstream"))
    granted = {(resource, verb) for rule in role["rules"] for resource in rule["resources"] for verb in rule["verbs"]}
    assert all(rule["apiGroups"] == [""] for rule in role["rules"])
    assert granted == {
        *(("pods", v) for v in ("create", "get", "list", "watch", "delete", "deletecollection")),
        ("pods/log", "get"), *(("namespaces", v) for v in ("create", "get", "list", "patch")),
        *(("serviceaccounts", v) for v in ("create", "get", "patch")), ("events", "list"),
        *(("secrets", v) for v in ("create", "get", "patch", "delete")),  # the task tokens' Secrets
        *(("resourcequotas", v) for v in ("create", "get", "patch"))}  # the task slots
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                    "name": CONTROL_PLANE_GROUP}]
    assert CONTROL_PLANE_GROUP == "slipstream-control-plane"


def test_infra_rbac_yaml_is_what_cluster_manifests_writes():
    """Regenerate with: python -c 'from chalicelib.dispatch.namespaces import rbac_yaml;
    open("infra/kubernetes/rbac.yaml", "w").write(rbac_yaml("slipstream"))'"""
    import yaml

    text = (ROOT / "infra" / "kubernetes" / "rbac.yaml").read_text()
    assert text == rbac_yaml("slipstream")
    assert list(yaml.safe_load_all(text)) == cluster_manifests("slipstream")
    assert rbac_yaml("other-stack") != text and "other-stack-control-plane" in rbac_yaml("other-stack")


def test_provisioning_creates_every_domain_then_finds_it_unchanged(kube):
    project = fresh()
    provisioner = NamespaceProvisioner(kube, ROLE_PATTERN, stack="prod")
    first = provisioner.provision(project, DOMAINS)
    assert [(o["kind"], o["namespace"], o["name"], o["outcome"]) for o in first] == [
        (kind, f"{project}-{d}", name, "created") for d in DOMAINS
        for kind, name in (("Namespace", f"{project}-{d}"), ("ServiceAccount", f"slipstream-{d}"))]
    for domain in DOMAINS:
        namespace = kube.read_namespace(f"{project}-{domain}")
        assert namespace.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert namespace.metadata.labels["slipstream.dev/domain"] == domain
        account = kube.read_namespaced_service_account(f"slipstream-{domain}", f"{project}-{domain}")
        assert account.metadata.annotations == {
            "eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/prod-task-{project}-{domain}"}
        assert account.automount_service_account_token is False
    again = provisioner.provision(project, DOMAINS)
    assert {o["outcome"] for o in again} == {"unchanged"}


def test_provisioning_patches_what_differs_and_keeps_what_others_added(kube):
    project = fresh()
    NamespaceProvisioner(kube, "").provision(project, ["staging"])
    namespace = f"{project}-staging"
    assert kube.read_namespaced_service_account("slipstream-staging", namespace).metadata.annotations is None
    # someone labels the namespace and annotates the account; the stage then gets a task role pattern
    kube.patch_namespace(namespace, {"metadata": {"labels": {"team": "ml"}}},
                         _content_type="application/merge-patch+json")
    kube.patch_namespaced_service_account("slipstream-staging", namespace, {"metadata": {"annotations": {
        "example.com/owner": "ml"}}}, _content_type="application/merge-patch+json")
    outcome = NamespaceProvisioner(kube, ROLE_PATTERN).provision(project, ["staging"])
    assert [o["outcome"] for o in outcome] == ["unchanged", "updated"]
    account = kube.read_namespaced_service_account("slipstream-staging", namespace)
    assert account.metadata.annotations == {
        "example.com/owner": "ml",
        "eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/slipstream-task-{project}-staging"}
    assert kube.read_namespace(namespace).metadata.labels["team"] == "ml"
    # a label slipstream owns that was changed is put back
    kube.patch_namespace(namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}},
                         _content_type="application/merge-patch+json")
    assert [o["outcome"] for o in NamespaceProvisioner(kube, ROLE_PATTERN).provision(project, ["staging"])] == [
        "updated", "unchanged"]
    assert kube.read_namespace(namespace).metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_a_pod_lands_in_its_provisioned_namespace_with_its_service_account(kube, pod_request):
    req = pod_request()  # its project was provisioned by the fixture, as project creation does
    assert KubernetesLauncher(kube, CONFIG).launch(req) is True
    pod = kube.read_namespaced_pod(pod_name(req.execution, req.node_id, req.attempt), f"{req.project}-production")
    account = kube.read_namespaced_service_account(pod.spec.service_account_name, pod.metadata.namespace)
    assert account.metadata.annotations["eks.amazonaws.com/role-arn"].endswith(f"-task-{req.project}-production")
    assert build_pod(req, CONFIG).spec.service_account_name == account.metadata.name


def test_an_unreachable_cluster_is_a_clear_503_error():
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ClusterUnreachable, match=r"cannot create \[Namespace .*-development\]: the Kubernetes API "
                                                 r"server is unreachable") as failure:
        NamespaceProvisioner(core_v1(f"http://127.0.0.1:{port}")).provision(fresh(), ["development"])
    assert failure.value.status_code == 503 and failure.value.code == "ClusterUnreachable"


def test_a_refusal_is_a_502_naming_the_object_the_answer_and_the_fix(kube):
    """The cluster refuses a service account whose annotation key it does not allow (validation comes before
    the AlreadyExists check, as on a cluster): the error carries Kubernetes' message and the ApiException."""
    project = fresh()
    provisioner = NamespaceProvisioner(kube)
    provisioner.provision(project, ["development"])
    bad = namespace_manifests(project, "development", ARN)[1]
    bad["metadata"]["annotations"] = {"bad key!": "x"}
    with pytest.raises(ClusterError, match=r"cannot create \[ServiceAccount .*/slipstream-development\]: "
                                           r"Kubernetes answered 422") as failure:
        provisioner.apply(bad)
    assert failure.value.status_code == 502 and isinstance(failure.value.__cause__, ApiException)
    assert "metadata.annotations" in str(failure.value)


def test_provisioning_applies_the_task_slots_and_changes_only_their_count(kube):
    project = fresh()
    namespace = f"{project}-development"
    first = NamespaceProvisioner(kube, max_pods=4).provision(project, ["development"])
    assert [(o["kind"], o["name"], o["outcome"]) for o in first][-1] == ("ResourceQuota", "slipstream-tasks",
                                                                         "created")
    quota = kube.read_namespaced_resource_quota("slipstream-tasks", namespace)
    assert quota.spec.hard == {"pods": "4"} and quota.status.used == {"pods": "0"}
    assert [o["outcome"] for o in NamespaceProvisioner(kube, max_pods=4).provision(project, ["development"])] == [
        "unchanged"] * 3
    # an administrator adds a limit of their own; the stage then gets more slots
    kube.patch_namespaced_resource_quota("slipstream-tasks", namespace, {"spec": {"hard": {"requests.cpu": "64"}}},
                                         _content_type="application/merge-patch+json")
    assert [o["outcome"] for o in NamespaceProvisioner(kube, max_pods=4).provision(project, ["development"])] == [
        "unchanged"] * 3
    assert [o["outcome"] for o in NamespaceProvisioner(kube, max_pods=6).provision(project, ["development"])] == [
        "unchanged", "unchanged", "updated"]
    assert kube.read_namespaced_resource_quota("slipstream-tasks", namespace).spec.hard == {
        "pods": "6", "requests.cpu": "64"}
