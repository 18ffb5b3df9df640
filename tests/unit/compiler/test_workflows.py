"""The compiler on hand-written specs, as another language's SDK would send them: every reference,
binding and type is checked, errors name the workflow, node and input, and nodes come out in order."""

from __future__ import annotations

import copy
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.compiler import CompiledWorkflow, compile_workflow, dependencies, topological_order
from chalicelib.errors import CycleError, TypeMismatchError, UnknownReferenceError, ValidationError
from tests.unit.ir_builders import (
    FLOAT,
    INT,
    STR,
    TASKS,
    branch_node,
    compare,
    key,
    map_node,
    promise,
    task_node,
    workflow_node,
    workflow_spec,
)

X = {"input": "x"}


def test_a_chain_compiles_into_a_closure_with_its_nodes_in_order():
    spec = workflow_spec([task_node("n1", "inc", {"x": promise("n0")}), task_node("n0", "inc", {"x": X})])
    compiled = compile_workflow(spec, TASKS)
    assert compiled.key == key("wf")
    assert compiled.order[compiled.key] == ["n0", "n1"]
    assert compiled.upstream[compiled.key] == {"n0": [], "n1": ["n0"]}
    assert set(compiled.tasks) == {key("inc")}  # only what the workflow calls
    assert compiled.subworkflows == {}


def test_the_closure_round_trips_through_json_shapes():
    compiled = compile_workflow(workflow_spec([task_node("n0", "inc", {"x": X})]), TASKS)
    again = CompiledWorkflow.from_closure(copy.deepcopy(compiled.closure()))
    assert again == compiled
    assert again.spec_of(again.key) is again.workflow


def test_independent_nodes_keep_their_spec_order():
    nodes = [task_node(n, "inc", {"x": X}) for n in ("c", "a", "b")]
    compiled = compile_workflow(workflow_spec(nodes), TASKS)
    assert compiled.order[compiled.key] == ["c", "a", "b"]


def test_upstream_orders_nodes_without_data_between_them():
    nodes = [task_node("n0", "inc", {"x": X}, upstream=["n1"]), task_node("n1", "inc", {"x": X})]
    compiled = compile_workflow(workflow_spec(nodes), TASKS)
    assert compiled.order[compiled.key] == ["n1", "n0"]


@given(st.data())
def test_any_dag_is_ordered_with_every_node_after_what_it_reads(data):
    size = data.draw(st.integers(min_value=1, max_value=12))
    names = [f"n{i}" for i in range(size)]
    nodes = []
    for i, name in enumerate(names):
        reads = data.draw(st.lists(st.sampled_from(names[:i]), max_size=3, unique=True)) if i else []
        inputs = {"xs": {"list": [promise(r) for r in reads] or [X]}}
        nodes.append(task_node(name, "total", inputs))
    random.Random(data.draw(st.integers())).shuffle(nodes)
    compiled = compile_workflow(workflow_spec(nodes, {"o0": promise(names[-1])}), TASKS)
    order = compiled.order[compiled.key]
    assert sorted(order) == sorted(names)
    position = {n: i for i, n in enumerate(order)}
    for node_id, deps in compiled.upstream[compiled.key].items():
        assert all(position[d] < position[node_id] for d in deps)


def wf_with(nodes, outputs=None, **kwargs):
    return workflow_spec(nodes, outputs, **kwargs)


@pytest.mark.parametrize("spec, error, message", [
    pytest.param(wf_with([task_node("n0", "nope", {"x": X})]), UnknownReferenceError,
                 r"^workflow \[wf\] node \[n0\] calls task \[p/development/nope@v1\], which is neither registered "
                 r"nor in this batch; register the task first", id="unknown task"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": X}, version="v2")]), UnknownReferenceError,
                 r"calls task \[p/development/inc@v2\]", id="unknown task version"),
    pytest.param(wf_with([workflow_node("n0", "ghost", {})], {"o0": {"value": 1}}), UnknownReferenceError,
                 r"node \[n0\] calls workflow \[p/development/ghost@v1\]", id="unknown workflow"),
    pytest.param(wf_with([task_node("n0", "inc", {})]), ValidationError,
                 r"^workflow \[wf\] node \[n0\] \(inc\) is missing input \[x\]; pass x=\.\.\.", id="missing input"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": X, "y": {"value": 1}})]), UnknownReferenceError,
                 r"node \[n0\] \(inc\) has no input \[y\]; its inputs are \['x'\]", id="unknown input"),
    pytest.param(wf_with([task_node("n0", "upper", {"s": X})], {"o0": {"value": 1}}), TypeMismatchError,
                 r"node \[n0\] \(upper\) input \[s\]: expected str, but workflow input \[x\] is int", id="int to str"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": promise("n1")}),
                          task_node("n1", "upper", {"s": {"value": ""}})]),
                 TypeMismatchError, r"input \[x\]: expected int, but output \[o0\] of node \[n1\] is str",
                 id="str output to int"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": {"value": "seven"}})]), TypeMismatchError,
                 r"node \[n0\] \(inc\) input \[x\]: expected int, got 'seven'", id="constant of the wrong type"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": {"list": [X]}})]), TypeMismatchError,
                 r"input \[x\]: expected int, got a list of bindings", id="list into a scalar"),
    pytest.param(wf_with([task_node("n0", "total", {"xs": {"list": [X, {"value": "a"}]}})]), TypeMismatchError,
                 r"input \[xs\]\[1\]: expected int, got 'a'", id="list item of the wrong type"),
    pytest.param(wf_with([task_node("n0", "total", {"xs": {"map": {"k": X}}})]), TypeMismatchError,
                 r"input \[xs\]: expected list\[int\], got a map of bindings", id="map into a list"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": promise("n1")}), task_node("n1", "inc", {"x": promise("n0")})]),
                 CycleError, r"^workflow \[wf\] has a cycle: nodes \[n\d -> n\d -> n\d\] depend on each other",
                 id="two-node cycle"),
    pytest.param(wf_with([task_node("a", "inc", {"x": promise("c")}), task_node("b", "inc", {"x": promise("a")}),
                          task_node("c", "inc", {"x": promise("b")})]),
                 CycleError, r"cycle: nodes \[a -> b -> c -> a\]", id="three-node cycle"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": X}, upstream=["n0"])]), CycleError,
                 r"cycle: nodes \[n0 -> n0\]", id="node after itself"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": X}), task_node("n1", "inc", {"x": X}, upstream=["n1"])]),
                 CycleError, r"nodes \[n1 -> n1\]", id="cycle through upstream"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": promise("ghost")})]), UnknownReferenceError,
                 r"node \[n0\] depends on node \['ghost'\], which is not a node of this workflow", id="unknown node"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": X}, upstream=["zz"])]), UnknownReferenceError,
                 r"node \[n0\] depends on node \['zz'\]", id="unknown upstream node"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": promise("n1", "zz")}), task_node("n1", "inc", {"x": X})]),
                 UnknownReferenceError, r"reads output \[zz\] of node \[n1\], which has outputs \['o0'\]",
                 id="unknown output"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": {"input": "y"}})]), UnknownReferenceError,
                 r"input \[x\] reads workflow input \[y\], which does not exist; the inputs are \['x'\]",
                 id="unknown workflow input"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": X}), task_node("n0", "inc", {"x": X})]), ValidationError,
                 r"^workflow \[wf\]: node id \[n0\] is used twice; node ids must be unique", id="duplicate node ids"),
    pytest.param(wf_with([branch_node("n0", [(compare(">", X, {"value": 0}), task_node("n1", "inc", {"x": X}))],
                                      fail="no"), task_node("n1", "inc", {"x": X})]),
                 ValidationError, r"node id \[n1\] is used twice", id="duplicate id inside a branch"),
    pytest.param(wf_with([task_node("N0", "inc", {"x": X})]), ValidationError,
                 r"^node id \[N0\] is not valid: use lowercase letters", id="node id in capitals"),
    pytest.param(wf_with([task_node("0n", "inc", {"x": X})]), ValidationError,
                 r"^node id \[0n\] is not valid", id="node id starting with a digit"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": X})], {}), ValidationError,
                 r"^workflow \[wf\] declares output \[o0\] but never binds it", id="missing output binding"),
    pytest.param(wf_with([task_node("n0", "inc", {"x": X})], {"o0": promise("n0"), "extra": {"value": 1}}),
                 UnknownReferenceError, r"workflow \[wf\] binds output \[extra\], which its interface does not declare",
                 id="output not declared"),
    pytest.param(wf_with([], {"o0": X}, inputs={"x": FLOAT}), TypeMismatchError,
                 r"workflow \[wf\] output \[o0\]: expected int, but workflow input \[x\] is float", id="float to int"),
    pytest.param(wf_with([], {"o0": promise("n9")}), UnknownReferenceError,
                 r"output \[o0\] reads node \[n9\], which is not a node of this workflow", id="output from no node"),
])
def test_errors_name_the_workflow_node_and_input(spec, error, message):
    with pytest.raises(error, match=message):
        compile_workflow(spec, TASKS)


@pytest.mark.parametrize("inputs, message", [
    ([{"name": "x", "type": INT}, {"name": "x", "type": INT}], r"^workflow \[wf\]: input \[x\] is declared twice"),
    ([{"name": "not-id", "type": INT}], r"input name \[not-id\] must be a Python identifier"),
    ([{"name": "x", "type": INT, "default": "a"}], r"workflow \[wf\] default of input \[x\]: expected int, got 'a'"),
    ([{"name": "x", "type": {"simple": "complex"}}], r"workflow \[wf\] input \[x\]: unknown simple type \[complex\]"),
    ([{"name": "x", "type": {"enum": {"name": "E", "values": []}}}], r"input \[x\]: an enum needs"),
    ([{"name": "x", "type": {"blob": "disk"}}], r"input \[x\]: blob must be 'file' or 'directory'"),
])
def test_interfaces_are_checked(inputs, message):
    spec = workflow_spec([], {})
    spec["interface"] = {"inputs": inputs, "outputs": []}
    with pytest.raises(ValidationError, match=message):
        compile_workflow(spec, TASKS)


def test_what_may_be_left_out_and_what_may_widen():
    int_to_float = workflow_spec([], {"o0": X}, outs={"o0": FLOAT})
    optional_left_out = workflow_spec([task_node("n0", "maybe", {})])
    defaulted = workflow_spec([], {"o0": X})
    defaulted["interface"]["inputs"][0]["default"] = 3
    for spec in (int_to_float, optional_left_out, defaulted):
        assert compile_workflow(spec, TASKS).workflow is spec


def test_map_nodes_take_lists_and_give_lists():
    xs = {"input": "xs"}
    good = workflow_spec([map_node("n0", "inc", {"x": xs}, ["x"])], inputs={"xs": {"list": INT}},
                         outs={"o0": {"list": INT}})
    compile_workflow(good, TASKS)
    with pytest.raises(TypeMismatchError, match=r"node \[n0\] \(inc\) input \[x\]: expected list\[int\], but "
                                                r"workflow input \[x\] is int"):
        compile_workflow(workflow_spec([map_node("n0", "inc", {"x": X}, ["x"])], outs={"o0": {"list": INT}}), TASKS)
    with pytest.raises(UnknownReferenceError, match=r"map task maps over \['y'\], which the task does not take"):
        compile_workflow(workflow_spec([map_node("n0", "inc", {"x": xs}, ["y"])], inputs={"xs": {"list": INT}},
                                       outs={"o0": {"list": INT}}), TASKS)


def test_a_map_that_tolerates_failures_gives_optional_items():
    xs = {"input": "xs"}
    node = map_node("n0", "inc", {"x": xs}, ["x"], min_success_ratio=0.5)
    tolerant = workflow_spec([node], inputs={"xs": {"list": INT}}, outs={"o0": {"list": {"optional": INT}}})
    compile_workflow(tolerant, TASKS)
    strict = workflow_spec([node], inputs={"xs": {"list": INT}}, outs={"o0": {"list": INT}})
    with pytest.raises(TypeMismatchError, match=r"expected list\[int\], but output \[o0\] of node \[n0\] is "
                                                r"list\[Optional\[int\]\]"):
        compile_workflow(strict, TASKS)


def test_subworkflows_are_closed_over_and_recursion_is_refused():
    sub = workflow_spec([task_node("n0", "inc", {"x": X})], name="sub")
    parent = workflow_spec([workflow_node("n0", "sub", {"x": X})])
    compiled = compile_workflow(parent, TASKS, {key("sub"): sub})
    assert set(compiled.subworkflows) == {key("sub")}
    assert compiled.order == {key("wf"): ["n0"], key("sub"): ["n0"]}
    assert compiled.spec_of(key("sub")) is sub
    assert set(compiled.tasks) == {key("inc")}
    looping = workflow_spec([workflow_node("n0", "sub", {"x": X})], name="sub")
    with pytest.raises(ValidationError, match=r"workflows call each other in a loop \[p/development/sub@v1 -> "
                                              r"p/development/sub@v1\]"):
        compile_workflow(looping, TASKS, {key("sub"): looping})


def test_a_subworkflow_call_is_checked_like_a_task_call():
    sub = workflow_spec([task_node("n0", "inc", {"x": X})], name="sub")
    with pytest.raises(ValidationError, match=r"node \[n0\] \(sub\) is missing input \[x\]"):
        compile_workflow(workflow_spec([workflow_node("n0", "sub", {})]), TASKS, {key("sub"): sub})


POSITIVE = compare(">", X, {"value": 0})


def test_branches_give_the_outputs_of_their_cases():
    case = (POSITIVE, task_node("n0-0", "inc", {"x": X}))
    with_fail = workflow_spec([branch_node("n0", [case], fail="x must be positive")])
    with_else = workflow_spec([branch_node("n0", [case], otherwise=task_node("n0-else", "inc", {"x": {"value": 0}}))])
    for spec in (with_fail, with_else):
        compiled = compile_workflow(spec, TASKS)
        assert compiled.order[compiled.key] == ["n0"]
        assert set(compiled.tasks) == {key("inc")}


def test_a_branch_waits_for_the_nodes_its_condition_and_cases_read():
    branch = branch_node("n0", [(compare(">", promise("n1"), {"value": 0}), task_node("n0-0", "inc",
                                                                                   {"x": promise("n2")}))], fail="no")
    spec = workflow_spec([branch, task_node("n1", "inc", {"x": X}), task_node("n2", "inc", {"x": X})])
    compiled = compile_workflow(spec, TASKS)
    assert compiled.upstream[compiled.key]["n0"] == ["n1", "n2"]
    assert compiled.order[compiled.key][-1] == "n0"


@pytest.mark.parametrize("branch, error, message", [
    pytest.param(branch_node("n0", [(POSITIVE, task_node("n0-0", "inc", {"x": X}))]), ValidationError,
                 r"^workflow \[wf\] conditional \[b\] has no else branch; end it with \.else_\(\)",
                 id="no else"),
    pytest.param(branch_node("n0", [(POSITIVE, task_node("n0-0", "inc", {"x": X})),
                                    (POSITIVE, task_node("n0-1", "upper", {"s": {"value": "a"}}))], fail="no"),
                 TypeMismatchError,
                 r"conditional \[b\]: branches give different outputs \(\{o0: int\} vs \{o0: str\}\)",
                 id="cases with different outputs"),
    pytest.param(branch_node("n0", [(compare("<", X, {"value": [1]}), task_node("n0-0", "inc", {"x": X}))],
                             fail="no"),
                 TypeMismatchError,
                 r"conditional \[b\]: can only compare numbers, strings, booleans and dates, not \[1\]",
                 id="list constant"),
    pytest.param(branch_node("n0", [(compare("<", X, {"input": "s"}), task_node("n0-0", "inc", {"x": X}))],
                             fail="no"),
                 TypeMismatchError, r"conditional \[b\]: cannot compare int with str", id="int with str"),
    pytest.param(branch_node("n0", [(compare("==", {"input": "xs"}, {"value": 1}), task_node("n0-0", "inc", {"x": X}))],
                             fail="no"),
                 TypeMismatchError, r"workflow input \[xs\] is list\[int\]; conditions compare numbers",
                 id="list input"),
    pytest.param(branch_node("n0", [({"is_none": {"input": "q"}}, task_node("n0-0", "inc", {"x": X}))], fail="no"),
                 UnknownReferenceError, r"conditional \[b\] reads workflow input \[q\], which does not exist",
                 id="unknown input in condition"),
    pytest.param(branch_node("n0", [(POSITIVE, task_node("n0-0", "inc", {}))], fail="no"),
                 ValidationError, r"node \[n0-0\] \(inc\) is missing input \[x\]", id="case missing input"),
])
def test_branch_errors_name_the_conditional(branch, error, message):
    spec = workflow_spec([branch], inputs={"x": INT, "s": STR, "xs": {"list": INT}})
    with pytest.raises(error, match=message):
        compile_workflow(spec, TASKS)


def test_numbers_of_either_kind_compare_and_optional_sides_are_allowed():
    ok = [compare(">", X, {"input": "f"}), compare("==", {"input": "m"}, X), {"is_none": {"input": "m"}},
          {"or": [compare("<", X, {"value": 1.5}), compare("!=", {"input": "s"}, {"value": "a"})]}]
    for condition in ok:
        spec = workflow_spec([branch_node("n0", [(condition, task_node("n0-0", "inc", {"x": X}))], fail="no")],
                             inputs={"x": INT, "f": FLOAT, "m": {"optional": INT}, "s": STR})
        compile_workflow(spec, TASKS)


def test_a_condition_comparing_a_string_with_a_number_is_refused_when_compiled():
    # `s > 0` for a str input can never be evaluated: the local engine raises at run time and Step Functions
    # fails its Choice state; the compiler checks promise-vs-promise comparisons but not promise-vs-constant.
    condition = compare(">", {"input": "s"}, {"value": 0})
    spec = workflow_spec([branch_node("n0", [(condition, task_node("n0-0", "inc", {"x": X}))], fail="no")],
                         inputs={"x": INT, "s": STR})
    with pytest.raises(TypeMismatchError, match=r"conditional \[b\].*str"):
        compile_workflow(spec, TASKS)


def test_dependencies_and_order_can_be_used_alone():
    nodes = [task_node("b", "inc", {"x": promise("a")}), task_node("a", "inc", {"x": X})]
    deps = dependencies("wf", nodes)
    assert deps == {"b": {"a"}, "a": set()}
    assert topological_order("wf", deps) == ["a", "b"]
    with pytest.raises(CycleError, match=r"^workflow \[wf\] has a cycle"):
        topological_order("wf", {"a": {"b"}, "b": {"a"}})
