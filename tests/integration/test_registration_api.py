"""The registration API over HTTP, with DynamoDB and S3 in moto's server: immutability, idempotent
re-registration, conflicts, default launch plans, pagination, and every error path."""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request

import pytest

from chalicelib.errors import ConflictError, NotFoundError, PayloadTooLargeError, ValidationError
from slipstream.collect import collect_specs
from tests.conftest import EXAMPLES
from tests.integration.api_http import executions_path, kind_path, register_path, upload_path

pytestmark = pytest.mark.integration


def hello_specs(project: str, version: str = "v1", domain: str = "development") -> list[dict]:
    return collect_specs([str(EXAMPLES / "hello.py")], project=project, domain=domain, version=version)


def by_kind(specs: list[dict], kind: str, name: str | None = None) -> dict:
    return next(s for s in specs if s["kind"] == kind and (name is None or s["id"]["name"] == name))


def raw(api, method: str, path: str, body: bytes | None) -> tuple[int, dict]:
    request = urllib.request.Request(api.config.api_url + path, data=body, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_projects_have_three_domains_and_names_are_unique(api, project):
    assert api.get_project(project)["domains"] == ["development", "staging", "production"]
    assert project in {p["name"] for p in api.list_projects()}
    with pytest.raises(ConflictError, match=rf"project \[{project}\] already exists"):
        api.create_project(project)
    with pytest.raises(ValidationError, match=r"project \[Bad_Name!\] is not valid"):
        api.create_project("Bad_Name!")
    with pytest.raises(NotFoundError, match="create it with `slipstream create project"):
        api.get_project("no-such-project")


def test_register_creates_then_identical_registration_changes_nothing(api, project):
    specs = hello_specs(project)
    first = api.register(specs)
    assert {(r["kind"], r["status"]) for r in first} == {("task", "created"), ("workflow", "created"),
                                                          ("launch_plan", "created")}
    stored = api.get_entity("workflow", project, "development", "hello.my_wf", "v1")
    again = api.register(specs)
    assert {r["status"] for r in again} == {"unchanged"}
    assert api.get_entity("workflow", project, "development", "hello.my_wf", "v1") == stored
    assert stored["spec"] == by_kind(specs, "workflow")


def test_every_workflow_gets_a_default_launch_plan(api, project):
    api.register(hello_specs(project))
    plan = api.get_entity("launch_plan", project, "development", "hello.my_wf", "v1")["spec"]
    assert plan["workflow"]["name"] == "hello.my_wf"
    assert plan["fixed_inputs"] == plan["default_inputs"] == {}


def test_different_content_under_a_taken_version_is_a_conflict_and_harms_nothing(api, project):
    specs = hello_specs(project)
    api.register(specs)
    before = api.get_entity("task", project, "development", "hello.t1", "v1")
    changed = copy.deepcopy(by_kind(specs, "task", "hello.t1"))
    changed["metadata"]["retries"] = 3
    with pytest.raises(ConflictError, match=r"task \[.*hello.t1@v1\] is already registered with different "
                                            r"content; versions are immutable: register under a new version"):
        api.register([changed])
    assert api.get_entity("task", project, "development", "hello.t1", "v1") == before


def test_workflows_compile_against_tasks_registered_earlier(api, project):
    specs = hello_specs(project)
    api.register([s for s in specs if s["kind"] == "task"])
    results = api.register([by_kind(specs, "workflow")])
    assert {(r["kind"], r["status"]) for r in results} == {("workflow", "created"), ("launch_plan", "created")}


def test_a_bad_batch_is_refused_whole(api, project):
    specs = hello_specs(project)
    workflow = copy.deepcopy(by_kind(specs, "workflow"))
    workflow["nodes"][1]["task"]["name"] = "hello.missing"
    with pytest.raises(ValidationError, match=r"calls task \[.*hello.missing@v1\], which is neither registered"):
        api.register([*[s for s in specs if s["kind"] == "task"], workflow])
    for name in ("hello.t1", "hello.t2"):
        with pytest.raises(NotFoundError):
            api.get_entity("task", project, "development", name, "v1")


@pytest.mark.parametrize("mutate, message", [
    (lambda wf: wf["nodes"][1]["inputs"].update(a={"value": 5}), r"input \[a\]: expected str"),
    (lambda wf: (wf["nodes"][0].update(upstream=["n1"])), "cycle"),
    (lambda wf: wf["id"].update(name="bad name"), r"malformed at \[id/name\]"),
    (lambda wf: wf["nodes"][0]["inputs"].update(zzz={"input": "a"}), r"has no input \[zzz\]"),
])
def test_compile_errors_are_400_with_a_message(api, project, mutate, message):
    specs = hello_specs(project)
    workflow = copy.deepcopy(by_kind(specs, "workflow"))
    mutate(workflow)
    with pytest.raises(ValidationError, match=message):
        api.register([*[s for s in specs if s["kind"] == "task"], workflow])


def test_launch_plans_are_checked_against_their_workflow(api, project):
    specs = collect_specs([str(EXAMPLES / "launch_plans.py")], project=project, domain="development", version="v1")
    api.register(specs)
    plan = copy.deepcopy(by_kind(specs, "launch_plan", "nightly_greeting"))
    plan["id"]["version"] = "v2"
    plan["fixed_inputs"] = {"nobody": "x"}
    with pytest.raises(ValidationError, match=r"fixed input \[nobody\] is not an input"):
        api.register([plan])
    orphan = {**plan, "fixed_inputs": {}, "workflow": {**plan["workflow"], "version": "v9"}}
    with pytest.raises(ValidationError, match="neither registered nor in this batch"):
        api.register([orphan])


def test_domains_and_projects_must_exist(api, project):
    with pytest.raises(ValidationError, match=r"domain \[qa\] is not a domain of project"):
        api.register(hello_specs(project, domain="qa"))
    with pytest.raises(NotFoundError, match=r"project \[nowhere\] does not exist"):
        api.register(hello_specs("nowhere"))


def test_per_kind_routes_accept_only_their_kind(api, project):
    specs = hello_specs(project)
    task = by_kind(specs, "task")
    assert api.request("POST", kind_path("task", project), task)["entities"][0]["status"] == "created"
    with pytest.raises(ValidationError, match="registers task specs only"):
        api.request("POST", kind_path("task", project), by_kind(specs, "workflow"))


def test_names_and_versions_are_listed_newest_first_with_pages(api, project):
    task = by_kind(hello_specs(project), "task", "hello.t2")
    versions = [{**task, "id": {**task["id"], "version": f"v{i:02d}"}} for i in range(25)]
    for spec in versions:  # one at a time, so registration order is version order
        api.register([spec])
    seen, token = [], None
    while True:
        page = api.list_versions("task", project, "development", "hello.t2", limit=10, token=token)
        assert len(page["entities"]) <= 10
        seen += [e["id"]["version"] for e in page["entities"]]
        token = page["token"]
        if not token:
            break
    assert seen == [f"v{i:02d}" for i in reversed(range(25))]
    names = api.list_names("task", project, "development")["entities"]
    assert names == [{"name": "hello.t2", "latest_version": "v24", "updated_at": names[0]["updated_at"]}]


@pytest.mark.parametrize("params, message", [
    ({"token": "not-a-token"}, "not a valid page token"), ({"limit": 0}, "limit"), ({"limit": 5000}, "limit"),
    ({"limit": "ten"}, "limit"),
])
def test_bad_pagination_parameters(api, project, params, message):
    with pytest.raises(ValidationError, match=message):
        api.request("GET", f"/api/v1/tasks/{project}/development/hello.t1", params=params)


def test_unknown_entities_are_404(api, project):
    with pytest.raises(NotFoundError, match="is not registered"):
        api.get_entity("workflow", project, "development", "nope", "v1")


@pytest.mark.parametrize("method, path, body", [
    ("POST", register_path("default"), b"{not json"),
    ("POST", register_path("default"), b""),
    ("POST", register_path("default"), b'{"specs": []}'),
    ("POST", register_path("default"), b'{"specs": [{"kind": "task"}]}'),
    ("POST", register_path("default"), b'{"specs": "x"}'),
    ("POST", register_path("default"), b'[1, 2]'),
    ("POST", "/api/v1/projects", b'{"description": 5}'),
    ("POST", "/api/v1/projects", b'{"name": "ok-name", "description": 5}'),
    ("POST", executions_path("default"), b'{"project": "other"}'),
    ("POST", executions_path("default"), b'{"project": "default", "domain": "development", "workflow": "x"}'),
    ("POST", upload_path("default"), b'{"project": "default", "domain": "development"}'),
    ("GET", "/api/v1/tasks/Bad_Project/development/x/y", None),
    ("GET", "/api/v1/executions/default/development?phase=SLEEPING", None),
])
def test_bad_requests_are_4xx_in_one_shape_never_5xx(api, method, path, body):
    status, payload = raw(api, method, path, body)
    assert 400 <= status < 500, payload
    assert set(payload["error"]) == {"code", "message"} and payload["error"]["message"]


def test_oversized_bodies_are_413(api, sandbox):
    limit = sandbox.settings.max_body_bytes
    body = json.dumps({"specs": ["x" * (limit + 10)]}).encode()
    status, payload = raw(api, "POST", register_path("default"), body)
    assert status == 413 and payload["error"]["code"] == PayloadTooLargeError.code


def test_upload_locations_are_content_addressed(api, project):
    digest = "ab" * 32
    location = api.request("POST", upload_path(project), {"digest": digest})
    assert location["exists"] is False and location["uri"].endswith(f"{digest}.tar.gz")
    put = urllib.request.Request(location["upload_url"], data=b"bundle", method="PUT",
                                 headers={"Content-Type": "application/gzip"})
    urllib.request.urlopen(put, timeout=30).close()
    again = api.request("POST", upload_path(project), {"digest": digest})
    assert again["exists"] is True and again["upload_url"] is None
