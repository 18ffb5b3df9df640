"""Task slots over HTTP against the Kubernetes API emulator: a namespace's ResourceQuota on pods refuses one
pod too many as the API server does (403, its message), the launcher turns that into NoCapacity, and the
retry of the same attempt, once a pod has ended, makes the same pod with the same token Secret."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from chalicelib.dispatch import KubernetesLauncher, PodLauncher, build_pod, token_secret_name
from chalicelib.dispatch.errors import ClusterError, NoCapacity
from chalicelib.dispatch.kube import quota_refusal
from chalicelib.dispatch.provisioner import NamespaceProvisioner
from tests.integration.dispatch.conftest import CONFIG, ROLE_PATTERN

pytestmark = pytest.mark.integration
QUOTA = "slipstream-tasks"


@pytest.fixture()
def two_slots(kube, project) -> str:
    """The test's project namespace with two task slots; its name."""
    NamespaceProvisioner(kube, ROLE_PATTERN, max_pods=2).provision(project, ["production"])
    return f"{project}-production"


def names(kube, namespace: str, kind: str = "pod") -> set[str]:
    listed = kube.list_namespaced_pod(namespace) if kind == "pod" else kube.list_namespaced_secret(namespace)
    return {item.metadata.name for item in listed.items}


def finish(kube, pod, phase: str = "Succeeded") -> None:
    """Play the kubelet: the pod's container ended."""
    kube.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, {"status": {"phase": phase}})


def test_the_emulator_refuses_a_pod_beyond_the_quota_in_the_api_servers_words(kube, two_slots, pod_request):
    pods = [build_pod(pod_request(node=f"n{i}"), CONFIG) for i in range(3)]
    for pod in pods[:2]:
        kube.create_namespaced_pod(two_slots, pod)
    with pytest.raises(ApiException) as refused:
        kube.create_namespaced_pod(two_slots, pods[2])
    status = json.loads(refused.value.body)
    assert (refused.value.status, status["reason"]) == (403, "Forbidden")
    assert status["message"] == (f'pods "{pods[2].metadata.name}" is forbidden: exceeded quota: {QUOTA}, '
                                 "requested: pods=1, used: pods=2, limited: pods=2")
    assert status["details"] == {"name": pods[2].metadata.name, "kind": "pods"}
    quota = kube.read_namespaced_resource_quota(QUOTA, two_slots)
    assert quota.status.hard == {"pods": "2"} and quota.status.used == {"pods": "2"}
    # quota admission comes before storage: a duplicate of a pod at the limit is refused the same way
    with pytest.raises(ApiException) as duplicate:
        kube.create_namespaced_pod(two_slots, pods[0])
    assert duplicate.value.status == 403 and "exceeded quota" in json.loads(duplicate.value.body)["message"]
    # a pod that ended holds no slot, whether it succeeded or failed
    finish(kube, pods[0], "Failed")
    assert kube.read_namespaced_resource_quota(QUOTA, two_slots).status.used == {"pods": "1"}
    kube.create_namespaced_pod(two_slots, pods[2])
    assert names(kube, two_slots) == {p.metadata.name for p in pods}


def test_a_quota_the_api_server_cannot_read_or_would_not_keep_is_refused(kube, project):
    namespace = f"{project}-production"
    body = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"}, "spec": {"hard": {"pods": "2x"}}}
    with pytest.raises(ApiException) as undecodable:
        kube.create_namespaced_resource_quota(namespace, body)
    assert undecodable.value.status == 400
    assert json.loads(undecodable.value.body)["message"].startswith(
        'ResourceQuota in version "v1" cannot be handled as a ResourceQuota: quantities must match')
    body["spec"]["hard"] = {"pods": "-1"}
    with pytest.raises(ApiException) as invalid:
        kube.create_namespaced_resource_quota(namespace, body)
    assert invalid.value.status == 422
    assert json.loads(invalid.value.body)["message"] == (
        'ResourceQuota "q" is invalid: spec.hard[pods]: Invalid value: "-1": must be greater than or equal to 0')


def test_the_launcher_reports_no_capacity_and_the_retry_reuses_the_attempts_names(kube, two_slots, pod_request):
    # GIVEN two tasks running in a namespace with two slots
    launcher = KubernetesLauncher(kube, CONFIG)
    first, second, third = (pod_request(node=f"n{i}") for i in range(3))
    assert launcher.launch(first) is True and launcher.launch(second) is True
    # WHEN a third is launched
    with pytest.raises(NoCapacity) as no_slot:
        launcher.launch(third)
    # THEN it waits: NoCapacity (not a failure) names the namespace and the quota, with Kubernetes' answer
    pod = build_pod(third, CONFIG)
    assert isinstance(no_slot.value, ClusterError) and isinstance(no_slot.value.__cause__, ApiException)
    message = str(no_slot.value)
    assert f"no task slot is free in namespace [{two_slots}] for pod [{pod.metadata.name}]" in message
    assert f"exceeded quota: {QUOTA}, requested: pods=1, used: pods=2, limited: pods=2" in message
    assert "SLIPSTREAM_MAX_RUNNING_TASKS" in message
    # and its token Secret stays, for the retry; no pod of it exists
    assert pod.metadata.name not in names(kube, two_slots)
    assert token_secret_name(pod.metadata.name) in names(kube, two_slots, "secret")
    # WHEN the first pod has ended and the same attempt is launched again (the run message came back)
    finish(kube, build_pod(first, CONFIG))
    assert launcher.launch(third) is True
    # THEN the same pod exists, its Secret owned by it and holding the attempt's token
    created = kube.read_namespaced_pod(pod.metadata.name, two_slots)
    secret = kube.read_namespaced_secret(token_secret_name(pod.metadata.name), two_slots)
    assert [o.uid for o in secret.metadata.owner_references] == [created.metadata.uid]
    assert PodLauncher(kube).read_token(two_slots, pod.metadata.name) == third.task_token


def test_a_redelivered_message_at_the_limit_finds_its_pod_instead_of_waiting(kube, two_slots, pod_request):
    launcher = KubernetesLauncher(kube, CONFIG)
    first, second = pod_request(node="n0"), pod_request(node="n1")
    assert launcher.launch(first) is True and launcher.launch(second) is True
    # the API server answers 403 (the quota is full), not 409: the launcher finds the pod exists
    assert launcher.launch(first) is False
    pod = build_pod(first, CONFIG)
    uid = kube.read_namespaced_pod(pod.metadata.name, two_slots).metadata.uid
    secret = kube.read_namespaced_secret(token_secret_name(pod.metadata.name), two_slots)
    assert [o.uid for o in secret.metadata.owner_references] == [uid]


def test_concurrent_launches_never_take_more_slots_than_the_quota_has(kube, two_slots, pod_request):
    from concurrent.futures import ThreadPoolExecutor

    requests = [pod_request(node=f"n{i}") for i in range(8)]
    launcher = KubernetesLauncher(kube, CONFIG)

    def launch(request) -> str:
        try:
            return "created" if launcher.launch(request) else "exists"
        except NoCapacity:
            return "no capacity"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(launch, requests))
    assert sorted(outcomes) == ["created"] * 2 + ["no capacity"] * 6
    assert len(names(kube, two_slots)) == 2


@pytest.mark.parametrize("status, message, waits", [
    (403, 'pods "p" is forbidden: exceeded quota: slipstream-tasks, requested: pods=1, used: pods=2, '
          'limited: pods=2', True),
    (403, 'pods "p" is forbidden: status unknown for quota: slipstream-tasks, resources: pods', True),
    (403, 'pods "p" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true', False),
    (403, 'pods "p" is forbidden: User "x" cannot create resource "pods" in API group "" in the namespace "n"', False),
    (422, 'exceeded quota: in some other words', False),
])
def test_only_quota_admissions_refusals_for_want_of_room_are_waits(status, message, waits):
    """A new quota refuses pods until its usage is first counted (`status unknown`): a wait too."""
    exc = ApiException(status=status, reason="Forbidden")
    exc.body = json.dumps({"kind": "Status", "status": "Failure", "message": message, "reason": "Forbidden",
                           "code": status})
    assert bool(quota_refusal(exc)) is waits
