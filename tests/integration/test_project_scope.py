"""A request acts in its path's project and domain (chalicelib.scope): IAM policies see only the path, so a
body that names another project-domain, or a spec that references another's entity, is refused whole."""

from __future__ import annotations

import copy
import uuid

import pytest

from slipstream.serialization import SerializationSettings, serialize
from tests.integration import sdk_entities as sdk
from tests.integration.api_http import (
    DOMAIN,
    call,
    error_of,
    executions_path,
    kind_path,
    register_path,
    upload_path,
)
from tests.integration.test_register_entities import assert_none_stored

pytestmark = pytest.mark.integration


@pytest.fixture()
def other(api) -> str:
    """A second tenant's project, with the pipeline's tasks registered in it."""
    name = "tenant-" + uuid.uuid4().hex[:8]
    api.create_project(name)
    api.register([s for s in sdk.specs(name) if s["kind"] == "task"])
    return name


def test_a_workflow_calling_another_projects_task_is_400_and_stores_nothing(api, project, other):
    specs = sdk.specs(project)
    workflow = sdk.one(specs, "workflow", sdk.PIPELINE)
    workflow["nodes"][0]["task"]["project"] = other  # that task exists, registered by the other tenant
    error = error_of(call(api, "POST", register_path(project), {"specs": specs}), 400)
    assert f"workflow node [n0] task names project [{other}] but the path is /{project}/{DOMAIN}" in error["message"]
    assert_none_stored(api, project, specs)


def test_a_workflow_calling_another_domains_task_is_400(api, project):
    api.register(copy.deepcopy(serialize([sdk.double], SerializationSettings(project, "staging", "v1"))))
    workflow = sdk.one(sdk.specs(project), "workflow", sdk.PIPELINE)
    workflow["nodes"][0]["task"]["domain"] = "staging"
    error = error_of(call(api, "POST", kind_path("workflow", project), workflow), 400)
    assert "names domain [staging]" in error["message"]


def test_a_task_inside_a_branch_is_checked_too(api, project, other):
    specs = sdk.specs(project)
    workflow = sdk.one(specs, "workflow", sdk.PIPELINE)
    inner = copy.deepcopy(workflow["nodes"][0])
    inner["task"]["project"] = other
    workflow["nodes"].append({"id": "n9", "kind": "branch", "upstream": [], "inputs": {}, "name": "b",
                              "cases": [{"condition": {}, "then": inner}], "else": None, "else_fail": "no"})
    error = error_of(call(api, "POST", register_path(project), {"specs": specs}), 400)
    assert f"task names project [{other}]" in error["message"]


def test_a_launch_plan_of_another_projects_workflow_is_400(api, project, other):
    api.register(sdk.specs(other))
    plan = sdk.one(sdk.specs(project), "launch_plan", sdk.FIXED)
    plan["workflow"]["project"] = other
    error = error_of(call(api, "POST", kind_path("launch_plan", project), plan), 400)
    assert f"launch_plan [workflow] names project [{other}]" in error["message"]
    assert_none_stored(api, project, [plan])


@pytest.mark.parametrize("field", ["project", "domain"])
def test_a_spec_of_another_scope_than_the_path_is_400_on_every_registration_route(api, project, other, field):
    task = sdk.one(sdk.specs(project), "task", sdk.DOUBLE)
    task["id"][field] = other if field == "project" else "staging"
    for path in (register_path(project), kind_path("task", project)):
        error = error_of(call(api, "POST", path, {"specs": [task]}), 400)
        assert f"task [id] names {field} [" in error["message"] and "but the path is" in error["message"]


@pytest.mark.parametrize("field, value", [("project", "someone-else"), ("domain", "production")])
def test_an_execution_body_naming_another_scope_is_400(api, project, field, value):
    body = {"project": project, "domain": DOMAIN, "workflow": {"name": sdk.PIPELINE}, "inputs": {"n": 1}, field: value}
    error = error_of(call(api, "POST", executions_path(project), body), 400)
    assert f"the body names {field} [{value}] but the path is /{project}/{DOMAIN}" in error["message"]


def test_an_execution_body_may_leave_the_scope_to_the_path(api, project):
    api.register(sdk.specs(project))
    status, execution = call(api, "POST", executions_path(project),
                             {"workflow": {"name": sdk.PIPELINE}, "inputs": {"n": 2}, "name": "scoped-by-path"})
    assert status == 201, execution
    assert execution["id"] == {"project": project, "domain": DOMAIN, "name": "scoped-by-path"}


def test_an_upload_location_body_naming_another_project_is_400(api, project, other):
    error = error_of(call(api, "POST", upload_path(project), {"project": other, "digest": "c" * 64}), 400)
    assert f"names project [{other}]" in error["message"]


def test_the_client_sends_each_project_domain_to_its_own_path(api, project):
    """One call, specs of two domains: two requests, each registered where its path says."""
    development = sdk.one(sdk.specs(project), "task", sdk.DOUBLE)
    staging = copy.deepcopy(serialize([sdk.shout], SerializationSettings(project, "staging", "v1")))[0]
    sent = api.requests_sent
    results = api.register([development, staging])
    assert api.requests_sent - sent == 2
    assert [(r["id"]["domain"], r["status"]) for r in results] == [(DOMAIN, "created"), ("staging", "created")]
    assert api.get_entity("task", project, "staging", sdk.SHOUT, "v1")["spec"] == staging
