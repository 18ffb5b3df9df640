"""The compiler on hand-written specs, as another language's SDK would send them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.compiler import check_launch_plan, compile_workflow, resolve_inputs
from chalicelib.errors import CycleError, TypeMismatchError, UnknownReferenceError, ValidationError

INT, STR = {"simple": "integer"}, {"simple": "string"}


def ident(name: str, version: str = "v1") -> dict[str, str]:
    return {"project": "p", "domain": "development", "name": name, "version": version}


def task(name: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "task", "schema_version": 1, "id": ident(name), "task_type": "python",
        "interface": {"inputs": [{"name": k, "type": t} for k, t in inputs.items()],
                      "outputs": [{"name": k, "type": t} for k, t in outputs.items()]},
        "function": {"module": "m", "name": name},
        "metadata": {"cache": False, "cache_version": "", "retries": 0, "timeout_seconds": None,
                     "interruptible": False},
        "container": {"image": None, "requests": {}, "limits": {}, "environment": {}, "secrets": []},
    }


INC = task("inc", {"x": INT}, {"o0": INT})
UPPER = task("upper", {"s": STR}, {"o0": STR})
TASKS = {"p/development/inc@v1": INC, "p/development/upper@v1": UPPER}


def node(node_id: str, task_name: str, inputs: dict[str, Any], upstream: list[str] | None = None) -> dict[str, Any]:
    return {"id": node_id, "kind": "task", "task": ident(task_name), "inputs": inputs, "upstream": upstream or []}


def wf(nodes: list[dict[str, Any]], outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"kind": "workflow", "schema_version": 1, "id": ident("wf"),
            "interface": {"inputs": [{"name": "x", "type": INT}], "outputs": [{"name": "o0", "type": INT}]},
            "nodes": nodes, "outputs": outputs if outputs is not None else {"o0": promise(nodes[-1]["id"])}}


def promise(node_id: str, output: str = "o0") -> dict[str, Any]:
    return {"promise": {"node": node_id, "output": output}}


def test_a_chain_compiles_into_a_closure_in_order():
    spec = wf([node("n1", "inc", {"x": promise("n0")}), node("n0", "inc", {"x": {"input": "x"}})])
    compiled = compile_workflow(spec, TASKS)
    assert compiled.order[compiled.key] == ["n0", "n1"]
    assert compiled.upstream[compiled.key] == {"n0": [], "n1": ["n0"]}
    assert set(compiled.closure()["tasks"]) == {"p/development/inc@v1"}


@pytest.mark.parametrize("nodes, outputs, error, message", [
    ([node("n0", "nope", {"x": {"input": "x"}})], None, UnknownReferenceError,
     r"calls task \[p/development/nope@v1\], which is neither registered nor in this batch"),
    ([node("n0", "inc", {})], None, ValidationError, r"node \[n0\] \(inc\) is missing input \[x\]"),
    ([node("n0", "inc", {"x": {"input": "x"}, "y": {"value": 1}})], None, UnknownReferenceError,
     r"has no input \[y\]"),
    ([node("n0", "upper", {"s": {"input": "x"}})], {"o0": {"value": 1}}, TypeMismatchError,
     r"input \[s\]: expected str, but workflow input \[x\] is int"),
    ([node("n0", "inc", {"x": {"value": "seven"}})], None, TypeMismatchError, r"input \[x\]: expected int"),
    ([node("n0", "inc", {"x": promise("n1")}), node("n1", "inc", {"x": promise("n0")})], None, CycleError,
     r"cycle: nodes \[n\d -> n\d -> n\d\]"),
    ([node("n0", "inc", {"x": promise("ghost")})], None, UnknownReferenceError, r"depends on node \['ghost'\]"),
    ([node("n0", "inc", {"x": promise("n1", "zz")}), node("n1", "inc", {"x": {"input": "x"}})], None,
     UnknownReferenceError, r"reads output \[zz\] of node \[n1\]"),
    ([node("n0", "inc", {"x": {"input": "y"}})], None, UnknownReferenceError, r"reads workflow input \[y\]"),
    ([node("n0", "inc", {"x": {"input": "x"}}), node("n0", "inc", {"x": {"input": "x"}})], None,
     ValidationError, r"node id \[n0\] is used twice"),
    ([node("N0", "inc", {"x": {"input": "x"}})], None, ValidationError, r"node id \[N0\] is not valid"),
    ([node("n0", "inc", {"x": {"input": "x"}})], {}, ValidationError, r"declares output \[o0\] but never binds it"),
    ([node("n0", "inc", {"x": {"input": "x"}})], {"o0": promise("n0"), "extra": {"value": 1}},
     UnknownReferenceError, r"binds output \[extra\]"),
])
def test_errors_name_the_workflow_node_and_input(nodes, outputs, error, message):
    with pytest.raises(error, match=message):
        compile_workflow(wf(nodes, outputs), TASKS)


def test_subworkflows_are_closed_over_and_recursion_is_refused():
    sub = wf([node("n0", "inc", {"x": {"input": "x"}})])
    sub["id"] = ident("sub")
    parent = wf([{"id": "n0", "kind": "workflow", "workflow": ident("sub"), "inputs": {"x": {"input": "x"}},
                  "upstream": []}])
    compiled = compile_workflow(parent, TASKS, {"p/development/sub@v1": sub})
    assert set(compiled.subworkflows) == {"p/development/sub@v1"}
    looping = copy.deepcopy(sub)
    looping["nodes"] = [{"id": "n0", "kind": "workflow", "workflow": ident("sub"), "inputs": {"x": {"input": "x"}},
                         "upstream": []}]
    with pytest.raises(ValidationError, match="call each other in a loop"):
        compile_workflow(looping, TASKS, {"p/development/sub@v1": looping})


def branch(cases: list[dict[str, Any]], otherwise: dict[str, Any] | None, fail: str | None) -> dict[str, Any]:
    return {"id": "n1", "kind": "branch", "name": "b", "upstream": [], "cases": cases, "else": otherwise,
            "else_fail": fail}


def test_branches_check_conditions_and_outputs():
    positive = {"compare": {"op": ">", "left": {"input": "x"}, "right": {"value": 0}}}
    case = {"condition": positive, "then": node("n1-0", "inc", {"x": {"input": "x"}})}
    good = wf([branch([case], None, "x must be positive")], {"o0": promise("n1")})
    assert compile_workflow(good, TASKS).key == "p/development/wf@v1"
    with pytest.raises(ValidationError, match=r"conditional \[b\] has no else branch"):
        compile_workflow(wf([branch([case], None, None)], {"o0": promise("n1")}), TASKS)
    mixed = {"condition": positive, "then": node("n1-1", "upper", {"s": {"value": "a"}})}
    with pytest.raises(TypeMismatchError, match="branches give different outputs"):
        compile_workflow(wf([branch([case, mixed], None, "no")], {"o0": promise("n1")}), TASKS)
    bad = {"compare": {"op": "<", "left": {"input": "x"}, "right": {"value": [1]}}}
    with pytest.raises(TypeMismatchError, match="can only compare"):
        compile_workflow(wf([branch([{**case, "condition": bad}], None, "no")], {"o0": promise("n1")}), TASKS)


def test_launch_plans_are_checked_against_the_workflow():
    spec = wf([node("n0", "inc", {"x": {"input": "x"}})])
    plan = {"kind": "launch_plan", "schema_version": 1, "id": ident("lp"), "workflow": ident("wf"),
            "default_inputs": {}, "fixed_inputs": {"x": 1}, "schedule": {"cron": "0 * * * *"}, "notifications": []}
    check_launch_plan(plan, spec)
    for change, message in (({"fixed_inputs": {"y": 1}}, r"fixed input \[y\] is not an input"),
                            ({"fixed_inputs": {"x": "one"}}, "expected int"),
                            ({"fixed_inputs": {}}, r"schedule but no value for inputs \['x'\]"),
                            ({"schedule": {"cron": "every minute"}}, "must have 5 fields"),
                            ({"default_inputs": {"x": 2}}, "both fixed and defaulted")):
        with pytest.raises(ValidationError, match=message):
            check_launch_plan({**plan, **change}, spec)


def test_resolve_inputs_applies_defaults_and_refuses_overrides_of_fixed_inputs():
    inputs = [{"name": "a", "type": INT}, {"name": "b", "type": STR, "default": "d"},
              {"name": "c", "type": {"optional": INT}}]
    assert resolve_inputs(inputs, {"a": 1}) == {"a": 1, "b": "d", "c": None}
    assert resolve_inputs(inputs, {"a": 1}, defaults={"b": "lp"}) == {"a": 1, "b": "lp", "c": None}
    assert resolve_inputs(inputs, {}, fixed={"a": 5}) == {"a": 5, "b": "d", "c": None}
    with pytest.raises(ValidationError, match="fixed by the launch plan"):
        resolve_inputs(inputs, {"a": 1}, fixed={"a": 5})
    with pytest.raises(ValidationError, match=r"input \[a\] \(int\) is required"):
        resolve_inputs(inputs, {})
