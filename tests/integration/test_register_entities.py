"""Registration over HTTP with specs built by the SDK: immutable versions, idempotent re-registration,
default launch plans, compilation against the batch and the store, and batches refused whole."""

from __future__ import annotations

import copy
import re

import pytest

from slipstream import workflow
from slipstream.serialization import SerializationSettings, serialize
from tests.integration import sdk_entities as sdk
from tests.integration.api_http import DOMAIN, call, entity_path, error_of, kind_path, register_path

pytestmark = pytest.mark.integration

KINDS = ["task", "workflow", "launch_plan"]


def key(spec: dict) -> tuple[str, str, str]:
    return spec["kind"], spec["id"]["name"], spec["id"]["version"]


def get(api, kind: str, project: str, name: str, version: str = "v1") -> tuple[int, dict]:
    return call(api, "GET", entity_path(kind, project, name, version))


def stored(api, project: str, specs: list[dict]) -> dict[tuple[str, str, str], dict]:
    """The GET answer of every spec, by (kind, name, version)."""
    return {key(s): api.get_entity(s["kind"], project, DOMAIN, s["id"]["name"], s["id"]["version"]) for s in specs}


def assert_none_stored(api, project: str, specs: list[dict]) -> None:
    for spec in specs:
        status, body = get(api, spec["kind"], project, spec["id"]["name"], spec["id"]["version"])
        assert status == 404, (key(spec), body)


def default_plan_of(workflow: dict) -> dict:
    return {"kind": "launch_plan", "schema_version": 1, "id": dict(workflow["id"]), "workflow": dict(workflow["id"]),
            "default_inputs": {}, "fixed_inputs": {}, "schedule": None, "notifications": []}


def test_a_batch_is_created_with_a_default_launch_plan_per_workflow(api, project):
    specs = sdk.specs(project)
    results = api.register(specs)
    assert sorted((r["kind"], r["id"]["name"], r["status"]) for r in results) == sorted([
        ("task", sdk.DOUBLE, "created"), ("task", sdk.LABEL, "created"), ("workflow", sdk.PIPELINE, "created"),
        ("launch_plan", sdk.FIXED, "created"), ("launch_plan", sdk.PIPELINE, "created"),
    ])
    assert all(r["id"]["project"] == project and r["id"]["version"] == "v1" for r in results)
    plan = api.get_entity("launch_plan", project, DOMAIN, sdk.PIPELINE, "v1")["spec"]
    assert plan == default_plan_of(sdk.one(specs, "workflow", sdk.PIPELINE))


def test_get_returns_the_spec_as_registered(api, project):
    specs = sdk.specs(project)
    api.register(specs)
    for (kind, name, version), body in stored(api, project, specs).items():
        spec = next(s for s in specs if key(s) == (kind, name, version))
        assert body["spec"] == spec
        assert body["kind"] == kind and body["id"] == spec["id"]
        assert re.fullmatch(r"[0-9a-f]{64}", body["digest"])
        assert ("closure_key" in body) == (kind == "workflow")


def test_identical_reregistration_is_unchanged_and_changes_nothing(api, project):
    specs = sdk.specs(project)
    api.register(specs)
    before = stored(api, project, specs)
    default_before = api.get_entity("launch_plan", project, DOMAIN, sdk.PIPELINE, "v1")
    again = api.register(copy.deepcopy(specs))
    assert len(again) == 5 and {r["status"] for r in again} == {"unchanged"}
    after = stored(api, project, specs)
    assert after == before  # same digest, registered_at, spec
    assert api.get_entity("launch_plan", project, DOMAIN, sdk.PIPELINE, "v1") == default_before
    versions = api.list_versions("task", project, DOMAIN, sdk.DOUBLE)
    assert [v["id"]["version"] for v in versions["entities"]] == ["v1"]


def test_reregistration_with_keys_in_another_order_is_unchanged(api, project):
    specs = sdk.specs(project)
    api.register(specs)

    def reorder(value):
        if isinstance(value, dict):
            return {k: reorder(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reorder(v) for v in value]
        return value

    assert {r["status"] for r in api.register([reorder(s) for s in specs])} == {"unchanged"}


def test_per_kind_reregistration_is_unchanged(api, project):
    specs = sdk.specs(project)
    api.register(specs)
    task = sdk.one(specs, "task", sdk.DOUBLE)
    assert api.request("POST", kind_path("task", project), task)["entities"] == [
        {"kind": "task", "id": task["id"], "status": "unchanged"}]


CHANGES = {
    "task": (sdk.DOUBLE, lambda s: s["metadata"].update(retries=3)),
    "workflow": (sdk.PIPELINE, lambda s: s["interface"]["inputs"][1].update(default="?")),
    "launch_plan": (sdk.FIXED, lambda s: s["fixed_inputs"].update(prefix="?")),
}


@pytest.mark.parametrize("kind", list(CHANGES))
def test_other_content_under_a_taken_version_is_409_and_stores_nothing(api, project, kind):
    specs = sdk.specs(project)
    api.register(specs)
    before = stored(api, project, specs)
    name, change = CHANGES[kind]
    changed = copy.deepcopy(sdk.one(specs, kind, name))
    change(changed)
    error = error_of(call(api, "POST", register_path(project), {"specs": [changed]}), 409)
    assert error["code"] == "Conflict"
    assert f"{kind} [{project}/{DOMAIN}/{name}@v1]" in error["message"]
    assert "register under a new version" in error["message"]
    assert stored(api, project, specs) == before
    # the per-kind route refuses it the same way
    error = error_of(call(api, "POST", kind_path(kind, project), changed), 409)
    assert f"{name}@v1" in error["message"]
    assert stored(api, project, specs) == before


def test_other_content_under_a_new_version_is_created_beside_the_old(api, project):
    specs = sdk.specs(project)
    api.register(specs)
    changed = copy.deepcopy(sdk.one(specs, "task", sdk.DOUBLE))
    changed["metadata"]["retries"] = 3
    changed["id"]["version"] = "v2"
    assert api.register([changed])[0]["status"] == "created"
    assert api.get_entity("task", project, DOMAIN, sdk.DOUBLE, "v2")["spec"]["metadata"]["retries"] == 3
    assert api.get_entity("task", project, DOMAIN, sdk.DOUBLE, "v1")["spec"]["metadata"]["retries"] == 0


def test_the_same_entity_twice_in_a_batch(api, project):
    task = sdk.one(sdk.specs(project), "task", sdk.DOUBLE)
    assert [r["status"] for r in api.register([task, copy.deepcopy(task)])] == ["created"]
    other = copy.deepcopy(task)
    other["id"]["version"] = "v2"
    changed = copy.deepcopy(other)
    changed["metadata"]["retries"] = 1
    error = error_of(call(api, "POST", register_path(project), {"specs": [other, changed]}), 409)
    assert "twice in the batch" in error["message"]
    assert_none_stored(api, project, [other])


def test_a_workflow_compiles_against_tasks_registered_earlier(api, project):
    specs = sdk.specs(project)
    for name in (sdk.DOUBLE, sdk.LABEL):
        status, body = call(api, "POST", kind_path("task", project), sdk.one(specs, "task", name))
        assert status == 201 and body["entities"][0]["status"] == "created", body
    assert_none_stored(api, project, [sdk.one(specs, "workflow", sdk.PIPELINE)])
    status, body = call(api, "POST", kind_path("workflow", project),
                        {"specs": [sdk.one(specs, "workflow", sdk.PIPELINE)]})
    assert status == 201, body
    assert sorted((e["kind"], e["id"]["name"], e["status"]) for e in body["entities"]) == [
        ("launch_plan", sdk.PIPELINE, "created"), ("workflow", sdk.PIPELINE, "created")]
    status, body = call(api, "POST", kind_path("launch_plan", project), sdk.one(specs, "launch_plan", sdk.FIXED))
    assert status == 201 and body["entities"] == [
        {"kind": "launch_plan", "id": sdk.one(specs, "launch_plan", sdk.FIXED)["id"], "status": "created"}]
    assert api.get_entity("workflow", project, DOMAIN, sdk.PIPELINE, "v1")["closure_key"]


def test_a_launch_plan_may_name_a_workflow_of_another_version(api, project):
    api.register(sdk.specs(project))
    plan = copy.deepcopy(sdk.one(sdk.specs(project), "launch_plan", sdk.FIXED))
    plan["id"]["version"] = "v2"
    assert api.register([plan])[0]["status"] == "created"
    assert api.get_entity("launch_plan", project, DOMAIN, sdk.FIXED, "v2")["spec"]["workflow"]["version"] == "v1"


def test_subworkflows_get_their_own_default_launch_plan(api, project):
    specs = sdk.specs(project, entities=[sdk.outer])
    results = api.register(specs)
    assert {(r["kind"], r["id"]["name"]) for r in results} == {
        ("task", sdk.DOUBLE), ("task", sdk.LABEL), ("task", sdk.SHOUT), ("workflow", sdk.PIPELINE),
        ("workflow", sdk.OUTER), ("launch_plan", sdk.PIPELINE), ("launch_plan", sdk.OUTER)}
    assert {r["status"] for r in results} == {"created"}
    for name in (sdk.PIPELINE, sdk.OUTER):
        plan = api.get_entity("launch_plan", project, DOMAIN, name, "v1")["spec"]
        assert plan["workflow"] == {"project": project, "domain": DOMAIN, "name": name, "version": "v1"}


def test_an_outer_workflow_compiles_against_a_subworkflow_registered_earlier(api, project):
    specs = sdk.specs(project, entities=[sdk.outer])
    api.register([s for s in specs if s["id"]["name"] != sdk.OUTER])
    results = api.register([sdk.one(specs, "workflow", sdk.OUTER)])
    assert {(r["kind"], r["status"]) for r in results} == {("workflow", "created"), ("launch_plan", "created")}


def test_serialized_specs_are_snapshots_of_the_sdk_objects():
    """Editing a spec (as a tool rewriting bindings would, or these tests do) must not change the workflow
    it came from: the next serialization is the same as the first."""

    @workflow
    def snapshot(n: int) -> int:  # its own workflow: a failure must not corrupt the shared ones
        return sdk.double(n=sdk.double(n=n))

    settings = SerializationSettings("snapshots", DOMAIN, "v1")
    first = serialize([snapshot], settings)
    pristine = copy.deepcopy(first)
    spec = next(s for s in first if s["kind"] == "workflow")
    spec["nodes"][1]["inputs"]["n"] = {"value": 1}
    spec["outputs"]["o0"] = {"value": 2}
    assert serialize([snapshot], settings) == pristine


# refusals: each one must leave the store as it was


def missing_task(specs: list[dict]) -> str:
    workflow = sdk.one(specs, "workflow", sdk.PIPELINE)
    workflow["nodes"][1]["task"]["name"] = f"{sdk.MODULE}.missing"
    return "missing"


def wrong_type(specs: list[dict]) -> str:
    sdk.one(specs, "workflow", sdk.PIPELINE)["nodes"][1]["inputs"]["n"] = {"value": "not a number"}
    return "expected int"


def cycle(specs: list[dict]) -> str:
    nodes = sdk.one(specs, "workflow", sdk.PIPELINE)["nodes"]
    nodes[0]["upstream"], nodes[1]["upstream"] = ["n1"], ["n0"]
    return "cycle"


def wrong_output_type(specs: list[dict]) -> str:
    sdk.one(specs, "workflow", sdk.PIPELINE)["outputs"]["o0"] = {"promise": {"node": "n0", "output": "o0"}}
    return "expected str"


def unknown_plan_input(specs: list[dict]) -> str:
    sdk.one(specs, "launch_plan", sdk.FIXED)["fixed_inputs"] = {"nobody": "x"}
    return "nobody"


@pytest.mark.parametrize("breaks, code", [
    (missing_task, "UnknownReference"), (wrong_type, "TypeMismatch"), (cycle, "Cycle"),
    (wrong_output_type, "TypeMismatch"), (unknown_plan_input, "UnknownReference"),
])
def test_compile_errors_are_400_and_the_batch_is_refused_whole(api, project, breaks, code):
    specs = sdk.specs(project)
    expected = breaks(specs)
    error = error_of(call(api, "POST", register_path(project), {"specs": specs}), 400)
    assert error["code"] == code, error
    assert expected in error["message"].lower()
    assert_none_stored(api, project, [*specs, default_plan_of(sdk.one(specs, "workflow", sdk.PIPELINE))])


def test_an_unknown_task_is_named_in_the_error(api, project):
    specs = sdk.specs(project)
    missing_task(specs)
    error = error_of(call(api, "POST", register_path(project), {"specs": specs}), 400)
    assert f"{project}/{DOMAIN}/{sdk.MODULE}.missing@v1" in error["message"]


def test_a_workflow_alone_does_not_find_tasks_of_another_version(api, project):
    api.register([s for s in sdk.specs(project, "v1") if s["kind"] == "task"])
    workflow = sdk.one(sdk.specs(project, "v2"), "workflow", sdk.PIPELINE)
    error = error_of(call(api, "POST", kind_path("workflow", project), workflow), 400)
    assert error["code"] == "UnknownReference" and "@v2" in error["message"]
    assert_none_stored(api, project, [workflow])


def test_a_cycle_through_upstream_only_is_refused(api, project):
    specs = sdk.specs(project)
    nodes = sdk.one(specs, "workflow", sdk.PIPELINE)["nodes"]
    nodes[0]["upstream"] = ["n1"]  # n1 reads n0's output already
    error = error_of(call(api, "POST", register_path(project), {"specs": specs}), 400)
    assert "cycle" in error["message"].lower()


def set_in(spec: dict, path: tuple, value) -> None:
    target = spec
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


@pytest.mark.parametrize("kind, path, value", [
    ("task", ("id", "name"), "bad name"),
    ("task", ("id", "name"), "9starts-with-digit"),
    ("task", ("id", "version"), "v 1"),
    ("task", ("id", "version"), ""),
    ("task", ("id", "version"), "v1\n"),
    ("task", ("id", "project"), "Bad_Project"),
    ("task", ("id", "domain"), "Dev"),
    ("workflow", ("id", "name"), "bad/name"),
    ("workflow", ("nodes", 0, "task", "name"), "bad name"),
    ("workflow", ("nodes", 0, "id"), "N0"),
    ("launch_plan", ("id", "name"), "bad name!"),
    ("launch_plan", ("workflow", "version"), "../v1"),
])
def test_bad_names_in_identifiers_are_400(api, project, kind, path, value):
    specs = sdk.specs(project)
    name = {"task": sdk.DOUBLE, "workflow": sdk.PIPELINE, "launch_plan": sdk.FIXED}[kind]
    set_in(sdk.one(specs, kind, name), path, value)
    error = error_of(call(api, "POST", register_path(project), {"specs": specs}), 400)
    assert error["code"] in {"ValidationError", "UnknownReference"}, error
    assert_none_stored(api, project, sdk.specs(project))


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_route_refuses_other_kinds(api, project, kind):
    specs = sdk.specs(project)
    others = [s for s in specs if s["kind"] != kind]
    for other in others:
        error = error_of(call(api, "POST", kind_path(kind, project), other), 400)
        assert f"registers {kind} specs only" in error["message"] and repr(other["kind"]) in error["message"]
    mixed = [s for s in specs if s["kind"] == kind][:1] + others[:1]
    error_of(call(api, "POST", kind_path(kind, project), {"specs": mixed}), 400)
    assert_none_stored(api, project, specs)


def test_an_unknown_domain_is_400(api, project):
    specs = copy.deepcopy(serialize([sdk.pipeline, sdk.fixed_pipeline], SerializationSettings(project, "qa", "v1")))
    error = error_of(call(api, "POST", register_path(project, "qa"), {"specs": specs}), 400)
    assert f"domain [qa] is not a domain of project [{project}]" in error["message"]
    for spec in specs:
        status, _ = call(api, "GET", entity_path(spec["kind"], project, spec["id"]["name"], "v1", domain="qa"))
        assert status == 404


def test_an_unknown_project_is_404(api):
    specs = sdk.specs("nowhere-to-be-found")
    error = error_of(call(api, "POST", register_path("nowhere-to-be-found"), {"specs": specs}), 404)
    assert error["code"] == "NotFound" and "project [nowhere-to-be-found] does not exist" in error["message"]


def test_a_batch_with_one_spec_of_another_project_is_400_and_stores_nothing(api, project):
    specs = sdk.specs(project)
    stray = copy.deepcopy(sdk.one(specs, "task", sdk.DOUBLE))
    stray["id"]["project"] = "nowhere-to-be-found"
    error = error_of(call(api, "POST", register_path(project), {"specs": [*specs, stray]}), 400)
    assert "names project [nowhere-to-be-found]" in error["message"]
    assert_none_stored(api, project, specs)


def test_a_batch_with_one_conflict_stores_nothing(api, project):
    api.register([sdk.one(sdk.specs(project), "task", sdk.DOUBLE)])
    specs = sdk.specs(project)
    sdk.one(specs, "task", sdk.DOUBLE)["metadata"]["retries"] = 5
    error_of(call(api, "POST", register_path(project), {"specs": specs}), 409)
    assert_none_stored(api, project, [s for s in specs if s["id"]["name"] != sdk.DOUBLE])
    assert api.get_entity("task", project, DOMAIN, sdk.DOUBLE, "v1")["spec"]["metadata"]["retries"] == 0


def test_a_launch_plan_of_an_unregistered_workflow_is_400(api, project):
    plan = sdk.one(sdk.specs(project), "launch_plan", sdk.FIXED)
    error = error_of(call(api, "POST", kind_path("launch_plan", project), plan), 400)
    assert f"{sdk.PIPELINE}@v1" in error["message"] and "register the workflow first" in error["message"]
    assert_none_stored(api, project, [plan])


def test_unknown_versions_names_and_kinds_are_404(api, project):
    api.register(sdk.specs(project))
    for kind, name, version in [("task", sdk.DOUBLE, "v2"), ("task", f"{sdk.MODULE}.nope", "v1"),
                                ("workflow", sdk.DOUBLE, "v1"), ("launch_plan", sdk.LABEL, "v1")]:
        error = error_of(get(api, kind, project, name, version), 404)
        assert error["code"] == "NotFound"
        assert f"[{project}/{DOMAIN}/{name}@{version}] is not registered" in error["message"]
    error_of(call(api, "GET", entity_path("task", project, sdk.DOUBLE, "v1", domain="staging")), 404)


def test_get_with_bad_identifier_parts_is_400(api, project):
    for path in (entity_path("task", project, "bad name", "v1"), entity_path("task", project, sdk.DOUBLE, "v 1"),
                 entity_path("task", "Bad_Project", sdk.DOUBLE, "v1")):
        error_of(call(api, "GET", path.replace(" ", "%20")), 400)


RESOURCE_REFUSALS = [
    ({"requests": {"mem": "4GB"}}, "requests.mem [4GB] is not a Kubernetes quantity (did you mean '4Gi' or '4G'?): "
                                   "memory takes e.g. '512Mi', '4Gi' or '4G'"),
    ({"limits": {"cpu": "1 core"}}, "limits.cpu [1 core] is not a Kubernetes quantity: cpu takes e.g. '500m'"),
    ({"requests": {"mem": "500m"}}, "requests.mem [500m] is not a whole number of bytes ('m' means milli"),
    ({"requests": {"mem": "-1Gi"}}, "requests.mem [-1Gi] is negative"),
    ({"limits": {"gpu": "0.5"}}, "limits.gpu [0.5] is not a whole number: a pod gets whole GPUs"),
    ({"requests": {"cpu": "2", "mem": "1Gi"}, "limits": {"cpu": "1500m", "mem": "1Gi"}},
     "requests.cpu [2] is more than limits.cpu [1500m]; Kubernetes refuses such a pod"),
]


@pytest.mark.parametrize("container, message", RESOURCE_REFUSALS)
def test_a_task_whose_pod_kubernetes_would_refuse_is_400_and_stores_nothing(api, project, container, message):
    # GIVEN a batch whose task asks for resources the Kubernetes API server would refuse in its pod
    specs = sdk.specs(project)
    sdk.one(specs, "task", sdk.DOUBLE)["container"].update(container)
    # WHEN it is registered THEN the whole batch is refused, naming the task, the field, the value and a fix
    error = error_of(call(api, "POST", register_path(project), {"specs": specs}), 400)
    assert error["code"] == "ValidationError"
    assert error["message"].startswith(f"task [{project}/{DOMAIN}/{sdk.DOUBLE}@v1]: {message}")
    assert_none_stored(api, project, specs)
    # the per-kind route answers the same
    task = sdk.one(specs, "task", sdk.DOUBLE)
    assert error_of(call(api, "POST", kind_path("task", project), task), 400)["message"] == error["message"]


def test_resources_kubernetes_accepts_register_in_any_units(api, project):
    specs = sdk.specs(project)
    sdk.one(specs, "task", sdk.DOUBLE)["container"].update(
        requests={"cpu": "500m", "mem": "1G", "gpu": "1", "ephemeral_storage": "1e9"},
        limits={"cpu": "1", "mem": "1Gi", "gpu": "1"})
    assert {r["status"] for r in api.register(specs)} == {"created"}
    stored = api.get_entity("task", project, DOMAIN, sdk.DOUBLE, "v1")["spec"]["container"]
    assert stored["requests"]["mem"] == "1G" and stored["limits"]["mem"] == "1Gi"  # kept as written
