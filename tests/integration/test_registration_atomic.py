"""A registered batch appears to readers whole or not at all, also while twenty registrations run at once.

Twenty clients register ten versions of several example modules (each version twice, at the same time:
registration is idempotent by content) while readers poll the entities of every version. A batch's
entities become visible together, when the batch commits, and never become invisible again; so within
one reader's sequence of reads, once an entity of a version was found, every later read of that version's
entities must find it. An interrupted batch stays invisible until it is registered again."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.registration import default_launch_plan
from chalicelib.spec import Identifier, content_hash
from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from slipstream.config import ClientConfig
from tests.conftest import EXAMPLES
from tests.integration import sdk_entities as sdk

pytestmark = pytest.mark.integration

DOMAIN = "development"
MODULES = ["hello.py", "graphs.py", "subworkflows.py", "conditionals.py"]
VERSIONS = 10
CLIENTS = 2 * VERSIONS
KINDS = ("task", "workflow", "launch_plan")


def _entities(specs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(kind, name) of everything a batch of `specs` makes visible, default launch plans included, in the
    order registration used to write them (tasks, workflows, launch plans)."""
    names = {(s["kind"], s["id"]["name"]) for s in specs}
    names |= {("launch_plan", default_launch_plan(s)["id"]["name"]) for s in specs if s["kind"] == "workflow"}
    return sorted(names, key=lambda e: (KINDS.index(e[0]), e[1]))


class Reader(threading.Thread):
    """Reads every version's entities over and over (tasks first) and records any read that did not find
    an entity of a version it had already seen an entity of."""

    def __init__(self, client: ApiClient, project: str, versions: list[str], sample: list[tuple[str, str]],
                 done: threading.Event) -> None:
        super().__init__(daemon=True)
        self.client, self.project, self.versions, self.sample, self.done = client, project, versions, sample, done
        self.seen: set[str] = set()
        self.partial: list[str] = []
        self.errors: list[str] = []
        self.reads: list[float] = []  # when each read began

    def run(self) -> None:
        last = False
        while not last:
            last = self.done.is_set()  # one more whole scan after the registrations ended
            try:
                self.scan()
            except Exception as exc:  # reported by the test, not lost in a thread
                self.errors.append(f"{type(exc).__name__}: {exc}")
                return

    def scan(self) -> None:
        for version in self.versions:
            for kind, name in self.sample:
                self.reads.append(time.monotonic())
                try:
                    self.client.get_entity(kind, self.project, DOMAIN, name, version)
                except NotFoundError:
                    if version in self.seen:
                        self.partial.append(f"{kind} {name}@{version} not found after others of {version} were")
                    continue
                self.seen.add(version)
            listed = self.client.list_versions("workflow", self.project, DOMAIN, "hello.my_wf", limit=100)
            self.seen |= {e["id"]["version"] for e in listed["entities"]}


def test_twenty_concurrent_registrations_all_succeed_and_no_batch_shows_in_part(api_config, project):
    client = ApiClient(ClientConfig(api_config.api_url, project, DOMAIN, "none"))
    paths = [str(EXAMPLES / m) for m in MODULES]
    versions = [f"r{i}" for i in range(VERSIONS)]
    batches = {v: build_registration(client, paths, project, DOMAIN, v)[0] for v in versions}
    entities = _entities(batches[versions[0]])
    sample = entities[:: max(1, len(entities) // 8)] + [entities[-1]]  # tasks first, the last launch plan last

    done = threading.Event()
    readers = [Reader(ApiClient(client.config), project, order, sample, done)
               for order in (versions, versions[::-1])]
    for reader in readers:
        reader.start()
    outcomes: dict[int, Any] = {}
    barrier = threading.Barrier(CLIENTS)

    def register(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = ApiClient(client.config).register(batches[versions[i % VERSIONS]])
        except Exception as exc:
            outcomes[i] = exc

    began = time.monotonic()
    clients = [threading.Thread(target=register, args=(i,)) for i in range(CLIENTS)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    ended = time.monotonic()
    done.set()
    for reader in readers:
        reader.join()

    failed = {i: o for i, o in outcomes.items() if isinstance(o, Exception)}
    assert failed == {}, f"{len(failed)} of {CLIENTS} registrations failed: {list(failed.values())[:3]}"
    for i, results in outcomes.items():
        assert {(r["kind"], r["id"]["name"]) for r in results} == set(entities)
        assert {r["id"]["version"] for r in results} == {versions[i % VERSIONS]}
    for version in versions:  # each entity was made visible by one of its version's two registrations
        statuses = [r["status"] for i, o in outcomes.items() if versions[i % VERSIONS] == version for r in o]
        assert statuses.count("created") >= len(entities) and set(statuses) <= {"created", "unchanged"}

    for reader in readers:
        assert reader.errors == []
        assert reader.partial == [], reader.partial[:5]
        assert reader.seen == set(versions)  # the last scan, after every registration, saw them all
    during = [t for r in readers for t in r.reads if began <= t <= ended]
    assert during, "no read ran while the registrations did; the test checked nothing concurrent"
    for kind, name in entities:  # and every version of every entity is visible now
        listed = client.list_versions(kind, project, DOMAIN, name, limit=100)["entities"]
        assert sorted(e["id"]["version"] for e in listed) == sorted(versions), f"{kind} {name}"


def _interrupt(sandbox: Any, specs: list[dict[str, Any]], batch: str) -> None:
    """Store `specs` as a registration would before its commit, and stop there (its Lambda died)."""
    for spec in specs:
        spec_key, digest = sandbox.services.blobs.put_content_addressed("specs", spec)
        assert sandbox.services.metadata.put_entity(spec["kind"], Identifier.from_dict(spec["id"]), digest,
                                                    spec_key, batch=batch)


def test_an_interrupted_batch_stays_invisible_until_registered_again(sandbox, api, project):
    tasks = [s for s in sdk.specs(project, "v1") if s["kind"] == "task"]
    _interrupt(sandbox, tasks, f"interrupted-{uuid.uuid4().hex}")
    for spec in tasks:
        with pytest.raises(NotFoundError):
            api.get_entity("task", project, DOMAIN, spec["id"]["name"], "v1")
        assert api.list_versions("task", project, DOMAIN, spec["id"]["name"]) == {"entities": [], "token": None}
    assert api.list_names("task", project, DOMAIN) == {"entities": [], "token": None}

    changed = [dict(tasks[0], metadata={**tasks[0]["metadata"], "retries": 3})]
    with pytest.raises(ConflictError, match=r"already registered with different content.*has not completed"):
        api.register(changed)

    again = api.register(tasks)  # the same content: this batch completes the interrupted one
    assert {r["status"] for r in again} == {"created"}
    for spec in tasks:
        stored = api.get_entity("task", project, DOMAIN, spec["id"]["name"], "v1")
        assert stored["spec"] == spec and stored["digest"] == content_hash(spec)
    assert sorted(e["name"] for e in api.list_names("task", project, DOMAIN)["entities"]) == \
        sorted(s["id"]["name"] for s in tasks)
    assert {r["status"] for r in api.register(tasks)} == {"unchanged"}


def test_a_name_shows_its_newest_committed_version(sandbox, api, project):
    task = sdk.one(sdk.specs(project, "v1"), "task", sdk.DOUBLE)
    api.register([task])
    newer = dict(task, id={**task["id"], "version": "v2"})
    _interrupt(sandbox, [newer], f"interrupted-{uuid.uuid4().hex}")
    names = api.list_names("task", project, DOMAIN)["entities"]
    assert [(n["name"], n["latest_version"]) for n in names] == [(sdk.DOUBLE, "v1")]
    assert [e["id"]["version"] for e in api.list_versions("task", project, DOMAIN, sdk.DOUBLE)["entities"]] == ["v1"]
    api.register([newer])
    names = api.list_names("task", project, DOMAIN)["entities"]
    assert [(n["name"], n["latest_version"]) for n in names] == [(sdk.DOUBLE, "v2")]
    assert [e["id"]["version"] for e in api.list_versions("task", project, DOMAIN, sdk.DOUBLE)["entities"]] == \
        ["v2", "v1"]
