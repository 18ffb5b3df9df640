"""Project creation over HTTP, when tasks run on Kubernetes: the sandbox's app and AWS (moto) with a
Kubernetes launcher pointed at the Kubernetes API emulator, as `chalicelib.services` wires EKS. Creating
a project makes its namespaces; a cluster that cannot be reached keeps the project and says how to
re-apply; `POST /api/v1/projects/{project}/provision` re-applies idempotently."""

from __future__ import annotations

import dataclasses
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import app as chalice_app
from chalicelib.dispatch import KubernetesLauncher, PodConfig
from chalicelib.services import Services
from tests.integration.api_http import call, error_of
from tests.support.kube_emulator import core_v1, start_emulator

pytestmark = pytest.mark.integration

DOMAINS = ["development", "staging", "production"]
PATTERN = "arn:aws:iam::123456789012:role/{stack}-task-{project}-{domain}"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    url, stop = start_emulator()
    yield url
    stop()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture()
def on_cluster(sandbox, emulator) -> Iterator[Callable[[str], None]]:
    """Serve the sandbox's app with services whose tasks run on the cluster at a URL (the emulator by default),
    as a stage with SLIPSTREAM_EKS_* set is wired; the sandbox's own services come back afterwards."""
    settings = dataclasses.replace(sandbox.settings, task_role_arn_pattern=PATTERN)

    def use(url: str) -> None:
        launcher = KubernetesLauncher(core_v1(url), PodConfig(default_image="img:1", region=settings.region,
                                                              data_bucket=settings.data_bucket))
        chalice_app.use_services(Services.build(settings, launcher=launcher))

    use(emulator)
    try:
        yield use
    finally:
        chalice_app.use_services(sandbox.services)


def fresh() -> str:
    return f"kube-{uuid.uuid4().hex[:10]}"


def objects_of(kube: Any, project: str) -> dict[str, dict[str, str]]:
    """Namespace → its service account's annotations, for the project's namespaces on the cluster."""
    found = {}
    for namespace in kube.list_namespace(label_selector=f"slipstream.dev/project={project}").items:
        name = namespace.metadata.name
        found[name] = kube.read_namespaced_service_account(f"slipstream-{name.rsplit('-', 1)[1]}", name) \
            .metadata.annotations
    return found


def test_creating_a_project_makes_a_namespace_and_service_account_per_domain(api, on_cluster, emulator, sandbox):
    name = fresh()
    status, body = call(api, "POST", "/api/v1/projects", {"name": name, "description": "on EKS"})
    assert status == 201, body
    assert body["name"] == name and body["domains"] == DOMAINS
    stack = sandbox.settings.name_prefix
    assert objects_of(core_v1(emulator), name) == {
        f"{name}-{d}": {"eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{stack}-task-{name}-{d}"}
        for d in DOMAINS}
    status, body = call(api, "POST", f"/api/v1/projects/{name}/provision")
    assert status == 200 and body["kubernetes"] is True
    per_domain = 3 if sandbox.settings.max_running_tasks else 2  # + the ResourceQuota of the task slots
    assert [o["outcome"] for o in body["objects"]] == ["unchanged"] * (3 * per_domain)


def test_an_unreachable_cluster_keeps_the_project_and_names_the_way_to_reapply(api, on_cluster, emulator, sandbox):
    name = fresh()
    on_cluster(closed_port_url())
    error = error_of(call(api, "POST", "/api/v1/projects", {"name": name}), 503)
    assert error["code"] == "ClusterUnreachable"
    assert error["message"].startswith(f"project [{name}] is stored, but its namespaces are not ready: ")
    assert "unreachable" in error["message"] and f"POST /api/v1/projects/{name}/provision" in error["message"]
    assert call(api, "GET", f"/api/v1/projects/{name}")[0] == 200
    assert error_of(call(api, "POST", f"/api/v1/projects/{name}/provision"), 503)["code"] == "ClusterUnreachable"
    # the cluster is back: provisioning applies everything, and creating again is still a conflict
    on_cluster(emulator)
    status, body = call(api, "POST", f"/api/v1/projects/{name}/provision")
    assert status == 200, body
    quota = {("ResourceQuota", "created")} if sandbox.settings.max_running_tasks else set()
    assert {(o["kind"], o["outcome"]) for o in body["objects"]} == {("Namespace", "created"),
                                                                    ("ServiceAccount", "created")} | quota
    assert len(body["objects"]) == 3 * (2 + len(quota))
    assert set(objects_of(core_v1(emulator), name)) == {f"{name}-{d}" for d in DOMAINS}
    assert error_of(call(api, "POST", "/api/v1/projects", {"name": name}), 409)["code"] == "Conflict"


def test_provisioning_a_missing_or_misnamed_project_is_a_4xx(api, on_cluster):
    missing = fresh()
    assert "does not exist" in error_of(call(api, "POST", f"/api/v1/projects/{missing}/provision"), 404)["message"]
    assert "project [Bad_Name]" in error_of(call(api, "POST", "/api/v1/projects/Bad_Name/provision"), 400)["message"]


def test_without_kubernetes_there_is_nothing_to_provision(api, project):
    """The sandbox runs tasks as local processes: projects need no namespaces."""
    status, body = call(api, "POST", f"/api/v1/projects/{project}/provision")
    assert status == 200 and body == {"project": project, "kubernetes": False, "objects": []}
