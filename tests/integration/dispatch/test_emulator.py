"""The Kubernetes API emulator refuses what the API server refuses, in its words (Status bodies with reason,
code and `details.causes`), and serves namespaces and service accounts as it does: the dispatch tests can
only trust it as far as these hold."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from tests.support.kube_validation import parse_quantity

pytestmark = pytest.mark.integration

MERGE = "application/merge-patch+json"


def pod(name: str = "ok", **container: Any) -> dict[str, Any]:
    spec = {"name": "task", "image": "registry.example/task:1", **container}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [spec]}}


def refused(call: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """(status, Status body) of a call the emulator must refuse."""
    with pytest.raises(ApiException) as answer:
        call(*args, **kwargs)
    body = json.loads(answer.value.body)
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == answer.value.status
    return answer.value.status, body


@pytest.fixture()
def namespace(kube) -> str:
    name = f"emu-{uuid.uuid4().hex[:8]}"
    kube.create_namespace({"metadata": {"name": name}})
    return name


def causes(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["field"], c["message"]) for c in body["details"]["causes"]}


INVALID_PODS = {
    "uppercase name": (pod("Bad_Name"), "metadata.name",
                       'Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case '
                       "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character "
                       "(e.g. 'example.com', regex used for validation is "
                       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    "label key": ({**pod(), "metadata": {"name": "ok", "labels": {"bad key": "v"}}}, "metadata.labels",
                  'Invalid value: "bad key": name part must consist of alphanumeric characters'),
    "label value": ({**pod(), "metadata": {"name": "ok", "labels": {"k": "n2[17]"}}}, "metadata.labels",
                    'Invalid value: "n2[17]": a valid label must be an empty string or consist of alphanumeric'),
    "long label value": ({**pod(), "metadata": {"name": "ok", "labels": {"k": "a" * 64}}}, "metadata.labels",
                         "must be no more than 63 characters"),
    "no containers": ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ok"}, "spec": {"containers": []}},
                      "spec.containers", "Required value"),
    "container name": (pod(name="ok") | {"spec": {"containers": [{"name": "Task", "image": "x"}]}},
                       "spec.containers[0].name", 'Invalid value: "Task": a lowercase RFC 1123 label'),
    "no image": (pod() | {"spec": {"containers": [{"name": "task"}]}}, "spec.containers[0].image", "Required value"),
    "env name": (pod(env=[{"name": "1BAD", "value": "x"}]), "spec.containers[0].env[0].name",
                 'Invalid value: "1BAD": a valid environment variable name must consist of alphabetic characters, '
                 "digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or "
                 "'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"),
    "negative": (pod(resources={"requests": {"cpu": "-1"}}), "spec.containers[0].resources.requests[cpu]",
                 'Invalid value: "-1": must be greater than or equal to 0'),
    "fractional gpu": (pod(resources={"limits": {"nvidia.com/gpu": "0.5"}}),
                       "spec.containers[0].resources.limits[nvidia.com/gpu]",
                       'Invalid value: "0.5": must be an integer'),
    "gpu without limit": (pod(resources={"requests": {"nvidia.com/gpu": "1"}}),
                          "spec.containers[0].resources.limits",
                          "Required value: Limit must be set for non overcommitable resources"),
    "gpu request not limit": (pod(resources={"requests": {"nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "2"}}),
                              "spec.containers[0].resources.requests",
                              'Invalid value: "1": must be equal to nvidia.com/gpu limit of 2'),
    "request above limit": (pod(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}}),
                            "spec.containers[0].resources.requests",
                            'Invalid value: "2": must be less than or equal to cpu limit of 1500m'),
    "resource name": (pod(resources={"limits": {"gpu": "1"}}), "spec.containers[0].resources.limits[gpu]",
                      'Invalid value: "gpu": must be a standard resource for containers'),
}


@pytest.mark.parametrize("case", list(INVALID_PODS))
def test_an_invalid_pod_is_a_422_naming_the_field(kube, namespace, case):
    manifest, field, message = INVALID_PODS[case]
    status, body = refused(kube.create_namespaced_pod, namespace, manifest)
    assert status == 422 and body["reason"] == "Invalid"
    assert body["details"]["kind"] == "Pod" and body["details"]["name"] == manifest["metadata"]["name"]
    assert any(f == field and message in m for f, m in causes(body)), causes(body)
    assert body["message"].startswith(f'Pod "{manifest["metadata"]["name"]}" is invalid: {field}: ')
    assert kube.list_namespaced_pod(namespace).items == []


def test_several_errors_are_listed_in_one_message(kube, namespace):
    status, body = refused(kube.create_namespaced_pod, namespace, pod(env=[{"name": "1A"}, {"name": "2B"}]))
    assert status == 422 and len(body["details"]["causes"]) == 2
    assert body["message"].startswith('Pod "ok" is invalid: [spec.containers[0].env[0].name: Invalid value: "1A"')


@pytest.mark.parametrize("quantity", ["4GB", "1.2.3", "1e", "1Ki1", "1ki", "abc", "1 Gi"])
def test_a_quantity_the_api_server_cannot_read_is_a_400(kube, namespace, quantity):
    status, body = refused(kube.create_namespaced_pod, namespace, pod(resources={"limits": {"memory": quantity}}))
    assert status == 400 and body["reason"] == "BadRequest"
    assert body["message"].startswith('Pod in version "v1" cannot be handled as a Pod: ')
    assert ("quantities must match the regular expression" in body["message"]
            or "unable to parse quantity's suffix" in body["message"])


@pytest.mark.parametrize("quantity, value", [("1", "1"), ("500m", "0.5"), ("1.5Gi", str(3 * 2**29)), ("1e3", "1000"),
                                             ("+2k", "2000"), ("Gi", "0"), (".", "0"), (" 1 ", "1")])
def test_the_api_server_reads_quantities_as_parsequantity_does(quantity, value):
    from decimal import Decimal

    assert parse_quantity(quantity) == Decimal(value)


def test_a_valid_pod_is_stored_and_a_pod_in_a_missing_namespace_is_404(kube, namespace):
    created = kube.create_namespaced_pod(namespace, pod(env=[{"name": "my.env-name", "value": "1"}], resources={
        "requests": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "1"}}))
    assert created.metadata.uid and created.status.phase == "Pending"
    status, body = refused(kube.create_namespaced_pod, "nowhere", pod("Bad_Name"))
    assert status == 404 and body["reason"] == "NotFound"  # NamespaceLifecycle admission comes before validation


def test_namespaces_are_created_validated_listed_and_patched(kube):
    name = f"emu-{uuid.uuid4().hex[:8]}"
    status, body = refused(kube.create_namespace, {"metadata": {"name": name.upper()}})
    assert status == 422 and "a lowercase RFC 1123 label" in body["message"]
    kube.create_namespace({"metadata": {"name": name, "labels": {"team": "a"}}})
    assert refused(kube.create_namespace, {"metadata": {"name": name}})[1]["reason"] == "AlreadyExists"
    assert kube.read_namespace(name).metadata.labels == {"team": "a", "kubernetes.io/metadata.name": name}
    kube.patch_namespace(name, {"metadata": {"labels": {"team": None, "tier": "b"}}}, _content_type=MERGE)
    assert kube.read_namespace(name).metadata.labels == {"tier": "b", "kubernetes.io/metadata.name": name}
    listed = kube.list_namespace(label_selector="tier=b").items
    assert [n.metadata.name for n in listed] == [name]
    status, body = refused(kube.patch_namespace, name, {"metadata": {"labels": {"x": "not valid!"}}},
                           _content_type=MERGE)
    assert status == 422 and causes(body) and body["details"]["kind"] == "Namespace"
    assert refused(kube.patch_namespace, f"{name}-missing", {}, _content_type=MERGE)[0] == 404


def test_a_json_object_sent_as_a_json_patch_is_refused_as_on_a_cluster(kube, namespace):
    """JSON Patch wants a list of operations (the official client switches a dict body to a strategic merge
    patch itself; raw HTTP shows what the server says)."""
    kube.create_namespaced_service_account(namespace, {"metadata": {"name": "sa"}})
    host = kube.api_client.configuration.host
    for path in (f"/api/v1/namespaces/{namespace}", f"/api/v1/namespaces/{namespace}/serviceaccounts/sa"):
        for content_type, status in (("application/json-patch+json", 400), ("application/apply-patch+yaml", 415)):
            request = urllib.request.Request(host + path, data=b'{"metadata": {}}', method="PATCH",
                                             headers={"Content-Type": content_type})
            with pytest.raises(urllib.error.HTTPError) as answer:
                urllib.request.urlopen(request, timeout=10)
            assert answer.value.code == status, (path, content_type)
    assert kube.patch_namespace(namespace, {"metadata": {"labels": {"a": "b"}}}).metadata.labels["a"] == "b"


def test_service_accounts_are_created_validated_read_listed_and_patched(kube, namespace):
    status, body = refused(kube.create_namespaced_service_account, namespace, {"metadata": {"name": "Bad Name"}})
    assert status == 422 and body["details"]["kind"] == "ServiceAccount"
    kube.create_namespaced_service_account(namespace, {"metadata": {"name": "slipstream-development"},
                                                       "automountServiceAccountToken": False})
    status, body = refused(kube.create_namespaced_service_account, namespace,
                           {"metadata": {"name": "slipstream-development"}})
    assert status == 409 and body["reason"] == "AlreadyExists"
    kube.patch_namespaced_service_account("slipstream-development", namespace, {"metadata": {"annotations": {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/r"}}}, _content_type=MERGE)
    account = kube.read_namespaced_service_account("slipstream-development", namespace)
    assert account.metadata.annotations == {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/r"}
    assert account.automount_service_account_token is False
    assert [a.metadata.name for a in kube.list_namespaced_service_account(namespace).items] == [
        "slipstream-development"]
    assert refused(kube.create_namespaced_service_account, "nowhere", {"metadata": {"name": "x"}})[0] == 404


def test_a_restricted_namespace_forbids_pods_that_fail_the_standard(kube, namespace):
    restricted = f"{namespace}-r"
    kube.create_namespace({"metadata": {"name": restricted, "labels": {
        "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}}})
    kube.create_namespaced_pod(namespace, pod("plain"))  # no Pod Security level enforced there
    status, body = refused(kube.create_namespaced_pod, restricted, pod("plain"))
    assert status == 403 and body["reason"] == "Forbidden"
    assert body["message"].startswith('pods "plain" is forbidden: violates PodSecurity "restricted:latest": '
                                      'allowPrivilegeEscalation != false (container "task" must set')
    for rule in ("unrestricted capabilities", "runAsNonRoot != true", "seccompProfile"):
        assert rule in body["message"]
    secured = pod("secured", securityContext={
        "runAsNonRoot": True, "runAsUser": 1000, "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}})
    assert kube.create_namespaced_pod(restricted, secured).metadata.name == "secured"
    as_root = pod("root", securityContext={**secured["spec"]["containers"][0]["securityContext"], "runAsUser": 0})
    assert "runAsUser=0" in refused(kube.create_namespaced_pod, restricted, as_root)[1]["message"]


def test_secrets_keep_string_data_as_base64_data_and_refuse_bad_keys(kube, namespace):
    status, body = refused(kube.create_namespaced_secret, namespace, {"metadata": {"name": "s"},
                                                                      "stringData": {"bad key": "x"}})
    assert status == 422 and body["details"]["kind"] == "Secret"
    assert any(f == "stringData[bad key]" and "a valid config key must consist of" in m for f, m in causes(body))
    kube.create_namespaced_secret(namespace, {"metadata": {"name": "s"}, "data": {"a": "YQ=="},
                                              "stringData": {"b": "bee"}})
    secret = kube.read_namespaced_secret("s", namespace)
    assert secret.data == {"a": "YQ==", "b": "YmVl"} and secret.string_data is None
    assert refused(kube.create_namespaced_secret, namespace, {"metadata": {"name": "s"}})[1]["reason"] == \
        "AlreadyExists"
    assert [s.metadata.name for s in kube.list_namespaced_secret(namespace).items] == ["s"]


def test_an_immutable_secret_keeps_its_data_but_not_its_metadata_fixed(kube, namespace):
    kube.create_namespaced_secret(namespace, {"metadata": {"name": "s"}, "immutable": True,
                                              "stringData": {"token": "t"}})
    status, body = refused(kube.patch_namespaced_secret, "s", namespace, {"stringData": {"token": "other"}},
                           _content_type=MERGE)
    assert status == 422 and "field is immutable when `immutable` is set" in body["message"]
    assert refused(kube.patch_namespaced_secret, "s", namespace, {"immutable": False}, _content_type=MERGE)[0] == 422
    kube.patch_namespaced_secret("s", namespace, {"metadata": {"labels": {"a": "b"}}}, _content_type=MERGE)
    secret = kube.read_namespaced_secret("s", namespace)
    assert secret.metadata.labels == {"a": "b"} and secret.data == {"token": "dA=="}


def test_the_garbage_collector_deletes_what_lost_all_its_owners(kube, namespace):
    # GIVEN a secret owned by a pod, one owned by the pod and by a second pod, one owned by nothing
    owner = kube.create_namespaced_pod(namespace, pod("owner"))
    other = kube.create_namespaced_pod(namespace, pod("other"))

    def owned_by(name: str, *pods: Any) -> None:
        kube.create_namespaced_secret(namespace, {"metadata": {"name": name}})
        references = [{"apiVersion": "v1", "kind": "Pod", "name": p.metadata.name, "uid": p.metadata.uid}
                      for p in pods]
        kube.patch_namespaced_secret(name, namespace, {"metadata": {"ownerReferences": references}},
                                     _content_type=MERGE)

    owned_by("one", owner)
    owned_by("two", owner, other)
    kube.create_namespaced_secret(namespace, {"metadata": {"name": "free"}})
    # WHEN the first pod is deleted THEN only what it alone owned goes
    kube.delete_namespaced_pod("owner", namespace)
    assert {s.metadata.name for s in kube.list_namespaced_secret(namespace).items} == {"two", "free"}
    # AND an owner reference to an object that is gone (a uid no longer live) makes its dependent go at once
    kube.create_namespaced_secret(namespace, {"metadata": {"name": "late"}})
    kube.patch_namespaced_secret("late", namespace, {"metadata": {"ownerReferences": [
        {"apiVersion": "v1", "kind": "Pod", "name": "owner", "uid": owner.metadata.uid}]}}, _content_type=MERGE)
    assert {s.metadata.name for s in kube.list_namespaced_secret(namespace).items} == {"two", "free"}
