"""Bad input never makes the API answer 5xx: every malformed request is a 4xx in the one error shape
`{"error": {"code", "message"}}`, and the body limit is the sandbox's `Settings.max_body_bytes`."""

from __future__ import annotations

import json

import pytest

from tests.integration import sdk_entities as sdk
from tests.integration.api_http import DOMAIN, error_of, executions_path, kind_path, register_path, send, upload_path

pytestmark = pytest.mark.integration

REGISTER = register_path("default")
EXECUTIONS = executions_path("default")


def post(api, path: str, body: bytes, content_type: str = "application/json"):
    return send(api.config.api_url, "POST", path, body, content_type)


def test_malformed_json_is_400_in_the_api_shape(api):
    error = error_of(post(api, REGISTER, b'{"specs": [}'), 400)
    assert error["code"] == "ValidationError" and "not valid JSON" in error["message"]


@pytest.mark.parametrize("body", [b"", b"   \n\t "])
def test_an_empty_body_is_400(api, body):
    error = error_of(post(api, REGISTER, body), 400)
    assert "empty" in error["message"]


def test_a_body_that_is_not_utf8_is_400(api):
    error = error_of(post(api, REGISTER, b'{"specs": ["\xff\xfe"]}'), 400)
    assert "not valid JSON" in error["message"]


@pytest.mark.parametrize("path, body", [
    ("/api/v1/projects", b'{"name": "lone-surrogate", "description": "\\ud800"}'),
    (REGISTER, b'{"specs": [{"kind": "task", "id": {"name": "\\udfff"}}]}'),
    (EXECUTIONS, b'{"project": "default", "domain": "development", "workflow": {"name": "x"}, '
                 b'"inputs": {"s": "a\\ud800b"}}'),
])
def test_a_lone_surrogate_is_400_and_stores_nothing(api, path, body):
    error = error_of(post(api, path, body), 400)
    assert "not valid Unicode" in error["message"] and "lone surrogate" in error["message"]
    assert "lone-surrogate" not in {p["name"] for p in api.list_projects()}


@pytest.mark.parametrize("name", ["bundles", "uploads", "specs", "closures", "plans"])
def test_a_project_named_like_the_buckets_own_prefixes_is_400(api, name):
    error = error_of(post(api, "/api/v1/projects", json.dumps({"name": name}).encode()), 400)
    assert f"project name [{name}] is reserved" in error["message"]
    assert name not in {p["name"] for p in api.list_projects()}


def test_a_body_just_over_the_limit_is_413(api, sandbox):
    limit = sandbox.settings.max_body_bytes
    assert limit == 6 * 1024 * 1024
    body = b'{"specs": []}' + b" " * (limit + 1 - len(b'{"specs": []}'))
    assert len(body) == limit + 1
    error = error_of(post(api, REGISTER, body), 413)
    assert error["code"] == "PayloadTooLarge" and str(limit) in error["message"]


def test_a_body_at_the_limit_is_read(api, sandbox):
    limit = sandbox.settings.max_body_bytes
    body = b'{"specs": []}' + b" " * (limit - len(b'{"specs": []}'))
    error = error_of(post(api, REGISTER, body), 400)  # read, then refused for being empty
    assert "non-empty list of specs" in error["message"]


def test_every_write_route_has_the_body_limit(api, sandbox):
    body = b" " * (sandbox.settings.max_body_bytes + 1)
    for path in ("/api/v1/projects", REGISTER, kind_path("task", "default"), upload_path("default"), EXECUTIONS):
        error_of(post(api, path, body), 413)


def test_more_specs_than_a_batch_holds_is_400(api, project):
    task = sdk.one(sdk.specs(project), "task", sdk.DOUBLE)
    specs = [{**task, "id": {**task["id"], "version": f"v{i}"}} for i in range(1001)]
    error = error_of(post(api, register_path(project), json.dumps({"specs": specs}).encode()), 400)
    assert "at most 1000" in error["message"]
    error_of(send(api.config.api_url, "GET", f"/api/v1/tasks/{project}/{DOMAIN}/{sdk.DOUBLE}/v0"), 404)


TASK = json.dumps(sdk.one(sdk.specs("default"), "task", sdk.DOUBLE)).encode()

BAD_REQUESTS = {
    # /api/v1/projects/{project}/domains/{domain}/register
    "register-not-json": ("POST", REGISTER, b"{not json"),
    "register-truncated": ("POST", REGISTER, TASK[:-3]),
    "register-null": ("POST", REGISTER, b"null"),
    "register-list": ("POST", REGISTER, b"[1, 2]"),
    "register-string": ("POST", REGISTER, b'"specs"'),
    "register-empty-specs": ("POST", REGISTER, b'{"specs": []}'),
    "register-specs-string": ("POST", REGISTER, b'{"specs": "x"}'),
    "register-specs-object": ("POST", REGISTER, b'{"specs": {"kind": "task"}}'),
    "register-spec-number": ("POST", REGISTER, b'{"specs": [1]}'),
    "register-spec-null": ("POST", REGISTER, b'{"specs": [null]}'),
    "register-kind-only": ("POST", REGISTER, b'{"specs": [{"kind": "task"}]}'),
    "register-unknown-kind": ("POST", REGISTER, b'{"specs": [{"kind": "pipeline"}]}'),
    "register-id-not-object": ("POST", REGISTER, b'{"specs": [{"kind": "workflow", "id": 5}]}'),
    "register-nan": ("POST", REGISTER, b'{"specs": NaN}'),
    "register-deeply-nested": ("POST", REGISTER, b"[" * 100_000 + b"]" * 100_000),
    "register-huge-integer": ("POST", REGISTER, b'{"specs": ' + b"7" * 5000 + b"}"),
    # /api/v1/{tasks,workflows,launch_plans}/{project}/{domain}
    "tasks-list-body": ("POST", kind_path("task", "default"), b"[" + TASK + b"]"),
    "tasks-string-body": ("POST", kind_path("task", "default"), b'"task"'),
    "tasks-number-body": ("POST", kind_path("task", "default"), b"5"),
    "tasks-null-body": ("POST", kind_path("task", "default"), b"null"),
    "tasks-spec-number": ("POST", kind_path("task", "default"), b'{"specs": [1]}'),
    "tasks-empty-object": ("POST", kind_path("task", "default"), b"{}"),
    "workflows-empty-specs": ("POST", kind_path("workflow", "default"), b'{"specs": []}'),
    "launch-plans-specs-string": ("POST", kind_path("launch_plan", "default"), b'{"specs": "x"}'),
    "workflows-a-task": ("POST", kind_path("workflow", "default"), TASK),
    # projects
    "project-no-name": ("POST", "/api/v1/projects", b'{"description": "x"}'),
    "project-name-number": ("POST", "/api/v1/projects", b'{"name": 5}'),
    "project-list": ("POST", "/api/v1/projects", b"[]"),
    "project-bad-description": ("POST", "/api/v1/projects", b'{"name": "never-made", "description": []}'),
    "project-get-bad-name": ("GET", "/api/v1/projects/NO", None),
    # upload locations
    "upload-list": ("POST", upload_path("default"), b"[]"),
    "upload-no-digest": ("POST", upload_path("default"),
                         b'{"project": "default", "domain": "development"}'),
    # reads and listings
    "get-bad-version": ("GET", f"/api/v1/tasks/default/{DOMAIN}/x/bad%20version", None),
    "get-unknown": ("GET", f"/api/v1/workflows/default/{DOMAIN}/x/v1", None),
    "versions-bad-limit": ("GET", f"/api/v1/tasks/default/{DOMAIN}/x?limit=0", None),
    "versions-bad-token": ("GET", f"/api/v1/tasks/default/{DOMAIN}/x?token=%%%", None),
    "names-bad-domain": ("GET", "/api/v1/workflow_ids/default/DEV", None),
    # executions
    "execution-empty-object": ("POST", EXECUTIONS, b"{}"),
    "execution-list": ("POST", EXECUTIONS, b"[]"),
    "execution-no-target": ("POST", EXECUTIONS, b'{"project": "default", "domain": "development"}'),
    "execution-target-string": ("POST", EXECUTIONS,
                                b'{"project": "default", "domain": "development", "workflow": "x"}'),
    "execution-unknown-workflow": ("POST", EXECUTIONS,
                                   b'{"project": "default", "domain": "development", "workflow": {"name": "x"}}'),
    "execution-inputs-list": ("POST", EXECUTIONS,
                              b'{"project": "default", "domain": "development", "workflow": {"name": "x"}, '
                              b'"inputs": []}'),
    "executions-bad-phase": ("GET", f"/api/v1/executions/default/{DOMAIN}?phase=SLEEPING", None),
    "executions-bad-limit": ("GET", f"/api/v1/executions/default/{DOMAIN}?limit=5000", None),
    "executions-bad-token": ("GET", f"/api/v1/executions/default/{DOMAIN}?token=nope", None),
    "execution-unknown": ("GET", f"/api/v1/executions/default/{DOMAIN}/xnothere", None),
    "execution-logs-no-node": ("GET", f"/api/v1/executions/default/{DOMAIN}/xnothere/logs", None),
    "execution-terminate-unknown": ("POST", f"/api/v1/executions/default/{DOMAIN}/xnothere/terminate", b"{}"),
    "execution-relaunch-list": ("POST", f"/api/v1/executions/default/{DOMAIN}/xnothere/relaunch", b"[1]"),
}


@pytest.mark.parametrize("method, path, body", list(BAD_REQUESTS.values()), ids=list(BAD_REQUESTS))
def test_bad_requests_are_4xx_in_the_api_shape(api, method, path, body):
    status, payload = send(api.config.api_url, method, path, body)
    assert 400 <= status < 500, (status, payload)
    assert isinstance(payload, dict) and set(payload) == {"error"}, payload
    assert set(payload["error"]) == {"code", "message"} and payload["error"]["message"]

