"""The schema check the pod and manifest tests rely on: it refuses what the Kubernetes schema refuses, names
the field, and needs no network (kubernetes-validate ships its schemas)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from chalicelib.dispatch.errors import ClusterError, PodRejected, cluster_failure, pod_rejected
from tests.conftest import ROOT
from tests.support.k8s_schema import ManifestError, check_manifest

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
       "spec": {"containers": [{"name": "task", "image": "img:1"}], "restartPolicy": "Never"}}


@pytest.mark.parametrize("change, where", [
    (lambda p: p["metadata"].update(bogus=1), r"at \[metadata\]: Additional properties .*'bogus'"),
    (lambda p: p["spec"]["containers"][0].update(env=[{"value": "x"}]), r"spec.containers.0.env.0.*'name'"),
    (lambda p: p["spec"].update(activeDeadlineSeconds="60"), r"spec.activeDeadlineSeconds.*'60'"),
    (lambda p: p["spec"]["containers"][0].update(securityContext={"runAsNonRoot": "yes"}), r"runAsNonRoot"),
    (lambda p: p.update(spec={"containers": [{"name": "task", "image": "i", "resource": {}}]}), r"'resource'"),
])
def test_the_schema_refuses_unknown_fields_and_wrong_types(change, where):
    pod = json.loads(json.dumps(POD))
    change(pod)
    with pytest.raises(ManifestError, match=where):
        check_manifest(pod)


def test_models_of_the_official_client_are_checked_as_they_go_on_the_wire():
    pod = k8s.V1Pod(api_version="v1", kind="Pod", metadata=k8s.V1ObjectMeta(name="p"),
                    spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="task", image="img:1")]))
    assert check_manifest(pod) == {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                   "spec": {"containers": [{"image": "img:1", "name": "task"}]}}
    with pytest.raises(ManifestError, match="needs apiVersion and kind"):
        check_manifest(k8s.V1Pod(metadata=k8s.V1ObjectMeta(name="p")))


def test_the_check_needs_no_network():
    """Every socket connection fails in this interpreter; the check still passes."""
    code = ("import socket\n"
            "def refuse(*a, **k): raise OSError('no network in this test')\n"
            "socket.socket.connect = refuse; socket.create_connection = refuse\n"
            "from tests.support.k8s_schema import check_manifest\n"
            f"check_manifest({POD!r}); print('checked')\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "checked", result.stderr


def _exception(status: int, reason: str, body: dict | str) -> ApiException:
    exc = ApiException(status=status, reason=reason)
    exc.body = body if isinstance(body, str) else json.dumps(body)
    return exc


def test_a_refusal_names_the_object_the_answer_kubernetes_message_and_the_fix():
    error = cluster_failure("create", "Namespace ml-staging", _exception(403, "Forbidden", {
        "kind": "Status", "message": 'namespaces is forbidden: User "x" cannot create resource "namespaces"'}),
        "apply infra/kubernetes/rbac.yaml")
    assert isinstance(error, ClusterError) and error.status_code == 502
    assert str(error) == ('cannot create [Namespace ml-staging]: Kubernetes answered 403 Forbidden (namespaces is '
                          'forbidden: User "x" cannot create resource "namespaces"); apply infra/kubernetes/rbac.yaml')
    proxy = cluster_failure("create", "Namespace ml-staging", _exception(502, "Bad Gateway", "<html>proxy</html>"))
    assert str(proxy) == "cannot create [Namespace ml-staging]: Kubernetes answered 502 Bad Gateway"


def test_a_rejected_pod_carries_kubernetes_causes():
    rejected = pod_rejected("ml-staging", "p-0-abc", _exception(422, "Unprocessable Entity", {
        "kind": "Status", "message": 'Pod "p-0-abc" is invalid: spec.containers[0].env[0].name: Invalid value',
        "details": {"causes": [{"field": "spec.containers[0].env[0].name", "message": "Invalid value"}, "junk"]}}))
    assert isinstance(rejected, PodRejected) and isinstance(rejected, ClusterError)
    assert rejected.causes == [{"field": "spec.containers[0].env[0].name", "message": "Invalid value"}]
    assert str(rejected).startswith('Kubernetes refused pod [ml-staging/p-0-abc] as invalid: Pod "p-0-abc" is invalid')
