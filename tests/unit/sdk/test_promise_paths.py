"""Promise attributes and indexing (`box.width`, `box.tags[2]`, `xs[1]`, `d["key"]`) on task outputs and workflow
inputs, as flytekit resolves them: the IR carries {"attr": {"of": binding, "path": [...]}}, which both engines
(and the control plane, through chalicelib.bindings) read from the JSON values alone.

Expected values were computed with flytekit 1.16 on the same code.
"""

from dataclasses import dataclass, field

import pytest

from chalicelib.bindings import resolve
from chalicelib.compiler.asl import compile_asl
from chalicelib.compiler.plan import build_plan
from chalicelib.errors import ExecutionError, TypeMismatchError, ValidationError
from chalicelib.spec import check_spec_shape
from slipstream import conditional, task, workflow
from slipstream.serialization import LOCAL, SerializationSettings, serialize


@dataclass
class Box:
    width: float
    tags: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)


@task
def make_box(w: float) -> Box:
    return Box(width=w, tags=["a", "b", "c"], sizes={"s": 1, "m": 2})


@task
def make_list() -> list[int]:
    return [10, 20, 30]


@task
def make_dict() -> dict[str, str]:
    return {"key": "v"}


@task
def join(w: float, tag: str, size: int, x: int, v: str) -> str:
    return f"{w}|{tag}|{size}|{x}|{v}"


@workflow
def parts_of_outputs(w: float) -> str:
    box = make_box(w=w)
    return join(w=box.width, tag=box.tags[2], size=box.sizes["m"], x=make_list()[1], v=make_dict()["key"])


@workflow
def parts_of_inputs(box: Box, xs: list[int]) -> str:
    return join(w=box.width, tag=box.tags[0], size=box.sizes["s"], x=xs[-1], v="in")


@workflow
def through_a_subworkflow(w: float) -> str:
    box = make_box(w=w)
    return parts_of_inputs(box=box, xs=[box.sizes["m"], 5])


@workflow
def out_of_range() -> str:
    return join(w=1.0, tag="t", size=1, x=make_list()[5], v="x")


@task
def label(kind: str) -> str:
    return kind


@workflow
def branch_on_a_field(w: float) -> str:
    box = make_box(w=w)
    return conditional("wide").if_(box.width > 2.0).then(label(kind="wide")).else_().then(label(kind="narrow"))


def test_parts_of_outputs_and_inputs_as_flytekit_reads_them():
    assert parts_of_outputs(w=2.5) == "2.5|c|2|20|v"  # flytekit: '2.5|c|2|20|v'
    box = Box(width=1.0, tags=["t"], sizes={"s": 7})
    assert parts_of_inputs(box=box, xs=[1, 2, 3]) == "1.0|t|7|3|in"  # flytekit: '1.0|t|7|3|in'
    assert through_a_subworkflow(w=4.0) == "4.0|a|1|5|in"
    assert [branch_on_a_field(w=w) for w in (1.0, 3.0)] == ["narrow", "wide"]


def test_a_path_that_is_not_in_the_value_fails_the_run_naming_it():
    # flytekit: PromiseAttributeResolveError: Failed to resolve attribute path [5] ...
    with pytest.raises(ExecutionError, match=r"cannot read \[5\] of \[10, 20, 30\]: the attribute path \[5\]"):
        out_of_range()


def test_the_ir_carries_the_path_and_the_control_plane_resolves_it():
    spec = parts_of_outputs.to_spec(LOCAL)
    join_node = spec["nodes"][-1]
    assert join_node["inputs"]["tag"] == {"attr": {"of": {"promise": {"node": "n0", "output": "o0"}},
                                                   "path": ["tags", 2]}}
    assert join_node["inputs"]["v"] == {"attr": {"of": {"promise": {"node": "n2", "output": "o0"}}, "path": ["key"]}}
    for item in serialize([through_a_subworkflow, branch_on_a_field], SerializationSettings("p", "development", "v1")):
        check_spec_shape(item)
    outputs = {"n0": {"o0": {"width": 2.5, "tags": ["a", "b", "c"], "sizes": {"m": 2}}}}
    assert resolve(join_node["inputs"]["tag"], {}, outputs.__getitem__) == "c"
    assert resolve({"attr": {"of": {"input": "xs"}, "path": [-1]}}, {"xs": [1, 2, 3]}, outputs.__getitem__) == 3


def test_the_flattened_plan_keeps_the_path_and_waits_for_its_source():
    plan = build_plan(through_a_subworkflow.compile(LOCAL))
    inner_join = plan.nodes["n1.n0"]  # the subworkflow's join, its input [box] replaced by the caller's promise
    box = {"promise": {"node": "n0", "output": "o0"}}
    assert inner_join.inputs["size"] == {"attr": {"of": box, "path": ["sizes", "s"]}}
    assert inner_join.inputs["x"] == {"attr": {"of": {"list": [{"attr": {"of": box, "path": ["sizes", "m"]}},
                                                               {"value": 5}]}, "path": [-1]}}
    assert inner_join.deps == ["n0"]
    outputs = {"n0": {"o0": {"width": 4.0, "tags": ["a"], "sizes": {"s": 1, "m": 2}}}}
    assert resolve(inner_join.inputs["x"], {}, outputs.__getitem__) == 5
    compile_asl(build_plan(branch_on_a_field.compile(LOCAL)))  # the Choice state reads a field: it compiles


def test_paths_the_ir_cannot_address_are_refused_when_the_workflow_is_built():
    with pytest.raises(ValidationError, match=r"^\[n0\.o0\] has no attribute \[height\]: Box has fields "
                                              r"\['width', 'tags', 'sizes'\]"):
        @workflow
        def no_field(w: float) -> float:
            return make_box(w=w).height

        no_field(w=1.0)
    with pytest.raises(ValidationError, match=r"^\[n0\.o0\]\.width is float: a promise's parts are fields of "
                                              r"dataclasses, integer indices of lists and string keys of dicts, "
                                              r"not \[0\]"):
        @workflow
        def index_a_float(w: float) -> float:
            return make_box(w=w).width[0]

        index_a_float(w=1.0)
    with pytest.raises(TypeMismatchError, match=r"input \[size\]: expected int, but \[n0\.o0\]\.tags\[0\] is str"):
        @workflow
        def wrong_type(w: float) -> str:
            box = make_box(w=w)
            return join(w=box.width, tag="t", size=box.tags[0], x=1, v="v")

        wrong_type(w=1.0)
