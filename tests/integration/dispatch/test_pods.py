"""Pod specs and the pod launcher, over HTTP against a Kubernetes API emulator with the official client:
what `build_pod` makes is what the API server stores, and AlreadyExists / NotFound are real answers."""

from __future__ import annotations

import uuid

import pytest
from kubernetes.client.exceptions import ApiException

from chalicelib.dispatch import KubernetesLauncher, PodLauncher, build_pod, namespace_for, pod_name
from chalicelib.errors import SlipstreamError
from tests.integration.dispatch.conftest import CONFIG

pytestmark = pytest.mark.integration


def test_the_stored_pod_carries_everything_the_task_declares(kube, project, pod_request):
    # GIVEN a GPU, interruptible task with a timeout, env, secrets and a code bundle, on node "n2[17]"
    req = pod_request(node="n2[17]", attempt=1)
    # WHEN its pod is launched and read back
    assert PodLauncher(kube).launch(build_pod(req, CONFIG)) is True
    pod = kube.read_namespaced_pod(pod_name(req.execution, "n2[17]", 1), f"{project}-production")
    spec, (container,) = pod.spec, pod.spec.containers
    # THEN placement, identity and lifecycle follow the project, domain and task
    assert pod.metadata.namespace == f"{project}-production"
    assert spec.service_account_name == "slipstream-production" and spec.automount_service_account_token is False
    assert spec.restart_policy == "Never" and spec.active_deadline_seconds == 600
    assert 0 < spec.termination_grace_period_seconds <= 30
    assert pod.metadata.labels == {
        "app.kubernetes.io/managed-by": "slipstream", "slipstream.dev/execution": req.execution.split("/")[2],
        "slipstream.dev/node": pod.metadata.labels["slipstream.dev/node"], "slipstream.dev/attempt": "1",
        "slipstream.dev/project": project, "slipstream.dev/domain": "production",
        "slipstream.dev/task": "pipelines.training.train"}
    assert pod.metadata.labels["slipstream.dev/node"].startswith("n2-17")
    assert pod.metadata.annotations["slipstream.dev/node-id"] == "n2[17]"
    assert pod.metadata.annotations["slipstream.dev/execution"] == req.execution
    assert pod.metadata.annotations["slipstream.dev/task-token"] == req.task_token
    # the command runs the entrypoint on the attempt's data; the token is not in argv
    assert container.name == "task" and container.image == "registry.example/train:3"
    assert container.command == [
        "python", "-m", "slipstream.entrypoint", "--inputs", req.inputs_uri, "--outputs", req.outputs_prefix,
        "--task-module", "pipelines.training", "--task-name", "train",
        "--bundle", "s3://data/bundles/ml/production/abc.tar.gz"]
    assert req.task_token not in " ".join(container.command)
    env = {e.name: e for e in container.env}
    assert {name: e.value for name, e in env.items() if e.value is not None} == {
        "MODE": "train", "SLIPSTREAM_HEARTBEAT_SECONDS": "30", "SLIPSTREAM_TASK_TOKEN": req.task_token,
        "SLIPSTREAM_REGION": "eu-west-1", "SLIPSTREAM_DATA_BUCKET": "data", "SLIPSTREAM_EXECUTION": req.execution,
        "SLIPSTREAM_NODE": "n2[17]", "SLIPSTREAM_ATTEMPT": "1"}
    secrets = {name: (e.value_from.secret_key_ref.name, e.value_from.secret_key_ref.key)
               for name, e in env.items() if e.value_from}
    assert secrets == {"SLIPSTREAM_SECRET_DB_PASSWORD": ("db", "password"),
                       "SLIPSTREAM_SECRET_WANDB_WANDB": ("wandb", "wandb")}
    # resources: Kubernetes' names; the GPU request is also a limit, as Kubernetes requires
    assert container.resources.requests == {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}
    assert container.resources.limits == {"memory": "8Gi", "ephemeral-storage": "20Gi", "nvidia.com/gpu": "1"}
    # scheduling: GPU and spot taints tolerated, spot preferred (attempt 1 of 3 is not the last)
    assert {(t.key, t.operator, t.value, t.effect) for t in spec.tolerations} == {
        ("nvidia.com/gpu", "Exists", None, "NoSchedule"),
        ("eks.amazonaws.com/capacityType", "Equal", "SPOT", "NoSchedule")}
    (preferred,) = spec.affinity.node_affinity.preferred_during_scheduling_ignored_during_execution
    (expression,) = preferred.preference.match_expressions
    assert (expression.key, expression.operator) == ("eks.amazonaws.com/capacityType", "In")
    assert expression.values == ["SPOT"]
    assert spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution is None
    security = container.security_context
    assert security.run_as_non_root is True and security.allow_privilege_escalation is False
    assert security.capabilities.drop == ["ALL"] and security.seccomp_profile.type == "RuntimeDefault"


def test_a_plain_task_gets_the_default_image_and_no_scheduling_extras(kube, project, pod_request, task_spec):
    task = task_spec(container={"image": None, "bundle": None, "requests": {"cpu": "500m"}, "limits": {},
                                "environment": {}, "secrets": []},
                     metadata={"interruptible": False, "timeout_seconds": None, "retries": 0})
    req = pod_request(task=task)
    assert PodLauncher(kube).launch(build_pod(req, CONFIG)) is True
    pod = kube.read_namespaced_pod(pod_name(req.execution, "n0", 0), f"{project}-production")
    container = pod.spec.containers[0]
    assert container.image == CONFIG.default_image and "--bundle" not in container.command
    assert container.resources.requests == {"cpu": "500m"} and container.resources.limits is None
    assert pod.spec.tolerations is None and pod.spec.affinity is None
    assert pod.spec.active_deadline_seconds is None
    assert not [e for e in container.env if e.value_from]


def test_the_last_attempt_of_an_interruptible_task_runs_on_demand(pod_request, task_spec):
    task = task_spec(container={"requests": {"cpu": "1"}, "limits": {}}, metadata={"retries": 2})

    def tolerated(attempt: int) -> set[str]:
        pod = build_pod(pod_request(task=task, attempt=attempt), CONFIG)
        return {t.key for t in pod.spec.tolerations or []}

    assert tolerated(0) == tolerated(1) == {"eks.amazonaws.com/capacityType"}
    assert tolerated(2) == set()  # spot reclaims cannot use up the retries
    assert build_pod(pod_request(task=task, attempt=2), CONFIG).spec.affinity is None


def test_a_gpu_limit_alone_is_also_the_request(kube, project, pod_request, task_spec):
    req = pod_request(task=task_spec(container={"requests": {"cpu": "1"}, "limits": {"gpu": "2"}}))
    assert PodLauncher(kube).launch(build_pod(req, CONFIG)) is True
    container = kube.read_namespaced_pod(pod_name(req.execution, "n0", 0), f"{project}-production").spec.containers[0]
    assert container.resources.requests == {"cpu": "1", "nvidia.com/gpu": "2"}
    assert container.resources.limits == {"nvidia.com/gpu": "2"}


def test_the_same_attempt_cannot_start_a_second_pod(kube, pod_request):
    req = pod_request()
    launcher = KubernetesLauncher(kube, CONFIG)
    assert launcher.launch(req) is True
    assert launcher.launch(req) is False  # AlreadyExists: a redelivered dispatch message
    with pytest.raises(ApiException) as raw:  # the API server's own answer, as the launcher sees it
        kube.create_namespaced_pod(namespace_for(req.project, req.domain), build_pod(req, CONFIG))
    assert raw.value.status == 409 and '"reason": "AlreadyExists"' in raw.value.body
    assert launcher.launch(pod_request(req.execution, attempt=1)) is True  # a retry is a new pod


def test_deleting_a_missing_pod_is_an_answer_not_an_error(kube, project, pod_request):
    launcher = PodLauncher(kube)
    pod = build_pod(pod_request(), CONFIG)
    assert launcher.delete(f"{project}-production", pod.metadata.name) is False  # NotFound
    launcher.launch(pod)
    assert launcher.delete(f"{project}-production", pod.metadata.name) is True
    assert launcher.delete(f"{project}-production", pod.metadata.name) is False


def test_terminating_an_execution_deletes_its_pods_and_its_dynamic_childrens_only(kube, project, pod_request):
    mine = pod_request()
    child = pod_request(f"{mine.execution}/n3", node="n0")  # a dynamic task's child execution
    other = pod_request()
    launcher = KubernetesLauncher(kube, CONFIG)
    for req in (mine, pod_request(mine.execution, node="n1"), child, other):
        assert launcher.launch(req) is True
    name = mine.execution.split("/")[2]
    assert launcher.stop_execution(project, "production", name) == 3
    left = {p.metadata.name for p in kube.list_namespaced_pod(f"{project}-production").items}
    assert left == {pod_name(other.execution, "n0", 0)}
    assert launcher.pods.delete_execution_pods(f"{project}-production", name) == 0


def test_a_missing_namespace_fails_with_the_fix_named(kube, pod_request):
    req = pod_request()
    pod = build_pod(req, CONFIG)
    pod.metadata.namespace = "nobody-production"
    with pytest.raises(SlipstreamError, match=r"nobody-production.*ensure_namespace") as failure:
        PodLauncher(kube).launch(pod)
    assert isinstance(failure.value.__cause__, ApiException) and failure.value.__cause__.status == 404


def test_ensure_namespace_creates_once(kube):
    launcher = PodLauncher(kube)
    name = f"fresh{uuid.uuid4().hex[:8]}-development"
    assert launcher.ensure_namespace(name) is True
    assert launcher.ensure_namespace(name) is False
    labels = kube.read_namespace(name).metadata.labels
    assert labels == {"app.kubernetes.io/managed-by": "slipstream"}
