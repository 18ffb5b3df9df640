"""What one reconciler pass asks of the API server, over HTTP through the official client: only its own
deployment's pods (label selectors), page by page (limit/continue), succeeded pods removed with one
deletecollection per namespace whatever their number; and the emulator reads selectors, pages and
collection deletes as the API server does, refusing what it refuses."""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from chalicelib.dispatch import KubernetesLauncher, Reconciler, build_pod
from tests.integration.dispatch.conftest import CONFIG
from tests.integration.dispatch.test_reconciler import STATES, Recorder

pytestmark = pytest.mark.integration


class CountingClient(k8s.ApiClient):
    """The official ApiClient, recording (method, path) of every request it sends."""

    def __init__(self, configuration: k8s.Configuration) -> None:
        super().__init__(configuration)
        self.requests: list[tuple[str, str]] = []

    def call_api(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self.requests.append((method, urllib.parse.urlsplit(url).path))
        return super().call_api(method, url, *args, **kwargs)


@pytest.fixture()
def counted(kube) -> tuple[k8s.CoreV1Api, CountingClient]:
    client = CountingClient(kube.api_client.configuration)
    return k8s.CoreV1Api(client), client


def launch(kube, pod_request, execution: str, node: str, state: str, config=CONFIG) -> Any:
    request = pod_request(execution, node=node)
    assert KubernetesLauncher(kube, config).launch(request) is True
    pod = build_pod(request, config)
    if STATES[state] is not None:
        kube.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, {"status": STATES[state]})
    return pod


def names_in(kube, namespace: str) -> set[str]:
    return {p.metadata.name for p in kube.list_namespaced_pod(namespace).items}


def test_a_pass_costs_the_same_requests_for_one_succeeded_pod_as_for_six(kube, project, pod_request, counted):
    namespace = f"{project}-production"
    execution = pod_request().execution
    requests = []
    for succeeded in (1, 6):
        # GIVEN `succeeded` pods that succeeded and one that was OOMKilled
        pods = [launch(kube, pod_request, execution, f"s{succeeded}-{i}", "done") for i in range(succeeded)]
        launch(kube, pod_request, execution, f"oom{succeeded}", "oom")
        core, client = counted
        client.requests.clear()
        # WHEN the reconciler passes over the namespace
        counts = Reconciler(core, Recorder()).run_once(namespace)
        # THEN every pod is gone, and the requests made do not depend on how many succeeded
        assert counts == {"seen": 1, "failed": 1, "deleted": succeeded + 1, "active": 0, "errors": 0}
        assert not names_in(kube, namespace) & {pod.metadata.name for pod in pods}
        requests.append(sorted(method for method, _ in client.requests))
    assert requests[0] == requests[1] == ["DELETE", "DELETE", "GET", "GET"]  # list, secret, delete, collection


def test_pods_of_another_deployment_on_the_cluster_are_never_read_or_deleted(kube, project, pod_request):
    namespace = f"{project}-production"
    execution = pod_request().execution
    other = dataclasses.replace(CONFIG, stack="staging-stack")
    theirs = [launch(kube, pod_request, execution, node, state, other) for node, state in
              (("t-done", "done"), ("t-oom", "oom"))]
    ours = launch(kube, pod_request, execution, "o-done", "done")
    failed = Recorder()
    counts = Reconciler(kube, failed).run_once()  # every namespace: ours only
    assert ours.metadata.name not in names_in(kube, namespace)
    assert {pod.metadata.name for pod in theirs} <= names_in(kube, namespace) and failed.calls == []
    assert theirs[0].metadata.labels["slipstream.dev/stack"] == "staging-stack" and counts["deleted"] >= 1
    # and their own reconciler handles them
    assert Reconciler(kube, failed, stack="staging-stack").run_once(namespace)["deleted"] == 2
    assert len(failed.calls) == 1


def test_a_pass_reads_pods_page_by_page(kube, project, pod_request, counted):
    namespace = f"{project}-production"
    execution = pod_request().execution
    for i in range(5):
        launch(kube, pod_request, execution, f"r{i}", "running")
    core, client = counted
    counts = Reconciler(core, Recorder(), page_size=2).run_once(namespace)
    assert counts["seen"] == counts["active"] == 5
    assert [m for m, path in client.requests if path.endswith("/pods") and m == "GET"] == ["GET"] * 3


def refused(call: Any, *args: Any, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(ApiException) as answer:
        call(*args, **kwargs)
    body = json.loads(answer.value.body)
    assert body["kind"] == "Status" and body["code"] == answer.value.status
    return answer.value.status, body["message"]


@pytest.mark.parametrize(("label_selector", "message"), [
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("app in a", "unable to parse requirement: found 'a', expected: '('"),
    ("app=a b!", "found 'b', expected: ',' or 'end of string'"),
    ("app=-x", 'unable to parse requirement: values[0][-x]: Invalid value: "-x": a valid label must be'),
    ("a/b/c=x", 'unable to parse requirement: key: Invalid value: "a/b/c"'),
    ("n>x", "for 'Gt', 'Lt' operators, the value must be an integer"),
    ("app=a,", "found 'end of string', expected: identifier after ','"),
])
def test_a_label_selector_the_api_server_cannot_parse_is_a_400(kube, project, label_selector, message):
    status, text = refused(kube.list_namespaced_pod, f"{project}-production", label_selector=label_selector)
    assert status == 400 and message in text


@pytest.mark.parametrize(("field_selector", "message"), [
    ("status.hostIP=10.0.0.1", "field label not supported: status.hostIP"),
    ("metadata.labels=x", "field label not supported: metadata.labels"),
    ("status.phase", "invalid selector: 'status.phase'; can't understand 'status.phase'"),
    ("status.phase in (Failed)", "can't understand"),
    ("metadata.name=a\\qb", "invalid escape sequence"),
])
def test_a_field_selector_the_api_server_refuses_is_a_400(kube, project, field_selector, message):
    status, text = refused(kube.list_namespaced_pod, f"{project}-production", field_selector=field_selector)
    assert status == 400 and message in text
    status, text = refused(kube.delete_collection_namespaced_pod, f"{project}-production",
                           field_selector=field_selector)
    assert status == 400 and message in text


def test_selectors_select_as_the_api_server_does(kube, project, pod_request):
    namespace = f"{project}-production"
    execution = pod_request().execution
    pods = {state: launch(kube, pod_request, execution, state, state) for state in ("done", "oom", "running")}

    def listed(**selectors: str) -> set[str]:
        return {next(n for n, p in pods.items() if p.metadata.name == pod.metadata.name)
                for pod in kube.list_namespaced_pod(namespace, **selectors).items}

    assert listed(field_selector="status.phase!=Succeeded") == {"oom", "running"}
    assert listed(field_selector="status.phase==Failed,spec.restartPolicy=Never") == {"oom"}
    assert listed(field_selector=f"metadata.name={pods['done'].metadata.name}") == {"done"}
    assert listed(label_selector="slipstream.dev/node in (oom, running),!nothing") == {"oom", "running"}
    assert listed(label_selector="slipstream.dev/node notin (oom),slipstream.dev/attempt<1") == {"done", "running"}
    assert listed(label_selector="slipstream.dev/attempt>0") == set()
    assert listed(label_selector="slipstream.dev/stack", field_selector="status.phase=Running") == {"running"}


def test_limit_and_continue_page_as_the_api_server_does(kube, project, pod_request):
    namespace = f"{project}-production"
    execution = pod_request().execution
    names = sorted(launch(kube, pod_request, execution, f"p{i}", "running").metadata.name for i in range(5))
    first = kube.list_namespaced_pod(namespace, limit=2)
    assert [p.metadata.name for p in first.items] == names[:2]  # key order
    assert first.metadata.remaining_item_count == 3 and first.metadata._continue
    second = kube.list_namespaced_pod(namespace, limit=2, _continue=first.metadata._continue)
    third = kube.list_namespaced_pod(namespace, limit=2, _continue=second.metadata._continue)
    assert [p.metadata.name for p in second.items + third.items] == names[2:]
    assert third.metadata._continue is None
    narrowed = kube.list_namespaced_pod(namespace, limit=2, label_selector="slipstream.dev/node=p0")
    assert narrowed.metadata.remaining_item_count is None  # unknown when a selector narrows the list
    assert refused(kube.list_namespaced_pod, namespace, _continue="not-a-token")[0] == 400
    status, text = refused(kube.list_namespaced_pod, namespace, _continue=first.metadata._continue,
                           resource_version="12")
    assert (status, text) == (400, "specifying resource version is not allowed when using continue")


def test_deletecollection_answers_the_deleted_pods_and_takes_their_secrets(kube, project, pod_request):
    namespace = f"{project}-production"
    execution = pod_request().execution
    done = launch(kube, pod_request, execution, "done", "done")
    running = launch(kube, pod_request, execution, "running", "running")
    answer = kube.delete_collection_namespaced_pod(namespace, field_selector="status.phase=Succeeded",
                                                   _preload_content=False)
    deleted = json.loads(answer.data)
    assert deleted["kind"] == "PodList" and [p["metadata"]["name"] for p in deleted["items"]] == [done.metadata.name]
    assert names_in(kube, namespace) == {running.metadata.name}
    assert {s.metadata.name for s in kube.list_namespaced_secret(namespace).items} == {f"{running.metadata.name}-token"}


def test_the_cluster_wide_pods_path_refuses_deletecollection(kube):
    url = f"{kube.api_client.configuration.host}/api/v1/pods?labelSelector=a%3Db"
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"))
    assert answer.value.code == 405 and json.loads(answer.value.read())["reason"] == "MethodNotAllowed"
