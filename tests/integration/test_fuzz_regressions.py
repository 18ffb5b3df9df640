"""What the OpenAPI fuzzer (tests/integration/test_api_fuzz.py) found, and what review of the same routes
found beside it, kept as plain requests: each was a 5xx or an answer the document does not allow, and is now
a 4xx that names the mistake. Those that needed an execution to exist (the fuzzer's names never do) use one."""

from __future__ import annotations

import uuid

import pytest

from slipstream.client import ApiClient
from tests.integration import sdk_entities as sdk
from tests.integration.api_http import DOMAIN, error_of, executions_path, kind_path, register_path, send, upload_path

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def execution(api_config) -> str:
    """`<project>/development/<name>` of an execution that exists."""
    api = ApiClient(api_config)
    project = "fuzz-" + uuid.uuid4().hex[:8]
    api.create_project(project)
    api.register(sdk.specs(project))
    api.create_execution({"project": project, "domain": DOMAIN, "workflow": {"name": sdk.PIPELINE},
                          "inputs": {"n": 1}, "name": "existing"})
    return f"{project}/{DOMAIN}/existing"


@pytest.mark.parametrize("kind", [b"{}", b"[]", b'["task"]', b"5", b"null"])
@pytest.mark.parametrize("route", ["batch", "per-kind"])
def test_a_spec_kind_that_is_not_a_string_is_400(api, route, kind):
    """Was 500: an object or list as `kind` is unhashable, and the check looked it up in a dict."""
    spec = b'{"kind": ' + kind + b', "schema_version": 1, "id": {"project": "default", "domain": "development", ' \
        b'"name": "a", "version": "v1"}}'
    path = register_path("default") if route == "batch" else kind_path("task", "default")
    body = b'{"specs": [' + spec + b"]}"
    error = error_of(send(api.config.api_url, "POST", path, body), 400)
    assert "kind" in error["message"]


def test_an_upload_location_of_an_unknown_project_is_a_documented_404(api):
    """Was an undocumented status: the document now lists 404 for this route."""
    body = b'{"digest": "' + b"a" * 64 + b'"}'
    error = error_of(send(api.config.api_url, "POST", upload_path("no-such-project"), body), 404)
    assert "project [no-such-project] does not exist" in error["message"]


@pytest.mark.parametrize("query", ["limit=5&limit=6", "token=a&token=b", "limit=5&limit="])
def test_a_query_parameter_given_twice_is_400(api, query):
    """Was 200 with the last value (`limit=…&limit=` listed a default page): ambiguous, so refused."""
    for path in (f"/api/v1/task_ids/default/{DOMAIN}", f"{executions_path('default')}"):
        error = error_of(send(api.config.api_url, "GET", f"{path}?{query}"), 400)
        assert "given 2 times; give it once" in error["message"]


@pytest.mark.parametrize("query, named", [("phase=", "phase [] is empty"), ("limit=", "limit [] must be a whole")])
def test_an_empty_phase_or_limit_is_400(api, query, named):
    """Were 200 (an empty phase or limit meant "any"/the default); the document says an enum and an integer."""
    error = error_of(send(api.config.api_url, "GET", f"{executions_path('default')}?{query}"), 400)
    assert named in error["message"]


@pytest.mark.parametrize("name", ["A", "x" * 41, "a_b", "-a", "a%0A"])
@pytest.mark.parametrize("suffix, method", [("", "GET"), ("/nodes", "GET"), ("/logs?node=n0", "GET"),
                                            ("/terminate", "POST"), ("/relaunch", "POST")])
def test_an_execution_name_that_is_not_one_is_400_on_every_route(api, name, suffix, method):
    """Names in paths are checked as the document states, before any store is asked (a key DynamoDB
    refuses would be a 5xx)."""
    path = f"{executions_path('default')}/{name}{suffix}"
    error = error_of(send(api.config.api_url, method, path, b"{}" if method == "POST" else None), 400)
    assert "execution name [" in error["message"]


@pytest.mark.parametrize("node", ["n0/", "a//b", "%2F", "x" * 129, "/".join(["n0"] * 9), "a%20b", "a%0A"])
def test_a_node_that_is_not_a_node_path_is_400(api, execution, node):
    """Was 500 for `n0/`: an empty segment is an empty DynamoDB key, which DynamoDB refuses (and AWS refuses a
    sort key over 1,024 bytes, which moto takes)."""
    error = error_of(send(api.config.api_url, "GET", f"/api/v1/executions/{execution}/logs?node={node}"), 400)
    assert "is not a node id" in error["message"]


@pytest.mark.parametrize("body", [b'{"name": 5}', b'{"name": ["a"]}', b"[1]", b'"a"'])
def test_a_relaunch_body_that_is_not_a_name_is_400(api, execution, body):
    """Was 500 (`{"name": 5}`: the new name was matched against a pattern as is)."""
    error = error_of(send(api.config.api_url, "POST", f"/api/v1/executions/{execution}/relaunch", body), 400)
    assert 'send {} or {"name": "<new execution name>"}' in error["message"]
