"""Projects over HTTP: create, get, list, and the errors of each."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.integration.api_http import call, error_of

pytestmark = pytest.mark.integration

DOMAINS = ["development", "staging", "production"]


def fresh_name(prefix: str = "proj") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_create_answers_201_with_the_three_domains(api):
    name = fresh_name()
    status, body = call(api, "POST", "/api/v1/projects", {"name": name, "description": "made by a test"})
    assert status == 201, body
    assert body["name"] == name and body["description"] == "made by a test"
    assert body["domains"] == DOMAINS
    created = dt.datetime.fromisoformat(body["created_at"])
    assert created.tzinfo is not None
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=5)


def test_get_and_list_return_what_was_created(api):
    name = fresh_name()
    created = api.create_project(name, "described")
    assert api.get_project(name) == created
    listed = [p for p in api.list_projects() if p["name"] == name]
    assert listed == [created]


def test_description_defaults_to_empty(api):
    name = fresh_name()
    status, body = call(api, "POST", "/api/v1/projects", {"name": name})
    assert status == 201, body
    assert body["description"] == ""


def test_duplicate_create_is_409_and_keeps_the_original(api, project):
    original = api.get_project(project)
    error = error_of(call(api, "POST", "/api/v1/projects", {"name": project, "description": "other"}), 409)
    assert error["code"] == "Conflict"
    assert project in error["message"] and "already exists" in error["message"]
    assert api.get_project(project) == original


@pytest.mark.parametrize("name", ["Bad_Name!", "UPPER", "-leading", "trailing-", "has space", "", "a" * 41,
                                  "x\n", 5, None, ["list"]])
def test_bad_project_names_are_400(api, name):
    error = error_of(call(api, "POST", "/api/v1/projects", {"name": name}), 400)
    assert error["code"] == "ValidationError"
    assert "project" in error["message"]


def test_a_bad_name_creates_nothing(api):
    error_of(call(api, "POST", "/api/v1/projects", {"name": "Bad_Name!"}), 400)
    assert "Bad_Name!" not in {p["name"] for p in api.list_projects()}


@pytest.mark.parametrize("body", [{}, {"description": "no name"}, ["x"], "x",
                                  {"name": "never-created", "description": 5}])
def test_malformed_create_bodies_are_400(api, body):
    error = error_of(call(api, "POST", "/api/v1/projects", body), 400)
    assert error["code"] == "ValidationError"


def test_unknown_project_is_404_and_says_how_to_create_it(api):
    name = fresh_name("missing")
    error = error_of(call(api, "GET", f"/api/v1/projects/{name}"), 404)
    assert error["code"] == "NotFound"
    assert f"project [{name}] does not exist" in error["message"]
    assert "slipstream create project" in error["message"]


def test_get_with_a_bad_name_is_400_not_404(api):
    error = error_of(call(api, "GET", "/api/v1/projects/Bad_Name"), 400)
    assert "project [Bad_Name]" in error["message"]


def test_an_oversized_description_is_a_4xx_not_a_500(api):
    """A description larger than a DynamoDB item may be (400 KB) is the caller's mistake."""
    status, body = call(api, "POST", "/api/v1/projects", {"name": fresh_name(), "description": "x" * 450_000})
    assert 400 <= status < 500, (status, body)
