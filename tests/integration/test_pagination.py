"""Listing names and versions over HTTP: newest first, pages of `limit` with opaque tokens, and the
errors of bad limits and tokens."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json

import pytest

from tests.integration import sdk_entities as sdk
from tests.integration.api_http import DOMAIN, call, error_of

pytestmark = pytest.mark.integration


def versions_of(spec: dict, count: int, start: int = 0) -> list[dict]:
    out = []
    for i in range(start, start + count):
        item = copy.deepcopy(spec)
        item["id"]["version"] = f"v{i:03d}"
        out.append(item)
    return out


def all_pages(api, path: str, limit: int) -> list[dict]:
    """Every page of a listing, checking each page's size; returns the pages."""
    pages, token = [], None
    for _ in range(200):
        status, page = call(api, "GET", f"{path}?limit={limit}" + (f"&token={token}" if token else ""))
        assert status == 200, page
        assert set(page) == {"entities", "token"}
        assert len(page["entities"]) <= limit
        pages.append(page)
        token = page["token"]
        if token is None:
            return pages
        assert isinstance(token, str) and token
    raise AssertionError("the listing never ended")


@pytest.fixture(scope="module")
def paged(api_config) -> tuple[str, list[str]]:
    """A project with 25 versions of one task, registered one request at a time (so registration order is
    v000 → v024), shared by the read-only tests of this module; returns (project, versions)."""
    import uuid

    from slipstream.client import ApiClient

    api = ApiClient(api_config)
    project = f"paged-{uuid.uuid4().hex[:8]}"
    api.create_project(project)
    task = sdk.one(sdk.specs(project), "task", sdk.DOUBLE)
    for spec in versions_of(task, 25):
        assert api.register([spec])[0]["status"] == "created"
    return project, [f"v{i:03d}" for i in range(25)]


def test_versions_come_newest_first_in_pages_of_the_limit(api, paged):
    project, many_versions = paged
    path = f"/api/v1/tasks/{project}/{DOMAIN}/{sdk.DOUBLE}"
    pages = all_pages(api, path, 10)
    assert [len(p["entities"]) for p in pages][:3] == [10, 10, 5]
    assert pages[-1]["token"] is None
    entities = [e for p in pages for e in p["entities"]]
    seen = [e["id"]["version"] for e in entities]
    assert len(seen) == len(set(seen)) == 25
    assert seen == list(reversed(many_versions))
    times = [dt.datetime.fromisoformat(e["registered_at"]) for e in entities]
    assert times == sorted(times, reverse=True) and len(set(times)) == 25
    for entity in entities:
        assert entity["kind"] == "task" and entity["id"]["name"] == sdk.DOUBLE and entity["id"]["project"] == project
        assert len(entity["digest"]) == 64


@pytest.mark.parametrize("limit", [1, 7, 25, 100])
def test_every_limit_sees_every_version_once(api, paged, limit):
    project, many_versions = paged
    pages = all_pages(api, f"/api/v1/tasks/{project}/{DOMAIN}/{sdk.DOUBLE}", limit)
    seen = [e["id"]["version"] for p in pages for e in p["entities"]]
    assert seen == list(reversed(many_versions))


def test_a_page_token_is_reusable_and_pages_do_not_overlap(api, paged):
    project, many_versions = paged
    path = f"/api/v1/tasks/{project}/{DOMAIN}/{sdk.DOUBLE}"
    first = api.request("GET", path, params={"limit": 10})
    second = api.request("GET", path, params={"limit": 10, "token": first["token"]})
    again = api.request("GET", path, params={"limit": 10, "token": first["token"]})
    assert second == again
    assert not {e["id"]["version"] for e in first["entities"]} & {e["id"]["version"] for e in second["entities"]}
    assert second["entities"][0]["id"]["version"] == many_versions[14]


def test_versions_registered_in_one_batch_list_by_registration_time(api, project):
    task = sdk.one(sdk.specs(project), "task", sdk.LABEL)
    api.register(versions_of(task, 12))
    entities = api.list_versions("task", project, DOMAIN, sdk.LABEL, limit=100)["entities"]
    assert sorted(e["id"]["version"] for e in entities) == [f"v{i:03d}" for i in range(12)]
    times = [dt.datetime.fromisoformat(e["registered_at"]) for e in entities]
    assert times == sorted(times, reverse=True)


def test_names_are_listed_with_their_latest_version(api, project):
    specs = sdk.specs(project, entities=[sdk.outer])
    api.register(specs)
    for spec in versions_of(sdk.one(specs, "task", sdk.SHOUT), 2, start=5):  # one at a time: v006 is newest
        api.register([spec])
    pages = all_pages(api, f"/api/v1/task_ids/{project}/{DOMAIN}", 2)
    names = [e for p in pages for e in p["entities"]]
    assert [n["name"] for n in names] == sorted([sdk.DOUBLE, sdk.LABEL, sdk.SHOUT])
    latest = {n["name"]: n["latest_version"] for n in names}
    assert latest == {sdk.DOUBLE: "v1", sdk.LABEL: "v1", sdk.SHOUT: "v006"}
    for name in names:
        dt.datetime.fromisoformat(name["updated_at"])


def test_workflow_and_launch_plan_names_are_listed_per_kind(api, project):
    api.register(sdk.specs(project))
    workflows = api.list_names("workflow", project, DOMAIN)
    assert [e["name"] for e in workflows["entities"]] == [sdk.PIPELINE] and workflows["token"] is None
    plans = api.list_names("launch_plan", project, DOMAIN)
    assert sorted(e["name"] for e in plans["entities"]) == sorted([sdk.FIXED, sdk.PIPELINE])
    assert api.list_names("task", project, "staging") == {"entities": [], "token": None}


def test_listing_an_unknown_name_is_empty(api, project):
    body = api.list_versions("workflow", project, DOMAIN, "no.such.workflow")
    assert body == {"entities": [], "token": None}


def token_of(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


BAD_TOKENS = {
    "not-base64": "not-a-token!!",
    "base64-not-json": base64.urlsafe_b64encode(b"\x00\x01garbage").decode(),
    "json-list": token_of([1, 2]),
    "json-string": token_of("x"),
    "flat-dict": token_of({"pk": "x"}),
}


@pytest.mark.parametrize("token", list(BAD_TOKENS.values()), ids=list(BAD_TOKENS))
@pytest.mark.parametrize("listing", ["versions", "names"])
def test_malformed_tokens_are_400(api, project, listing, token):
    path = f"/api/v1/tasks/{project}/{DOMAIN}/{sdk.DOUBLE}" if listing == "versions" \
        else f"/api/v1/task_ids/{project}/{DOMAIN}"
    error = error_of(call(api, "GET", f"{path}?token={token}"), 400)
    assert "not a valid page token" in error["message"]


FORGED_TOKENS = {
    "unknown-attributes": {"x": {"S": "y"}},
    "empty-attribute-value": {"pk": {}},
    "number-that-is-not": {"pk": {"N": "abc"}},
    "wrong-type-of-key": {"pk": {"N": "1"}, "sk": {"S": "V#1"}},
}


def test_forged_tokens_are_a_4xx_not_a_500(api, project):
    """Tokens are opaque: one that decodes but is not a key of this listing is the caller's mistake."""
    api.register([sdk.one(sdk.specs(project), "task", sdk.DOUBLE)])
    statuses = {}
    for listing, path in [("versions", f"/api/v1/tasks/{project}/{DOMAIN}/{sdk.DOUBLE}"),
                          ("names", f"/api/v1/task_ids/{project}/{DOMAIN}")]:
        for label, key in FORGED_TOKENS.items():
            statuses[listing, label] = call(api, "GET", f"{path}?token={token_of(key)}")[0]
    assert {k: v for k, v in statuses.items() if not 400 <= v < 500} == {}


def test_a_token_of_another_listing_is_refused(api, project):
    """A token names a position in one listing; handed to another it would silently skip or end it."""
    task = sdk.one(sdk.specs(project), "task", sdk.DOUBLE)
    api.register(versions_of(task, 3))
    other = copy.deepcopy(task)
    other["id"]["name"] = f"{sdk.MODULE}.other"
    api.register(versions_of(other, 3))
    token = api.list_versions("task", project, DOMAIN, sdk.DOUBLE, limit=1)["token"]
    assert token
    status, body = call(api, "GET", f"/api/v1/tasks/{project}/{DOMAIN}/{sdk.MODULE}.other?limit=1&token={token}")
    assert status == 400, (status, body)


@pytest.mark.parametrize("limit", ["0", "5000", "1001", "-1", "ten", "1.5"])
@pytest.mark.parametrize("listing", ["versions", "names"])
def test_limits_out_of_range_are_400(api, project, listing, limit):
    path = f"/api/v1/launch_plans/{project}/{DOMAIN}/x" if listing == "versions" \
        else f"/api/v1/launch_plan_ids/{project}/{DOMAIN}"
    error = error_of(call(api, "GET", f"{path}?limit={limit}"), 400)
    assert f"limit [{limit}]" in error["message"]


def test_the_largest_limit_is_accepted(api, project):
    assert api.list_versions("task", project, DOMAIN, sdk.DOUBLE, limit=1000) == {"entities": [], "token": None}


def test_listings_check_their_path(api):
    error_of(call(api, "GET", f"/api/v1/task_ids/Bad_Project/{DOMAIN}"), 400)
    error_of(call(api, "GET", "/api/v1/task_ids/default/Bad_Domain"), 400)
    error_of(call(api, "GET", f"/api/v1/tasks/default/{DOMAIN}/bad%20name"), 400)
