"""Authoring constructs of real Flyte code, each checked against the value flytekit gives for the same code
(the expected values are written down here; flytekit is not a dependency).

GIVEN flytekit code with only its imports changed, WHEN it runs locally, THEN it gives flytekit's result.
No `from __future__ import annotations` here: with it, `-> (float, float)` fails in flytekit too.
"""

import typing
from pathlib import Path
from typing import NamedTuple

import pytest

from chalicelib.errors import TaskFailedError, TypeMismatchError, ValidationError
from chalicelib.spec import check_spec_shape
from slipstream import Workflow, map_task, task, workflow
from slipstream.loader import find_entity, load_file
from slipstream.local import execute_locally, run_locally
from slipstream.serialization import LOCAL, SerializationSettings, serialize
from tests.unit.sdk.test_workflow import add

# --- 1. lazy compilation: a workflow may call a task defined further down its module ---


@workflow
def calls_a_later_task(x: int) -> int:
    return defined_later(x=x)


@workflow
def broken(x: int) -> int:
    return not_defined_anywhere(x=x)  # type: ignore[name-defined]  # noqa: F821


@task
def defined_later(x: int) -> int:
    return x * 3


def test_a_workflow_calls_a_task_defined_below_it():
    assert calls_a_later_task(x=2) == 6  # flytekit: 6


def test_a_broken_workflow_errors_when_used_naming_itself_and_the_cause_each_time():
    message = (r"^workflow \[tests\.unit\.sdk\.test_flytekit_compat\.broken\] cannot be built: its body raised "
               r"NameError: name 'not_defined_anywhere' is not defined; fix the body")
    with pytest.raises(ValidationError, match=message):
        broken(x=1)
    with pytest.raises(ValidationError, match=message):
        serialize([broken], SerializationSettings("p", "development", "v1"))
    assert calls_a_later_task(x=1) == 3  # the rest of the module is unaffected


def test_a_module_with_a_broken_workflow_loads_and_its_other_entities_run(tmp_path: Path):
    source = tmp_path / "compat_lazy_module.py"
    source.write_text(
        "from slipstream import task, workflow\n\n"
        "@workflow\ndef bad(a: int) -> int:\n    return double(a=a, b=1)\n\n"
        "@workflow\ndef good(a: int) -> int:\n    return double(a=a)\n\n"
        "@task\ndef double(a: int) -> int:\n    return 2 * a\n"
    )
    module = load_file(source)
    assert execute_locally(find_entity(module, "good"), {"a": 21}).python_outputs() == 42
    with pytest.raises(ValidationError, match=r"^workflow \[compat_lazy_module\.bad\] node \[n0\] "
                                              r"\(compat_lazy_module\.double\) has no input \['b'\]"):
        execute_locally(find_entity(module, "bad"), {"a": 1})


# --- 2. a task returning a one-field NamedTuple may return the bare value; `.field` on its output ---


class Total(NamedTuple):
    total: int


@task
def summed(xs: list[int]) -> Total:
    return sum(xs)  # type: ignore[return-value]  # the bare value, as flytekit allows


@task
def summed_whole(xs: list[int]) -> Total:
    return Total(sum(xs))


@workflow
def total_plus_one(xs: list[int]) -> int:
    return add(a=summed(xs=xs).total)


@workflow
def total_of_both(xs: list[int]) -> Total:
    return summed_whole(xs=[summed(xs=xs).total, summed_whole(xs=xs)[0]])


@workflow
def total_bare(xs: list[int]) -> Total:
    return summed(xs=xs).total  # type: ignore[return-value]


def test_a_one_field_named_tuple_output_may_be_returned_bare():
    assert summed(xs=[1, 2]) == Total(3) and summed(xs=[1, 2]).total == 3  # flytekit: Total(total=3)
    assert total_plus_one(xs=[1, 2, 3]) == 7  # flytekit: 7
    assert total_of_both(xs=[1, 2]).total == 6  # flytekit: 6
    assert total_bare(xs=[4]) == Total(4)  # flytekit: Total(total=4)
    assert summed.execute({"xs": [5, 6]}) == {"total": 11}  # what a pod writes


def test_passing_a_one_field_named_tuple_whole_is_refused_naming_its_field():
    with pytest.raises(ValidationError, match=r"input \[a\]: node \[n0\] returns a NamedTuple; pass its field, "
                                              r"e\.g\. result\.total"):
        @workflow
        def whole(xs: list[int]) -> int:
            return add(a=summed(xs=xs))

        whole(xs=[1])


# --- 3. -> (float, float) and typing.Tuple[...] outputs are named o0, o1, … ---


@task
def bounds(xs: list[float]) -> (float, float):  # type: ignore[valid-type]  # flytekit's option 4
    return min(xs), max(xs)


@task
def typed_bounds(xs: list[float]) -> typing.Tuple[float, float]:
    return min(xs), max(xs)


@workflow
def spread(xs: list[float]) -> typing.Tuple[float, float]:
    lo, _ = bounds(xs=xs)
    _, hi = typed_bounds(xs=xs)
    return lo, hi


def test_tuple_literal_and_typing_tuple_outputs():
    assert list(bounds.interface.outputs) == ["o0", "o1"]  # flytekit: o0, o1
    assert list(typed_bounds.interface.outputs) == ["o0", "o1"]
    assert bounds(xs=[2.0, 8.0]).o1 == 8.0  # flytekit: DefaultNamedTupleOutput(o0=2.0, o1=8.0)
    result = spread(xs=[3.0, -1.5, 2.0])  # flytekit: DefaultNamedTupleOutput(o0=-1.5, o1=3.0)
    assert result == (-1.5, 3.0) and (result.o0, result.o1) == (-1.5, 3.0)
    spec = bounds.to_spec(LOCAL)
    assert [v["name"] for v in spec["interface"]["outputs"]] == ["o0", "o1"]
    check_spec_shape(spec)


def test_a_tuple_of_one_is_refused_as_in_flytekit():
    with pytest.raises(ValidationError, match=r"return type \[typing\.Tuple\[int\]\] is a tuple of one value; tuples "
                                              r"declare several outputs, so declare the one output's type, e\.g\. "
                                              r"-> int"):
        @task
        def one() -> typing.Tuple[int]:
            return (1,)


# --- 4. running a single task through the engine, as `slipstream run FILE TASK` does ---


def test_a_task_runs_alone_through_the_engine():
    execution = execute_locally(typed_bounds, {"xs": [2.0, 8.0]})
    assert execution.outputs == {"o0": 2.0, "o1": 8.0}
    assert [r.phase for r in execution.records] == ["SUCCEEDED"]
    assert execute_locally(summed, {"xs": [1, 1]}).python_outputs() == Total(2)
    assert run_locally(add, {"a": 4}) == 5  # a default applies, as on a direct call


# --- 5. the imperative Workflow(name=...) builder ---


@task
def shout(word: str) -> str:
    return word.upper() + "!"


def build_imperative() -> Workflow:
    wf = Workflow(name="my.imperative.workflow.example")
    wf.add_workflow_input("in1", str)
    wf.add_workflow_input("in2", list[int])
    node_t1 = wf.add_entity(shout, word=wf.inputs["in1"])
    node_t2 = wf.add_entity(summed, xs=wf.inputs["in2"])
    node_t3 = wf.add_entity(map_task(shout), word=["a", "b"])
    wf.add_workflow_output("output_from_t1", node_t1.outputs["o0"])
    wf.add_workflow_output("total", node_t2.outputs["total"])
    wf.add_workflow_output("both", [node_t2.outputs["total"], node_t2.outputs["total"]], python_type=list[int])
    wf.add_workflow_output("shouts", node_t3.outputs["o0"])
    return wf


def test_the_imperative_builder_runs_as_flytekit_does():
    wf = build_imperative()
    assert wf.ready()
    # flytekit: (output_from_t1='HELLO!', total=6, both=[6, 6], shouts=['A!', 'B!'])
    assert wf(in1="hello", in2=[1, 2, 3]) == ("HELLO!", 6, [6, 6], ["A!", "B!"])
    specs = serialize([wf], SerializationSettings("p", "development", "v1"))
    spec = next(s for s in specs if s["kind"] == "workflow")
    assert spec["id"]["name"] == "my.imperative.workflow.example"
    assert [n["id"] for n in spec["nodes"]] == ["n0", "n1", "n2"]
    for item in specs:
        check_spec_shape(item)


def test_an_imperative_workflow_is_not_ready_until_every_input_is_used():
    wf = Workflow(name="unready")
    assert not wf.ready()
    wf.add_workflow_input("a", int)
    wf.add_workflow_input("unused", str)
    node = wf.add_entity(add, a=wf.inputs["a"])
    wf.add_workflow_output("o0", node.outputs["o0"])
    assert not wf.ready()
    with pytest.raises(ValidationError, match=r"^workflow \[unready\]: inputs \['unused'\] are not passed to any "
                                              r"node; pass them to add_entity\(\)$"):
        wf(a=1, unused="x")
    later = wf.add_entity(shout, word=wf.inputs["unused"])
    node >> later
    assert wf.ready() and wf(a=1, unused="x") == 2
    assert wf.graph.nodes[1].upstream == ["n0"]


def test_imperative_mistakes_name_the_fix():
    wf = Workflow(name="mistakes")
    wf.add_workflow_input("a", int)
    with pytest.raises(ValidationError, match=r"already has input \[a\]"):
        wf.add_workflow_input("a", str)
    with pytest.raises(ValidationError, match=r"input \[b\]: unsupported annotation"):
        wf.add_workflow_input("b", tuple)
    node = wf.add_entity(add, a=wf.inputs["a"])
    with pytest.raises(ValidationError, match=r"output \[xs\]: pass python_type=\.\.\. for a list or dict"):
        wf.add_workflow_output("xs", [node.outputs["o0"]])
    with pytest.raises(ValidationError, match=r"add_workflow_input\(\) builds an imperative Workflow"):
        calls_a_later_task.add_workflow_input("x", int)


# --- 6. notification names and phases import from the package, as from flytekit ---


def test_notification_names_import_from_the_package():
    import slipstream

    for name in ("Slack", "PagerDuty", "Email", "WorkflowExecutionPhase"):
        assert name in slipstream.__all__ and getattr(slipstream, name) is not None
    assert slipstream.WorkflowExecutionPhase.SUCCEEDED is not None


# --- 7. typing.Union, pydantic models, and pickles for what the IR cannot express ---


@task
def give_int() -> int:
    return 3


@task
def give_union(s: bool) -> typing.Union[int, str]:
    return 3 if s else "three"


@task
def show(x: typing.Union[int, str]) -> str:
    return f"{type(x).__name__}:{x}"


@task
def kind_of_number(x: typing.Union[int, float]) -> str:
    return type(x).__name__


@task
def maybe_union(x: typing.Optional[typing.Union[int, str]] = None) -> str:
    return repr(x)


@workflow
def unions(s: bool) -> typing.Tuple[str, str]:
    return show(x=give_int()), show(x=give_union(s=s))


@workflow
def ambiguous() -> str:
    return kind_of_number(x=give_int())


def test_union_values_keep_their_variant_as_in_flytekit():
    # flytekit 1.16: ('int:3', 'int:3') and ('int:3', 'str:three'); 1 → 'int', 1.5 → 'float'
    assert unions(s=True) == ("int:3", "int:3")
    assert unions(s=False) == ("int:3", "str:three")
    assert run_locally(kind_of_number, {"x": 1}) == "int"
    assert run_locally(kind_of_number, {"x": 1.5}) == "float"
    assert [run_locally(maybe_union, kw) for kw in ({}, {"x": 2}, {"x": "a"})] == ["None", "2", "'a'"]
    assert give_union.execute({"s": False}) == {"o0": {"tag": "str", "value": "three"}}
    spec = show.to_spec(LOCAL)
    assert spec["interface"]["inputs"][0]["type"] == {"union": [{"simple": "integer"}, {"simple": "string"}]}
    check_spec_shape(spec)


def test_union_mistakes_are_flytekits():
    with pytest.raises(TypeMismatchError, match=r"input \[x\]: expected Union\[int, str\], got 1\.5"):
        run_locally(show, {"x": 1.5})  # flytekit: Value 1.5 is not of type typing.Union[int, str]
    # flytekit: "Ambiguous choice of variant for union type. Both int and float transformers match"
    with pytest.raises(TaskFailedError, match=r"3 fits 2 variants of Union\[int, float\]"):
        ambiguous()


class Opaque:
    def __init__(self, items: set[int]) -> None:
        self.items = items


@task
def make_opaque(n: int) -> Opaque:
    return Opaque(set(range(n)))


@task
def count_opaque(o: Opaque, extra: set[int]) -> int:
    return len(o.items | extra)


@workflow
def opaque_flow(n: int) -> int:
    return count_opaque(o=make_opaque(n=n), extra={10, 11})


def test_types_the_ir_cannot_express_travel_pickled(caplog: pytest.LogCaptureFixture):
    assert opaque_flow(n=3) == 5  # flytekit 1.16: 5 (both pickled)
    execution = execute_locally(make_opaque, {"n": 2})
    assert Path(execution.outputs["o0"]["uri"]).is_file()
    assert execution.python_outputs().items == {0, 1}
    spec = make_opaque.to_spec(LOCAL)
    assert spec["interface"]["outputs"][0]["type"] == {"pickle": "tests.unit.sdk.test_flytekit_compat.Opaque"}
    check_spec_shape(spec)
    with caplog.at_level("WARNING", logger="slipstream"):
        @task
        def with_complex(c: complex) -> int:
            return 0
    assert "Unsupported Type <class 'complex'> found, slipstream will default to use PickleFile" in caplog.text
