"""The published JSON Schema of the IR: it is a valid schema, it agrees with the Python checks, every
spec the SDK produces follows it, and malformed specs are refused naming the field. Serialization is
deterministic."""

from __future__ import annotations

import copy
import importlib
import re
import subprocess
import sys

import jsonschema
import pytest

from chalicelib.errors import ValidationError
from chalicelib.spec import (
    COMPARISON_OPS,
    NODE_KINDS,
    canonical_json,
    check_spec_shape,
    content_hash,
    ir_schema,
)
from chalicelib.spec import identifiers as ids
from chalicelib.spec import types as lt
from slipstream.collect import collect_specs
from slipstream.loader import entities_in
from slipstream.serialization import SerializationSettings, serialize
from tests.conftest import EXAMPLES, ROOT
from tests.unit.ir_builders import (
    INT,
    branch_node,
    compare,
    launch_plan_spec,
    map_node,
    task_node,
    task_spec,
    workflow_node,
    workflow_spec,
)

SETTINGS = SerializationSettings("proj", "development", "v1")
SDK_TEST_MODULES = [f"tests.unit.sdk.{name}" for name in (
    "test_task", "test_workflow", "test_conditional", "test_map_task", "test_dynamic", "test_engine",
    "test_launch_plan")]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(ir_schema())


def test_the_schema_agrees_with_the_python_checks():
    defs = ir_schema()["$defs"]
    identifier = defs["identifier"]["properties"]
    assert identifier["project"]["pattern"] == ids.PROJECT_PATTERN.pattern
    assert identifier["domain"]["pattern"] == ids.DOMAIN_PATTERN.pattern
    assert identifier["name"]["pattern"] == ids.NAME_PATTERN.pattern
    assert identifier["version"]["pattern"] == ids.VERSION_PATTERN.pattern
    assert defs["node"]["properties"]["id"]["pattern"] == ids.NODE_ID_PATTERN.pattern
    assert defs["literal_type"]["properties"]["simple"]["enum"] == list(lt.SIMPLE_KINDS)
    assert defs["node"]["properties"]["kind"]["enum"] == list(NODE_KINDS)
    assert defs["condition"]["properties"]["compare"]["properties"]["op"]["enum"] == list(COMPARISON_OPS)


def hand_written_specs() -> list[dict]:
    nodes = [
        task_node("n0", "inc", {"x": {"input": "x"}}),
        map_node("n1", "inc", {"x": {"list": [{"input": "x"}, {"value": 2}]}}, ["x"], 0.5),
        workflow_node("n2", "sub", {"x": {"map": {"k": {"input": "x"}}}}),
        branch_node("n3", [(compare("<=", {"input": "x"}, {"value": 0}), task_node("n3-0", "inc", {}))],
                    fail="x must be positive"),
    ]
    return [
        task_spec("inc", {"x": INT}, {"o0": INT}),
        workflow_spec(nodes),
        launch_plan_spec(fixed_inputs={"x": 1}, schedule={"rate_seconds": 60, "kickoff_time_input": None},
                         notifications=[{"phases": ["FAILED"], "email": ["a@example.com"]}]),
    ]


@pytest.mark.parametrize("spec", hand_written_specs(), ids=lambda s: s["kind"])
def test_hand_written_specs_follow_the_schema(spec):
    check_spec_shape(spec)


def test_the_seed_example_specs_follow_the_schema(examples_on_path):
    import hello

    from slipstream import LaunchPlan

    specs = serialize([hello.my_wf, LaunchPlan.get_or_create(hello.my_wf)], SETTINGS)
    assert [(s["kind"], s["id"]["name"]) for s in specs] == [
        ("task", "hello.t1"), ("task", "hello.t2"), ("workflow", "hello.my_wf"), ("launch_plan", "hello.my_wf")]
    for spec in specs:
        check_spec_shape(spec)


@pytest.mark.parametrize("module_name", SDK_TEST_MODULES)
def test_every_entity_defined_by_the_sdk_tests_gives_a_spec_that_follows_the_schema(module_name):
    entities = entities_in(importlib.import_module(module_name))
    assert entities, f"{module_name} defines no tasks or workflows"
    specs = serialize(entities, SETTINGS)
    for spec in specs:
        check_spec_shape(spec)
    assert {s["kind"] for s in specs} >= {"task"}


def test_every_example_spec_follows_the_schema():
    specs = collect_specs([str(EXAMPLES)], project="p", domain="development", version="v1")
    assert {s["kind"] for s in specs} == {"task", "workflow", "launch_plan"}
    for spec in specs:
        check_spec_shape(spec)


def _task(spec_list):
    return next(s for s in spec_list if s["kind"] == "task")


def _workflow(spec_list):
    return next(s for s in spec_list if s["kind"] == "workflow")


def _plan(spec_list):
    return next(s for s in spec_list if s["kind"] == "launch_plan")


@pytest.mark.parametrize("pick, mutate, kind, where", [
    (_task, lambda s: s.pop("interface"), "task", "(top level)"),
    (_task, lambda s: s["metadata"].update(retries=-1), "task", "metadata/retries"),
    (_task, lambda s: s["metadata"].update(timeout_seconds=0), "task", "metadata/timeout_seconds"),
    (_task, lambda s: s["interface"]["inputs"][0].update(type={"simple": "complex"}), "task",
     "interface/inputs/0/type/simple"),
    (_task, lambda s: s["interface"]["inputs"][0].update(name="not-an-identifier"), "task",
     "interface/inputs/0/name"),
    (_task, lambda s: s.update(task_type="sql"), "task", "task_type"),
    (_task, lambda s: s["container"]["environment"].update(N=1), "task", "container/environment/N"),
    (_workflow, lambda s: s.update(schema_version=2), "workflow", "schema_version"),
    (_workflow, lambda s: s.update(extra=1), "workflow", "(top level)"),
    (_workflow, lambda s: s["id"].update(project="Bad"), "workflow", "id/project"),
    (_workflow, lambda s: s["nodes"][0].update(id="N0"), "workflow", "nodes/0/id"),
    (_workflow, lambda s: s["nodes"][0].pop("task"), "workflow", "nodes/0"),
    (_workflow, lambda s: s["nodes"][0]["inputs"].update(x={"value": 1, "input": "x"}), "workflow",
     "nodes/0/inputs/x"),
    (_workflow, lambda s: s["nodes"][1].update(min_success_ratio=1.5), "workflow", "nodes/1/min_success_ratio"),
    (_workflow, lambda s: s["nodes"][1].update(concurrency=0), "workflow", "nodes/1/concurrency"),
    (_workflow, lambda s: s["nodes"][1].update(mapped_inputs=[]), "workflow", "nodes/1/mapped_inputs"),
    (_workflow, lambda s: s["nodes"][3].pop("else_fail"), "workflow", "nodes/3"),
    (_workflow, lambda s: s["nodes"][3]["cases"][0]["condition"]["compare"].update(op="=~"), "workflow",
     "nodes/3/cases/0/condition/compare/op"),
    (_plan, lambda s: s.update(schedule={"rate_seconds": 30}), "launch_plan", "schedule/rate_seconds"),
    (_plan, lambda s: s["notifications"][0].update(phases=[]), "launch_plan", "notifications/0/phases"),
    (_plan, lambda s: s["notifications"][0].update(phases=["RUNNING"]), "launch_plan", "notifications/0/phases/0"),
])
def test_malformed_specs_are_refused_naming_the_misplaced_field(pick, mutate, kind, where):
    spec = copy.deepcopy(pick(hand_written_specs()))
    mutate(spec)
    with pytest.raises(ValidationError, match=rf"^{kind} spec is malformed at \[{re.escape(where)}\]: "):
        check_spec_shape(spec)


@pytest.mark.parametrize("spec, message", [
    ([], r"a spec must be a JSON object, got list"),
    ({"kind": "thing"}, r"spec kind \[thing\] is unknown: use one of task, workflow, launch_plan"),
    ({}, r"spec kind \[None\] is unknown"),
])
def test_what_is_not_a_spec_at_all(spec, message):
    with pytest.raises(ValidationError, match=message):
        check_spec_shape(spec)


def test_the_schema_refuses_a_trailing_newline_in_an_identifier():
    # python-jsonschema matches `pattern` with re.search, whose `$` also matches before a final newline
    spec = copy.deepcopy(_task(hand_written_specs()))
    spec["id"]["project"] = "p\n"
    with pytest.raises(ValidationError, match=r"\[id/project\]"):
        check_spec_shape(spec)


def test_serializing_the_same_workflow_twice_gives_the_same_bytes(examples_on_path):
    import hello

    first = canonical_json(serialize([hello.my_wf], SETTINGS))
    second = canonical_json(serialize([hello.my_wf], SETTINGS))
    assert first == second
    assert content_hash(serialize([hello.my_wf], SETTINGS)) == content_hash(serialize([hello.my_wf], SETTINGS))


def test_canonical_json_is_independent_of_key_order_and_keeps_unicode():
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    assert content_hash({"b": 1, "a": [1, 2]}) == content_hash({"a": [1, 2], "b": 1})
    assert content_hash({"a": [1, 2]}) != content_hash({"a": [2, 1]})
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})  # not JSON: refused rather than written as NaN


def test_serialization_is_deterministic_across_processes():
    code = ("import sys; from slipstream.collect import collect_specs; "
            "from chalicelib.spec import canonical_json; "
            f"sys.stdout.buffer.write(canonical_json(collect_specs([{str(EXAMPLES)!r}], project='p', "
            "domain='development', version='v1')))")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, cwd=ROOT).stdout
            for _ in range(2)]
    assert runs[0] == runs[1]
    assert runs[0].startswith(b"[{")
