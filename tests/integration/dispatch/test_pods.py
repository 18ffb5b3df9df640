"""Pod specs and the pod launcher over HTTP against a Kubernetes API emulator (the official client)."""

from __future__ import annotations

import base64
import re
import urllib.parse
import uuid

import boto3
import pytest

from chalicelib.dispatch import (
    KubernetesLauncher,
    PodConfig,
    PodLauncher,
    PodRequest,
    Reconciler,
    build_pod,
    eks_bearer_token,
    pod_name,
)
from slipstream import Resources, Secret, task
from slipstream.serialization import SerializationSettings

pytestmark = pytest.mark.integration
CONFIG = PodConfig(default_image="registry/slipstream-task:1", region="eu-west-1", data_bucket="data")


@task(retries=2, timeout=600, interruptible=True, requests=Resources(cpu="2", mem="4Gi", gpu=1),
      limits=Resources(mem="8Gi", ephemeral_storage="20Gi"), environment={"MODE": "train"},
      secret_requests=[Secret("db", "password")], container_image="registry/train:3")
def train(epochs: int) -> float:
    return 0.0


def request(execution: str | None = None, node: str = "n0", attempt: int = 0, task_spec: dict | None = None):
    spec = task_spec or train.to_spec(SerializationSettings("ml", "production", "v1"))
    spec["container"]["bundle"] = "s3://data/bundles/ml/production/abc.tar.gz"
    execution = execution or f"ml/production/x{uuid.uuid4().hex[:8]}"
    return PodRequest(project="ml", domain="production", execution=execution,
                      node_id=node, attempt=attempt, task=spec, inputs_uri="s3://data/in.json",
                      outputs_prefix="s3://data/out/", task_token="token-" + uuid.uuid4().hex)


def test_pod_spec_carries_everything_the_task_declares(kube):
    req = request()
    pod = build_pod(req, CONFIG)
    assert PodLauncher(kube).launch(pod) is True
    stored = kube.read_namespaced_pod(pod.metadata.name, "ml-production")
    container = stored.spec.containers[0]
    assert stored.spec.service_account_name == "slipstream-production"
    assert stored.spec.restart_policy == "Never" and stored.spec.active_deadline_seconds == 600
    assert container.image == "registry/train:3"
    assert container.command[:3] == ["python", "-m", "slipstream.entrypoint"]
    assert "--bundle" in container.command and "--task-name" in container.command
    assert container.resources.requests == {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}
    assert container.resources.limits == {"memory": "8Gi", "ephemeral-storage": "20Gi", "nvidia.com/gpu": "1"}
    env = {e.name: e for e in container.env}
    assert env["MODE"].value == "train" and env["SLIPSTREAM_TASK_TOKEN"].value == req.task_token
    assert env["SLIPSTREAM_SECRET_DB_PASSWORD"].value_from.secret_key_ref.name == "db"
    assert {t.key for t in stored.spec.tolerations} == {"nvidia.com/gpu", "eks.amazonaws.com/capacityType"}
    assert stored.spec.affinity.node_affinity is not None
    assert stored.metadata.labels["slipstream.dev/node"] == "n0"
    assert stored.metadata.labels["slipstream.dev/attempt"] == "0"
    assert stored.metadata.annotations["slipstream.dev/task-token"] == req.task_token
    assert container.security_context.allow_privilege_escalation is False


def test_the_same_attempt_cannot_start_a_second_pod(kube):
    req = request()
    launcher = KubernetesLauncher(kube, CONFIG)
    assert launcher.launch(req) is True
    assert launcher.launch(req) is False  # AlreadyExists: a redelivered message
    assert launcher.launch(request(req.execution, attempt=1)) is True


def test_terminating_an_execution_deletes_only_its_pods(kube):
    mine, other = request(), request()
    launcher = KubernetesLauncher(kube, CONFIG)
    for req in (mine, request(mine.execution, node="n1"), other):
        launcher.launch(req)
    assert launcher.stop_execution("ml", "production", mine.execution.split("/")[2]) == 2
    names = {p.metadata.name for p in kube.list_namespaced_pod("ml-production").items}
    assert pod_name(other.execution, "n0", 0) in names
    assert pod_name(mine.execution, "n0", 0) not in names
    assert PodLauncher(kube).delete("ml-production", "no-such-pod") is False  # NotFound


@pytest.mark.parametrize("node_id", ["n0", "n3-0", "n1.n0", "n2.17", "n" + "x" * 200])
def test_pod_names_are_dns_labels_unique_per_attempt(node_id):
    names = {pod_name("p/d/" + "e" * 40, node_id, attempt) for attempt in range(3)}
    assert len(names) == 3
    assert all(len(n) <= 63 and re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", n) for n in names)


def _status(kube, pod, status: dict) -> None:
    kube.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, {"status": status})


def test_reconciler_fails_tokens_of_pods_that_died_and_removes_finished_pods(kube):
    failed: list[tuple[str, str, str]] = []
    launcher = PodLauncher(kube)
    cases = {
        "oom": {"phase": "Failed", "containerStatuses": [{"name": "task", "image": "i", "imageID": "", "ready": False,
                                                          "restartCount": 0, "state": {"terminated": {
                                                              "exitCode": 137, "reason": "OOMKilled"}}}]},
        "pull": {"phase": "Pending", "containerStatuses": [{"name": "task", "image": "i", "imageID": "", "ready": False,
                                                            "restartCount": 0, "state": {"waiting": {
                                                                "reason": "ImagePullBackOff"}}}]},
        "evicted": {"phase": "Failed", "reason": "Evicted"},
        "deadline": {"phase": "Failed", "reason": "DeadlineExceeded"},
        "done": {"phase": "Succeeded"},
        "running": {"phase": "Running"},
    }
    pods = {}
    for name, status in cases.items():
        pod = build_pod(request(node=name), CONFIG)
        pod.metadata.namespace = "reconcile"
        launcher.launch(pod)
        _status(kube, pod, status)
        pods[name] = pod
    counts = Reconciler(kube, lambda *args: failed.append(args)).run_once("reconcile")
    tokens = {p.metadata.annotations["slipstream.dev/task-token"]: n for n, p in pods.items()}
    assert {(tokens[t], error) for t, error, _ in failed} == {
        ("oom", "slipstream.SystemError"), ("pull", "slipstream.SystemError"),
        ("evicted", "slipstream.SystemError"), ("deadline", "slipstream.Timeout")}
    assert counts == {"failed": 4, "deleted": 5, "running": 1}
    remaining = {p.metadata.name for p in kube.list_namespaced_pod("reconcile").items}
    assert remaining == {pods["running"].metadata.name}
    assert Reconciler(kube, lambda *args: failed.append(args)).run_once("reconcile")["failed"] == 0
    assert len(failed) == 4


def test_eks_token_is_a_presigned_get_caller_identity_naming_the_cluster():
    sts = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                                region_name="us-east-1").client("sts")
    token = eks_bearer_token(sts, "prod-cluster")
    assert token.startswith("k8s-aws-v1.")
    encoded = token[len("k8s-aws-v1."):]
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert url.startswith("https://sts.") and query["Action"] == ["GetCallerIdentity"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0] and query["X-Amz-Expires"] == ["60"]
