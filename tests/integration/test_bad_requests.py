"""Bad input never makes the API answer 5xx: every malformed request is a 4xx in the one error shape
`{"error": {"code", "message"}}`, and the body limit is the sandbox's `Settings.max_body_bytes`."""

from __future__ import annotations

import json

import pytest

from tests.integration import sdk_entities as sdk
from tests.integration.api_http import DOMAIN, error_of, send

pytestmark = pytest.mark.integration


def post(api, path: str, body: bytes, content_type: str = "application/json"):
    return send(api.config.api_url, "POST", path, body, content_type)


def test_malformed_json_is_400_in_the_api_shape(api):
    error = error_of(post(api, "/api/v1/register", b'{"specs": [}'), 400)
    assert error["code"] == "ValidationError" and "not valid JSON" in error["message"]


@pytest.mark.parametrize("body", [b"", b"   \n\t "])
def test_an_empty_body_is_400(api, body):
    error = error_of(post(api, "/api/v1/register", body), 400)
    assert "empty" in error["message"]


def test_a_body_that_is_not_utf8_is_400(api):
    error = error_of(post(api, "/api/v1/register", b'{"specs": ["\xff\xfe"]}'), 400)
    assert "not valid JSON" in error["message"]


@pytest.mark.parametrize("path, body", [
    ("/api/v1/projects", b'{"name": "lone-surrogate", "description": "\\ud800"}'),
    ("/api/v1/register", b'{"specs": [{"kind": "task", "id": {"name": "\\udfff"}}]}'),
    ("/api/v1/executions", b'{"project": "default", "domain": "development", "workflow": {"name": "x"}, '
                           b'"inputs": {"s": "a\\ud800b"}}'),
])
def test_a_lone_surrogate_is_400_and_stores_nothing(api, path, body):
    error = error_of(post(api, path, body), 400)
    assert "not valid Unicode" in error["message"] and "lone surrogate" in error["message"]
    assert "lone-surrogate" not in {p["name"] for p in api.list_projects()}


def test_a_body_just_over_the_limit_is_413(api, sandbox):
    limit = sandbox.settings.max_body_bytes
    assert limit == 6 * 1024 * 1024
    body = b'{"specs": []}' + b" " * (limit + 1 - len(b'{"specs": []}'))
    assert len(body) == limit + 1
    error = error_of(post(api, "/api/v1/register", body), 413)
    assert error["code"] == "PayloadTooLarge" and str(limit) in error["message"]


def test_a_body_at_the_limit_is_read(api, sandbox):
    limit = sandbox.settings.max_body_bytes
    body = b'{"specs": []}' + b" " * (limit - len(b'{"specs": []}'))
    error = error_of(post(api, "/api/v1/register", body), 400)  # read, then refused for being empty
    assert "non-empty list of specs" in error["message"]


def test_every_write_route_has_the_body_limit(api, sandbox):
    body = b" " * (sandbox.settings.max_body_bytes + 1)
    for path in ("/api/v1/projects", "/api/v1/tasks", "/api/v1/dataproxy/upload_location", "/api/v1/executions"):
        error_of(post(api, path, body), 413)


def test_more_specs_than_a_batch_holds_is_400(api, project):
    task = sdk.one(sdk.specs(project), "task", sdk.DOUBLE)
    specs = [{**task, "id": {**task["id"], "version": f"v{i}"}} for i in range(1001)]
    error = error_of(post(api, "/api/v1/register", json.dumps({"specs": specs}).encode()), 400)
    assert "at most 1000" in error["message"]
    error_of(send(api.config.api_url, "GET", f"/api/v1/tasks/{project}/{DOMAIN}/{sdk.DOUBLE}/v0"), 404)


TASK = json.dumps(sdk.one(sdk.specs("default"), "task", sdk.DOUBLE)).encode()

BAD_REQUESTS = {
    # /api/v1/register
    "register-not-json": ("POST", "/api/v1/register", b"{not json"),
    "register-truncated": ("POST", "/api/v1/register", TASK[:-3]),
    "register-null": ("POST", "/api/v1/register", b"null"),
    "register-list": ("POST", "/api/v1/register", b"[1, 2]"),
    "register-string": ("POST", "/api/v1/register", b'"specs"'),
    "register-empty-specs": ("POST", "/api/v1/register", b'{"specs": []}'),
    "register-specs-string": ("POST", "/api/v1/register", b'{"specs": "x"}'),
    "register-specs-object": ("POST", "/api/v1/register", b'{"specs": {"kind": "task"}}'),
    "register-spec-number": ("POST", "/api/v1/register", b'{"specs": [1]}'),
    "register-spec-null": ("POST", "/api/v1/register", b'{"specs": [null]}'),
    "register-kind-only": ("POST", "/api/v1/register", b'{"specs": [{"kind": "task"}]}'),
    "register-unknown-kind": ("POST", "/api/v1/register", b'{"specs": [{"kind": "pipeline"}]}'),
    "register-id-not-object": ("POST", "/api/v1/register", b'{"specs": [{"kind": "workflow", "id": 5}]}'),
    "register-nan": ("POST", "/api/v1/register", b'{"specs": NaN}'),
    "register-deeply-nested": ("POST", "/api/v1/register", b"[" * 100_000 + b"]" * 100_000),
    "register-huge-integer": ("POST", "/api/v1/register", b'{"specs": ' + b"7" * 5000 + b"}"),
    # /api/v1/{tasks,workflows,launch_plans}
    "tasks-list-body": ("POST", "/api/v1/tasks", b"[" + TASK + b"]"),
    "tasks-string-body": ("POST", "/api/v1/tasks", b'"task"'),
    "tasks-number-body": ("POST", "/api/v1/tasks", b"5"),
    "tasks-null-body": ("POST", "/api/v1/tasks", b"null"),
    "tasks-spec-number": ("POST", "/api/v1/tasks", b'{"specs": [1]}'),
    "tasks-empty-object": ("POST", "/api/v1/tasks", b"{}"),
    "workflows-empty-specs": ("POST", "/api/v1/workflows", b'{"specs": []}'),
    "launch-plans-specs-string": ("POST", "/api/v1/launch_plans", b'{"specs": "x"}'),
    "workflows-a-task": ("POST", "/api/v1/workflows", TASK),
    # projects
    "project-no-name": ("POST", "/api/v1/projects", b'{"description": "x"}'),
    "project-name-number": ("POST", "/api/v1/projects", b'{"name": 5}'),
    "project-list": ("POST", "/api/v1/projects", b"[]"),
    "project-bad-description": ("POST", "/api/v1/projects", b'{"name": "never-made", "description": []}'),
    "project-get-bad-name": ("GET", "/api/v1/projects/NO", None),
    # upload locations
    "upload-list": ("POST", "/api/v1/dataproxy/upload_location", b"[]"),
    "upload-no-digest": ("POST", "/api/v1/dataproxy/upload_location",
                         b'{"project": "default", "domain": "development"}'),
    # reads and listings
    "get-bad-version": ("GET", f"/api/v1/tasks/default/{DOMAIN}/x/bad%20version", None),
    "get-unknown": ("GET", f"/api/v1/workflows/default/{DOMAIN}/x/v1", None),
    "versions-bad-limit": ("GET", f"/api/v1/tasks/default/{DOMAIN}/x?limit=0", None),
    "versions-bad-token": ("GET", f"/api/v1/tasks/default/{DOMAIN}/x?token=%%%", None),
    "names-bad-domain": ("GET", "/api/v1/workflow_ids/default/DEV", None),
    # executions
    "execution-empty-object": ("POST", "/api/v1/executions", b"{}"),
    "execution-list": ("POST", "/api/v1/executions", b"[]"),
    "execution-no-target": ("POST", "/api/v1/executions", b'{"project": "default", "domain": "development"}'),
    "execution-target-string": ("POST", "/api/v1/executions",
                                b'{"project": "default", "domain": "development", "workflow": "x"}'),
    "execution-unknown-workflow": ("POST", "/api/v1/executions",
                                   b'{"project": "default", "domain": "development", "workflow": {"name": "x"}}'),
    "execution-inputs-list": ("POST", "/api/v1/executions",
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

