"""@workflow: the body runs once, when the workflow is first used, and builds the graph, which compiles on the
spot: every mistake is reported then, naming the workflow, node and input (tests build at once with
built_workflow)."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple, Optional

import pytest

from chalicelib.errors import CycleError, TypeMismatchError, UnknownReferenceError, ValidationError
from chalicelib.spec import canonical_json, check_spec_shape
from slipstream import Workflow, map_task, task, workflow
from slipstream.serialization import LOCAL, SerializationSettings, closure_entities, serialize
from tests.unit.sdk.helpers import built_workflow

PREFIX = "tests.unit.sdk.test_workflow"


@task
def add(a: int, b: int = 1) -> int:
    return a + b


@task
def shout(word: str) -> str:
    return word.upper()


@task
def join(words: list[str]) -> str:
    return " ".join(words)


@task
def describe(counts: dict[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(counts.items()))


@task
def pair(x: int) -> tuple[int, str]:
    return x, str(x)


@task
def half(x: float) -> float:
    return x / 2


@task
def maybe(x: Optional[int] = None) -> int:
    return -1 if x is None else x


@task
def side_effect() -> None:
    pass


class Stats(NamedTuple):
    total: int
    label: str


@task
def stats(n: int) -> Stats:
    return Stats(n, f"n={n}")


@workflow
def chain(a: int) -> int:
    return add(a=add(a=a), b=10)


@workflow
def unpacking(a: int, word: str = "hi") -> tuple[int, str, str]:
    x, label = pair(x=a)
    return add(a=x), join(words=[shout(word=word), label, "!"]), "constant"


@workflow
def named_outputs(n: int) -> Stats:
    s = stats(n=n)
    return s.total, s.label


@workflow
def counted(a: int) -> str:
    return describe(counts={"a": a, "b": add(a=a), "c": 3})


@workflow
def widening(a: int) -> float:
    return half(x=add(a=a))


@workflow
def optional_inputs(x: Optional[int] = None) -> tuple[int, int]:
    return maybe(), maybe(x=x)


@workflow()
def ordered() -> None:
    first = side_effect()
    second = side_effect()
    third = shout(word="x")
    first >> second >> third


@workflow
def inner(a: int) -> int:
    return add(a=a, b=10)


@workflow
def outer(a: int) -> int:
    return add(a=inner(a=a))


@workflow
def mapped(xs: list[int]) -> list[int]:
    return map_task(add)(a=xs)


@workflow
def passthrough(a: int, when: dt.date) -> tuple[int, dt.date]:
    return a, when


def test_the_seed_workflow_builds_two_nodes_and_runs(examples_on_path):
    import hello

    spec = hello.my_wf.to_spec(LOCAL)
    check_spec_shape(spec)
    assert [n["task"]["name"] for n in spec["nodes"]] == ["hello.t1", "hello.t2"]
    assert spec["nodes"][1]["inputs"] == {"a": {"promise": {"node": "n0", "output": "c"}}, "b": {"input": "b"}}
    assert spec["outputs"] == {"o0": {"promise": {"node": "n0", "output": "t1_int_output"}},
                               "o1": {"promise": {"node": "n1", "output": "o0"}}}
    assert hello.my_wf(a=50, b="hello") == (52, "helloworld")


def test_a_workflow_is_its_graph_and_runs_locally():
    assert isinstance(chain, Workflow)
    assert chain.name == f"{PREFIX}.chain"
    spec = chain.to_spec(LOCAL)
    assert [(n["id"], n["inputs"]) for n in spec["nodes"]] == [
        ("n0", {"a": {"input": "a"}}),
        ("n1", {"a": {"promise": {"node": "n0", "output": "o0"}}, "b": {"value": 10}})]
    assert spec["outputs"] == {"o0": {"promise": {"node": "n1", "output": "o0"}}}
    assert chain(a=1) == 12


def test_tuple_unpacking_lists_of_promises_defaults_and_constants():
    assert unpacking(a=4) == (5, "HI 4 !", "constant")
    assert unpacking(a=1, word="yo") == (2, "YO 1 !", "constant")
    spec = unpacking.to_spec(LOCAL)
    assert spec["interface"]["inputs"][1] == {"name": "word", "type": {"simple": "string"}, "default": "hi"}
    assert spec["outputs"]["o2"] == {"value": "constant"}


def test_named_tuple_outputs_are_read_by_name_and_come_back_as_the_named_tuple():
    assert named_outputs(n=3) == Stats(3, "n=3")
    assert [o["name"] for o in named_outputs.to_spec(LOCAL)["interface"]["outputs"]] == ["total", "label"]


def test_dicts_of_promises_become_map_bindings():
    node = counted.to_spec(LOCAL)["nodes"][-1]
    assert node["inputs"]["counts"] == {"map": {"a": {"input": "a"}, "b": {"promise": {"node": "n0", "output": "o0"}},
                                                "c": {"value": 3}}}
    assert counted(a=1) == "a=1,b=2,c=3"


def test_an_int_may_feed_a_float_input():
    assert widening(a=3) == 2.0


def test_optional_inputs_may_be_left_out():
    assert optional_inputs() == (-1, -1)
    assert optional_inputs(x=5) == (-1, 5)
    assert optional_inputs.to_spec(LOCAL)["nodes"][0]["inputs"] == {}


def test_rshift_orders_nodes_and_chains():
    spec = ordered.to_spec(LOCAL)
    assert [n["upstream"] for n in spec["nodes"]] == [[], ["n0"], ["n1"]]
    assert spec["interface"]["outputs"] == []
    assert ordered() is None


def test_a_subworkflow_call_becomes_a_workflow_node_in_the_closure():
    spec = outer.to_spec(LOCAL)
    assert spec["nodes"][0]["kind"] == "workflow"
    assert spec["nodes"][0]["workflow"]["name"] == f"{PREFIX}.inner"
    compiled = outer.compile(LOCAL)
    assert set(compiled.subworkflows) == {f"local/development/{PREFIX}.inner@local"}
    assert outer(a=1) == 12


def test_dependencies_and_closure_list_every_callee_once_callees_first():
    assert outer.dependencies() == [inner, add]
    assert mapped.dependencies() == [add]
    assert list(closure_entities(outer)) == [f"task:{PREFIX}.add", f"workflow:{PREFIX}.inner",
                                             f"workflow:{PREFIX}.outer"]
    kinds = [s["kind"] for s in serialize([outer, chain], LOCAL)]
    assert kinds == ["task", "workflow", "workflow", "workflow"]


def test_inputs_may_flow_straight_to_outputs():
    assert passthrough(a=1, when=dt.date(2024, 2, 29)) == (1, dt.date(2024, 2, 29))


def test_compiled_once_per_settings():
    settings = SerializationSettings("proj", "production", "v7")
    assert chain.compile(settings) is chain.compile(settings)
    assert chain.compile(settings).key == f"proj/production/{PREFIX}.chain@v7"
    assert chain.compile(LOCAL) is not chain.compile(settings)


def build_same_graph() -> Workflow:
    @workflow
    def same(a: int, word: str = "hi") -> tuple[int, str]:
        x, label = pair(x=a)
        return add(a=x), join(words=[shout(word=word), label])

    return same


def test_the_same_body_gives_the_same_spec_bytes():
    first, second = build_same_graph(), build_same_graph()
    assert canonical_json(first.to_spec(LOCAL)) == canonical_json(second.to_spec(LOCAL))
    assert canonical_json(serialize([first], LOCAL)) == canonical_json(serialize([first], LOCAL))


def test_a_workflow_called_outside_another_runs_and_refuses_positional_arguments():
    with pytest.raises(ValidationError, match=rf"^workflow \[{PREFIX}\.chain\] takes keyword arguments only: call it "
                                              r"as chain\(a=\.\.\.\)$"):
        chain(1)


def test_a_positional_task_call_in_a_body_is_refused_with_the_fix():
    with pytest.raises(ValidationError, match=r"add\] takes keyword arguments only: call it as "
                                              r"add\(a=\.\.\., b=\.\.\.\)"):
        @built_workflow
        def wf(a: int) -> int:
            return add(a)


def test_an_unknown_input_names_the_workflow_node_and_input():
    with pytest.raises(ValidationError, match=rf"^workflow \[{PREFIX}\..*wf\] node \[n0\] \({PREFIX}\.add\) has no "
                                              r"input \['c'\]; its inputs are \['a', 'b'\]"):
        @built_workflow
        def wf(a: int) -> int:
            return add(a=a, c=1)


def test_a_missing_input_says_what_to_pass():
    with pytest.raises(ValidationError, match=r"node \[n0\] \(.*shout\) is missing input \[word\] \(str\); "
                                              r"pass word=\.\.\."):
        @built_workflow
        def wf() -> str:
            return shout()


def test_an_int_output_feeding_a_str_input_is_a_type_mismatch():
    with pytest.raises(TypeMismatchError, match=r"wf\] node \[n1\] \(.*shout\) input \[word\]: expected str, but "
                                                r"\[n0\.o0\] is int"):
        @built_workflow
        def wf(a: int) -> str:
            return shout(word=add(a=a))


def test_a_workflow_input_of_the_wrong_type_is_a_type_mismatch():
    with pytest.raises(TypeMismatchError, match=r"input \[word\]: expected str, but input \[a\] is int"):
        @built_workflow
        def wf(a: int) -> str:
            return shout(word=a)


def test_a_constant_of_the_wrong_type():
    with pytest.raises(TypeMismatchError, match=r"node \[n0\] \(.*add\) input \[a\]: expected int, got 'x'"):
        @built_workflow
        def wf() -> int:
            return add(a="x")


def test_a_list_holding_a_promise_of_the_wrong_type():
    with pytest.raises(TypeMismatchError, match=r"input \[words\]\[1\]: expected str, but \[n0\.o0\] is int"):
        @built_workflow
        def wf(a: int) -> str:
            return join(words=["x", add(a=a)])


def test_promises_in_a_collection_of_the_wrong_kind():
    with pytest.raises(TypeMismatchError, match=r"input \[words\]: expected list\[str\], got a dict of promises"):
        @built_workflow
        def wf(w: str) -> str:
            return join(words={"a": shout(word=w)})


def test_a_cycle_through_rshift_is_reported_with_its_path():
    with pytest.raises(CycleError, match=r"^workflow \[.*wf\] has a cycle: nodes \[n\d -> n\d -> n\d\] depend on each "
                                         r"other; remove one of these dependencies$"):
        @built_workflow
        def wf() -> None:
            a = side_effect()
            b = side_effect()
            a >> b
            b >> a


def test_rshift_needs_nodes_on_both_sides():
    with pytest.raises(ValidationError, match=r"wf\]: `>>` orders nodes; a workflow input is not a node"):
        @built_workflow
        def wf(a: int) -> None:
            a >> side_effect()
    with pytest.raises(ValidationError, match=r"^`>>` orders node outputs, not 3$"):
        @built_workflow
        def wf2() -> None:
            side_effect() >> 3


def test_a_promise_in_a_python_if_is_refused():
    with pytest.raises(ValidationError, match=r"^input \[a\] is a promise: its value exists only when the workflow "
                                              r"runs, so Python's `if`"):
        @built_workflow
        def wf(a: int) -> int:
            if a:
                return add(a=a)
            return a


def test_a_comparison_in_a_python_if_is_refused():
    with pytest.raises(ValidationError, match=r"Python's `if`, `and` and `or` cannot use it; pass it to conditional"):
        @built_workflow
        def wf(a: int) -> int:
            if a > 0:
                return add(a=a)
            return a


def test_a_single_output_cannot_be_unpacked():
    with pytest.raises(ValidationError, match=r"^\[n0\.o0\] is a single output and cannot be unpacked or iterated"):
        @built_workflow
        def wf(a: int) -> int:
            x, y = add(a=a)
            return x


def test_attributes_the_ir_cannot_address_are_refused_while_building():
    with pytest.raises(ValidationError, match=r"^\[n0\.o0\] is int: a promise's parts are fields of dataclasses, "
                                              r"integer indices of lists and string keys of dicts, not \['real'\]"):
        @built_workflow
        def wf(a: int) -> int:
            return add(a=a).real


def test_an_unknown_named_output():
    with pytest.raises(ValidationError, match=r"^node \[n0\] has no output \[mean\]; its outputs are "
                                              r"\['total', 'label'\]"):
        @built_workflow
        def wf(n: int) -> int:
            return stats(n=n).mean


def test_a_node_with_several_outputs_fed_whole_asks_to_pick_one():
    with pytest.raises(ValidationError, match=r"input \[a\]: node \[n0\] has several outputs; pick one, e\.g\. "
                                              r"result\.o0"):
        @built_workflow
        def wf(a: int) -> int:
            return add(a=pair(x=a))


def test_a_node_without_outputs_cannot_feed_an_input():
    with pytest.raises(ValidationError, match=r"input \[word\]: node \[n0\] has no outputs; use `>>` to order it"):
        @built_workflow
        def wf() -> str:
            return shout(word=side_effect())


def test_a_promise_of_another_workflow_is_refused():
    kept = {}

    @built_workflow
    def first(a: int) -> int:
        kept["a"] = a
        return add(a=a)

    with pytest.raises(ValidationError, match=r"input \[a\]: input \[a\] belongs to another workflow; pass it in as "
                                              r"an input"):
        @built_workflow
        def second(b: int) -> int:
            return add(a=kept["a"])


def test_returning_too_few_values():
    with pytest.raises(ValidationError, match=r"wf\] must return 2 values \(o0, o1\), got Promise\(\[n0\.o0\]: int\)"):
        @built_workflow
        def wf(a: int) -> tuple[int, int]:
            return add(a=a)


def test_returning_the_wrong_type():
    with pytest.raises(TypeMismatchError, match=r"wf\] output \[o0\]: expected str, but \[n0\.o0\] is int"):
        @built_workflow
        def wf(a: int) -> str:
            return add(a=a)


def test_returning_a_value_without_declaring_outputs():
    with pytest.raises(ValidationError, match=r"declares no outputs; annotate its return type"):
        @built_workflow
        def wf(a: int):  # type: ignore[no-untyped-def]
            return add(a=a)


def test_an_unsupported_workflow_input_annotation():
    with pytest.raises(ValidationError, match=r"^workflow \[.*wf\]: input \[x\]: unsupported annotation "
                                              r"\[<class 'tuple'>\]"):
        @built_workflow
        def wf(x: tuple) -> None:
            pass


def test_a_default_of_the_wrong_type_is_refused_at_definition():
    with pytest.raises(TypeMismatchError, match=r"wf\] default of \[a\]: expected int, got 'one'"):
        @built_workflow
        def wf(a: int = "one") -> int:  # type: ignore[assignment]
            return add(a=a)


def test_a_task_with_a_bad_default_is_refused_when_a_workflow_uses_it():
    @task
    def bad_default(x: int = "a") -> int:  # type: ignore[assignment]
        return x

    with pytest.raises(TypeMismatchError, match=r"bad_default\] default of \[x\]: expected int, got 'a'"):
        @built_workflow
        def wf() -> int:
            return bad_default()


def test_errors_while_running_locally_use_the_project_classes():
    with pytest.raises(TypeMismatchError, match=rf"^workflow \[{PREFIX}\.chain\] input \[a\]: expected int, "
                                                r"got 'seven'$"):
        chain(a="seven")
    with pytest.raises(UnknownReferenceError, match=rf"^workflow \[{PREFIX}\.chain\]: unknown inputs \['y'\]; "
                                                    r"the inputs are \['a'\]$"):
        chain(a=1, y=2)
    with pytest.raises(ValidationError, match=r"chain\]: input \[a\] \(int\) is required; give a value"):
        chain()
