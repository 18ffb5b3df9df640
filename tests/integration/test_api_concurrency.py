"""The sandbox's API under many clients at once: 64 threads start together and mix registrations of
distinct batches, listings with their own query parameters, gets of one entity, unknown executions and
the project list. Every answer must be the answer to its own request — never another request's body or
query — and no connection may be reset or refused.

Chalice keeps the request in one attribute (`app.current_request`); routes that read a body or a query
string are the ones that would answer another request's, so most requests here are of that kind."""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable

import pytest

from chalicelib.errors import NotFoundError, ValidationError
from slipstream.client import ApiClient
from tests.integration import sdk_entities as sdk
from tests.integration.test_pagination import versions_of

pytestmark = pytest.mark.integration

CLIENTS = 64
ROUNDS = 1
STATIC_VERSIONS = 8
DOMAIN = "development"


def _register(api: ApiClient, project: str, version: str) -> Callable[[], None]:
    def check() -> None:
        specs = sdk.specs(project, version)
        sent = {(s["kind"], s["id"]["name"], s["id"]["version"]) for s in specs}
        answered = {(e["kind"], e["id"]["name"], e["id"]["version"]) for e in api.register(specs)}
        assert sent <= answered, f"register {version} answered {sorted(answered)}"
        assert {version} == {v for _, _, v in answered}, f"register {version} answered for {answered}"
    return check


def _list_versions(api: ApiClient, project: str, limit: int) -> Callable[[], None]:
    def check() -> None:
        page = api.list_versions("task", project, DOMAIN, sdk.DOUBLE, limit=limit)
        versions = [e["id"]["version"] for e in page["entities"]]
        expected = [f"v{i:03d}" for i in reversed(range(STATIC_VERSIONS))][:limit]
        assert versions == expected, f"limit {limit} answered {versions}"
    return check


def _bad_limit(api: ApiClient, project: str, limit: str) -> Callable[[], None]:
    def check() -> None:
        with pytest.raises(ValidationError, match=rf"limit \[{limit}\]"):
            api.list_versions("task", project, DOMAIN, sdk.DOUBLE, limit=limit)  # type: ignore[arg-type]
    return check


def _get_entity(api: ApiClient, project: str, version: str) -> Callable[[], None]:
    def check() -> None:
        entity = api.get_entity("task", project, DOMAIN, sdk.DOUBLE, version)
        assert entity["id"]["version"] == version and entity["spec"]["id"]["version"] == version
    return check


def _unknown_execution(api: ApiClient, project: str, name: str) -> Callable[[], None]:
    def check() -> None:
        with pytest.raises(NotFoundError, match=name):
            api.get_execution(project, DOMAIN, name)
        assert api.list_executions(project, DOMAIN, workflow=f"wf-{name}", limit=3) == \
            {"executions": [], "token": None}
    return check


def _projects(api: ApiClient, *projects: str) -> Callable[[], None]:
    def check() -> None:
        assert set(projects) <= {p["name"] for p in api.list_projects()}
    return check


@pytest.fixture(scope="module")
def static_project(api_config) -> str:
    """A project with STATIC_VERSIONS versions of one task, only read by the concurrent clients."""
    api = ApiClient(api_config)
    project = f"static-{uuid.uuid4().hex[:8]}"
    api.create_project(project)
    for spec in versions_of(sdk.one(sdk.specs(project), "task", sdk.DOUBLE), STATIC_VERSIONS):
        api.register([spec])
    return project


def test_concurrent_clients_each_get_their_own_answer(api_config, static_project, project):
    checks: list[Callable[[], None]] = []
    for i in range(CLIENTS):
        api = ApiClient(api_config)
        kind = i % 6
        if kind == 0:
            checks.append(_register(api, project, f"c{i:02d}"))
        elif kind == 1:
            checks.append(_list_versions(api, static_project, 1 + i % STATIC_VERSIONS))
        elif kind == 2:
            checks.append(_bad_limit(api, static_project, str(2000 + i)))
        elif kind == 3:
            checks.append(_get_entity(api, static_project, f"v{i % STATIC_VERSIONS:03d}"))
        elif kind == 4:
            checks.append(_unknown_execution(api, static_project, f"missing-{i:02d}"))
        else:
            checks.append(_projects(api, static_project, project))
    failures = _run_together(checks)
    kinds = sorted({f[:160] for f in failures})[:8]
    assert failures == [], f"{len(failures)} of {CLIENTS * ROUNDS} requests failed, e.g. {kinds}"
    # every distinct batch was stored as sent
    for i in range(0, CLIENTS, 6):
        stored = ApiClient(api_config).get_entity("workflow", project, DOMAIN, sdk.PIPELINE, f"c{i:02d}")
        assert stored["spec"]["id"]["version"] == f"c{i:02d}"


def _run_together(checks: list[Callable[[], None]]) -> list[str]:
    """Run every check ROUNDS times, one thread per check, all released at once."""
    failures: list[str] = []
    switch = sys.getswitchinterval()
    # The sandbox runs in this process: switch threads often, to meet every race. Measured with the app's
    # per-thread request removed: 1e-4 s fails this test 3 runs of 3 with one round, 1e-3 s passes it; 1e-5 s
    # and three rounds found it too at four times the cost.
    sys.setswitchinterval(1e-4)
    barrier = threading.Barrier(len(checks))

    def client(check: Callable[[], None]) -> None:
        barrier.wait()
        for _ in range(ROUNDS):
            try:
                check()
            except BaseException as exc:  # every failure is reported; none ends the thread early
                failures.append(f"{type(exc).__name__}: {exc}"[:300])

    threads = [threading.Thread(target=client, args=(check,)) for check in checks]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    return failures
