"""Pod specs and the pod launcher, over HTTP against a Kubernetes API emulator with the official client:
what `build_pod` makes fits the Kubernetes schema (strict) and is what the API server stores; AlreadyExists
and NotFound are real answers, and a pod the API server refuses surfaces with Kubernetes' own message.
The task token reaches the pod through a Secret of its own, owned by the pod."""

from __future__ import annotations

import base64

import pytest
from kubernetes.client.exceptions import ApiException

from chalicelib.dispatch import (
    KubernetesLauncher,
    PodLauncher,
    build_pod,
    build_token_secret,
    namespace_for,
    pod_name,
    token_secret_name,
)
from chalicelib.dispatch.errors import ClusterError, PodRejected
from tests.integration.dispatch.conftest import CONFIG
from tests.support.k8s_schema import check_manifest

pytestmark = pytest.mark.integration


def check_pod(pod):
    """The pod, after checking it against the Kubernetes schema in strict mode."""
    check_manifest(pod)
    return pod


def test_the_stored_pod_carries_everything_the_task_declares(kube, project, pod_request):
    # GIVEN a GPU, interruptible task with a timeout, env, secrets and a code bundle, on node "n2[17]"
    req = pod_request(node="n2[17]", attempt=1)
    # WHEN its pod is launched and read back
    secret = build_token_secret(req)
    check_manifest(secret)
    assert PodLauncher(kube).launch(check_pod(build_pod(req, CONFIG)), secret) is True
    pod = kube.read_namespaced_pod(pod_name(req.execution, "n2[17]", 1), f"{project}-production")
    spec, (container,) = pod.spec, pod.spec.containers
    # THEN placement, identity and lifecycle follow the project, domain and task
    assert pod.metadata.namespace == f"{project}-production"
    assert spec.service_account_name == "slipstream-production" and spec.automount_service_account_token is False
    assert spec.restart_policy == "Never"
    assert spec.active_deadline_seconds == 600 + CONFIG.deadline_slack_seconds  # a backstop: see PodConfig
    assert 0 < spec.termination_grace_period_seconds <= 30
    assert pod.metadata.labels == {
        "app.kubernetes.io/managed-by": "slipstream", "slipstream.dev/stack": "slipstream",
        "slipstream.dev/execution": req.execution.split("/")[2],
        "slipstream.dev/node": pod.metadata.labels["slipstream.dev/node"], "slipstream.dev/attempt": "1",
        "slipstream.dev/project": project, "slipstream.dev/domain": "production",
        "slipstream.dev/task": "pipelines.training.train"}
    assert pod.metadata.labels["slipstream.dev/node"].startswith("n2-17")
    assert pod.metadata.annotations["slipstream.dev/node-id"] == "n2[17]"
    assert pod.metadata.annotations["slipstream.dev/execution"] == req.execution
    assert set(pod.metadata.annotations) == {"slipstream.dev/node-id", "slipstream.dev/execution",
                                             "slipstream.dev/task-id", "slipstream.dev/timeout-seconds"}
    # the command runs the entrypoint on the attempt's data; the token is not in argv
    assert container.name == "task" and container.image == "registry.example/train:3"
    assert container.command == [
        "python", "-m", "slipstream.entrypoint", "--inputs", req.inputs_uri, "--outputs", req.outputs_prefix,
        "--task-module", "pipelines.training", "--task-name", "train",
        "--bundle", "s3://data/bundles/ml/production/abc.tar.gz"]
    assert req.task_token not in " ".join(container.command)
    env = {e.name: e for e in container.env}
    plain = {name: e.value for name, e in env.items() if e.value is not None}
    assert plain.items() >= {
        "MODE": "train", "SLIPSTREAM_HEARTBEAT_SECONDS": "30",
        "SLIPSTREAM_REGION": "eu-west-1", "SLIPSTREAM_DATA_BUCKET": "data", "SLIPSTREAM_EXECUTION": req.execution,
        "SLIPSTREAM_NODE": "n2[17]", "SLIPSTREAM_ATTEMPT": "1", "SLIPSTREAM_TASK_TIMEOUT_SECONDS": "600"}.items()
    assert {name for name in plain if not name.startswith("SLIPSTREAM_")} == {"MODE"}  # slipstream's own win
    assert req.task_token not in str(kube.api_client.sanitize_for_serialization(pod))  # nowhere in the pod
    secrets = {name: (e.value_from.secret_key_ref.name, e.value_from.secret_key_ref.key)
               for name, e in env.items() if e.value_from}
    assert secrets == {"SLIPSTREAM_SECRET_DB_PASSWORD": ("db", "password"),
                       "SLIPSTREAM_SECRET_WANDB_WANDB": ("wandb", "wandb"),
                       "SLIPSTREAM_TASK_TOKEN": (token_secret_name(pod.metadata.name), "token")}
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
    assert PodLauncher(kube).launch(check_pod(build_pod(req, CONFIG))) is True
    pod = kube.read_namespaced_pod(pod_name(req.execution, "n0", 0), f"{project}-production")
    container = pod.spec.containers[0]
    assert container.image == CONFIG.default_image and "--bundle" not in container.command
    assert container.resources.requests == {"cpu": "500m"} and container.resources.limits is None
    assert pod.spec.tolerations is None and pod.spec.affinity is None
    assert pod.spec.active_deadline_seconds is None
    assert [e.name for e in container.env if e.value_from] == ["SLIPSTREAM_TASK_TOKEN"]  # no task secrets


def test_the_last_attempt_of_an_interruptible_task_runs_on_demand(pod_request, task_spec):
    task = task_spec(container={"requests": {"cpu": "1"}, "limits": {}}, metadata={"retries": 2})

    def tolerated(attempt: int) -> set[str]:
        pod = check_pod(build_pod(pod_request(task=task, attempt=attempt), CONFIG))
        return {t.key for t in pod.spec.tolerations or []}

    assert tolerated(0) == tolerated(1) == {"eks.amazonaws.com/capacityType"}
    assert tolerated(2) == set()  # spot reclaims cannot use up the retries
    assert build_pod(pod_request(task=task, attempt=2), CONFIG).spec.affinity is None


def test_a_gpu_limit_alone_is_also_the_request(kube, project, pod_request, task_spec):
    req = pod_request(task=task_spec(container={"requests": {"cpu": "1"}, "limits": {"gpu": "2"}}))
    assert PodLauncher(kube).launch(check_pod(build_pod(req, CONFIG))) is True
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
    with pytest.raises(ClusterError, match=rf"nobody-production.*POST /api/v1/projects/{req.project}/provision"
                       ) as failure:
        PodLauncher(kube).launch(pod)
    assert not isinstance(failure.value, PodRejected)
    assert isinstance(failure.value.__cause__, ApiException) and failure.value.__cause__.status == 404


def test_every_example_task_makes_a_pod_kubernetes_accepts(kube, project, pod_request, examples_on_path):
    from slipstream.collect import collect_specs

    specs = collect_specs([str(examples_on_path)], project=project, domain="production", version="v1")
    tasks = [s for s in specs if s["kind"] == "task"]
    assert len(tasks) >= 30 and {t["task_type"] for t in tasks} == {"python", "dynamic"}
    launcher = PodLauncher(kube)
    for task in tasks:
        for attempt in sorted({0, task["metadata"]["retries"]}):  # the last attempt may leave spot capacity
            req = pod_request(node="n1", attempt=attempt, task=task)
            assert launcher.launch(check_pod(build_pod(req, CONFIG))) is True, task["id"]["name"]
    configured = next(t for t in tasks if t["id"]["name"] == "reliability.configured")
    stored = kube.list_namespaced_pod(f"{project}-production",
                                      label_selector="slipstream.dev/task=reliability.configured").items
    limits = {p.spec.containers[0].resources.limits["memory"] for p in stored}
    assert limits == {configured["container"]["limits"]["mem"]}


@pytest.mark.parametrize("container", [
    {"requests": {"cpu": "250m", "mem": "64Mi", "ephemeral_storage": "1Gi"}, "limits": {"cpu": "2", "mem": "1Gi"}},
    {"requests": {"cpu": "1.5", "mem": "1e9"}, "limits": {"gpu": "4"}},
    {"requests": {}, "limits": {}, "environment": {"my.env-name": "x", "MY_ENV.NAME": "y", "_x": ""}},
    {"secrets": [{"group": "db-creds", "key": "password"}, {"group": "api.token", "key": None}]},
])
def test_pods_of_varied_tasks_fit_the_schema_and_the_api_server(kube, pod_request, task_spec, container):
    req = pod_request(task=task_spec(container=container))
    assert KubernetesLauncher(kube, CONFIG).launch(req) is True
    check_pod(build_pod(req, CONFIG))


def _rejected(kube, req) -> PodRejected:
    with pytest.raises(PodRejected) as rejected:
        KubernetesLauncher(kube, CONFIG).launch(req)
    assert isinstance(rejected.value.__cause__, ApiException)
    assert rejected.value.namespace == namespace_for(req.project, req.domain)
    assert rejected.value.name == pod_name(req.execution, req.node_id, req.attempt)
    return rejected.value


def test_an_env_var_name_kubernetes_refuses_surfaces_its_message(kube, pod_request, task_spec):
    # GIVEN a task whose environment names a variable "1BAD" (IsEnvVarName: must not start with a digit)
    req = pod_request(task=task_spec(container={"environment": {"1BAD": "x"}}))
    # WHEN its pod is launched THEN the API server's 422 reaches the caller, field and rule named
    rejected = _rejected(kube, req)
    assert rejected.__cause__.status == 422
    assert 'Invalid value: "1BAD": a valid environment variable name must consist of alphabetic characters' \
           in str(rejected)
    assert "must not start with a digit" in str(rejected) and "register a new version" in str(rejected)
    (cause,) = rejected.causes
    assert cause["reason"] == "FieldValueInvalid" and cause["field"] == "spec.containers[0].env[0].name"
    assert kube.list_namespaced_pod(namespace_for(req.project, req.domain)).items == []  # nothing was created


def test_a_quantity_kubernetes_cannot_read_surfaces_its_message(kube, pod_request, task_spec):
    """A spec stored before registration checked quantities: the API server cannot decode the pod (400)."""
    req = pod_request(task=task_spec(container={"requests": {"mem": "4GB"}, "limits": {}}))
    rejected = _rejected(kube, req)
    assert rejected.__cause__.status == 400
    assert 'Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression' \
           in str(rejected)


def test_a_request_above_its_limit_surfaces_kubernetes_message(kube, pod_request, task_spec):
    req = pod_request(task=task_spec(container={"requests": {"mem": "2Gi"}, "limits": {"mem": "1Gi"}}))
    rejected = _rejected(kube, req)
    assert "spec.containers[0].resources.requests: Invalid value: \"2Gi\": must be less than or equal to memory " \
           "limit of 1Gi" in str(rejected)


def test_a_pod_that_breaks_the_namespace_pod_security_level_is_a_cluster_error(kube, pod_request):
    """Provisioned namespaces enforce `restricted`; a pod config that gave that up is refused with a 403."""
    from dataclasses import replace

    req = pod_request()
    with pytest.raises(ClusterError, match=r'violates PodSecurity "restricted:latest": runAsUser=0.*restricted Pod '
                                           r"Security Standard, which build_pod must meet") as refused:
        PodLauncher(kube).launch(build_pod(req, replace(CONFIG, run_as_user=0)))
    assert not isinstance(refused.value, PodRejected) and refused.value.__cause__.status == 403


def secret_of(kube, pod):
    return kube.read_namespaced_secret(token_secret_name(pod.metadata.name), pod.metadata.namespace)


def test_the_token_is_in_an_immutable_secret_that_its_pod_owns_and_takes_along(kube, project, pod_request,
                                                                              task_spec):
    # GIVEN a task whose own environment tries to set the token
    req = pod_request(task=task_spec(container={"environment": {"SLIPSTREAM_TASK_TOKEN": "forged"}}))
    # WHEN its attempt is launched
    assert KubernetesLauncher(kube, CONFIG).launch(req) is True
    pod = kube.read_namespaced_pod(pod_name(req.execution, req.node_id, req.attempt), f"{project}-production")
    # THEN the pod reads its token from its own Secret, which holds the token and nothing else
    (token,) = [e for e in pod.spec.containers[0].env if e.name == "SLIPSTREAM_TASK_TOKEN"]
    assert token.value is None and token.value_from.secret_key_ref.name == token_secret_name(pod.metadata.name)
    secret = secret_of(kube, pod)
    assert secret.immutable is True and secret.string_data is None  # folded into data, as the API server does
    assert {k: base64.b64decode(v).decode() for k, v in secret.data.items()} == {"token": req.task_token}
    assert PodLauncher(kube).read_token(pod.metadata.namespace, pod.metadata.name) == req.task_token
    # AND the pod owns it, so it goes when the pod goes
    (owner,) = secret.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid) == ("Pod", pod.metadata.name, pod.metadata.uid)
    assert PodLauncher(kube).delete(pod.metadata.namespace, pod.metadata.name) is True
    assert PodLauncher(kube).read_token(pod.metadata.namespace, pod.metadata.name) is None
    with pytest.raises(ApiException) as gone:
        secret_of(kube, pod)
    assert gone.value.status == 404


def test_a_launch_interrupted_after_the_secret_is_completed_by_the_redelivered_message(kube, project, pod_request):
    req = pod_request()
    namespace = namespace_for(req.project, req.domain)
    kube.create_namespaced_secret(namespace, build_token_secret(req))  # the dispatcher died right after this
    assert KubernetesLauncher(kube, CONFIG).launch(req) is True
    pod = kube.read_namespaced_pod(pod_name(req.execution, req.node_id, req.attempt), namespace)
    assert secret_of(kube, pod).metadata.owner_references[0].uid == pod.metadata.uid
    # and one that died after the pod, before the owner patch: the pod exists, the Secret is owned anyway
    other = pod_request(req.execution, node="n1")
    kube.create_namespaced_secret(namespace, build_token_secret(other))
    kube.create_namespaced_pod(namespace, build_pod(other, CONFIG))
    assert KubernetesLauncher(kube, CONFIG).launch(other) is False
    pod = kube.read_namespaced_pod(pod_name(other.execution, "n1", 0), namespace)
    assert secret_of(kube, pod).metadata.owner_references[0].uid == pod.metadata.uid


def test_a_pod_the_cluster_refuses_leaves_no_token_behind(kube, pod_request, task_spec):
    req = pod_request(task=task_spec(container={"environment": {"1BAD": "x"}}))
    with pytest.raises(PodRejected):
        KubernetesLauncher(kube, CONFIG).launch(req)
    namespace = namespace_for(req.project, req.domain)
    assert token_secret_name(pod_name(req.execution, req.node_id, req.attempt)) not in {
        s.metadata.name for s in kube.list_namespaced_secret(namespace).items}
