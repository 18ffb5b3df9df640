"""A conditional inside a case's then() (flytekit's advanced_composition/conditional.py::nested_conditions): how
the builder nests it, what the IR looks like, what the local engine returns and every misuse. Expected values
are flytekit's (its semantics: the first case that holds wins, at each level). The plan and the states are
tests/unit/compiler/test_nested_conditional_asl.py; remotely, tests/e2e/test_conditionals_remote.py."""

from __future__ import annotations

import pytest

from chalicelib.compiler import compile_workflow
from chalicelib.errors import ExecutionError, TypeMismatchError, ValidationError
from chalicelib.spec import check_spec_shape
from slipstream import conditional, task, workflow
from slipstream.serialization import LOCAL
from tests.unit.ir_builders import TASKS, branch_node, compare, key, task_node, workflow_spec
from tests.unit.sdk.helpers import built_workflow


@task
def t1(a: int) -> int:
    return a + 1


@task
def t2(a: int) -> int:
    return a * 2


@task
def t3(a: int) -> int:
    return -a


@task
def word(text: str) -> str:
    return text


@workflow
def nested_conditions(x: int, y: int) -> int:
    return (conditional("outer")
            .if_(x > 10).then(conditional("inner").if_(y < 0).then(t1(a=x)).else_().then(t2(a=x)))
            .else_().then(t3(a=x)))


@workflow
def everywhere(x: int, y: int) -> int:
    """Nested in an elif_ and in the else, an inner `.fail`, and a node after the conditional that reads it."""
    picked = (conditional("outer")
              .if_(x > 100).then(t3(a=x))
              .elif_(x > 10).then(conditional("middle").if_(y < 0).then(t1(a=y)).else_().fail("y must be negative"))
              .else_().then(conditional("low")
                            .if_(y == 0).then(t2(a=x))
                            .elif_(y > 0).then(conditional("deepest").if_(x < 0).then(t3(a=y)).else_().then(t1(a=y)))
                            .else_().then(t3(a=x))))
    return t2(a=picked)


def test_the_inner_conditional_picks_within_the_outer_case():
    assert nested_conditions(x=11, y=-1) == 12  # flytekit: outer if, inner if → t1(11)
    assert nested_conditions(x=11, y=0) == 22  # outer if, inner else → t2(11)
    assert nested_conditions(x=10, y=-1) == -10  # outer else → t3(10); the inner is never evaluated


def test_nesting_works_in_elif_and_else_and_three_deep():
    assert everywhere(x=101, y=5) == -202
    assert everywhere(x=50, y=-3) == -4
    assert everywhere(x=1, y=0) == 4
    assert everywhere(x=-1, y=7) == -14  # low → elif → deepest if
    assert everywhere(x=1, y=7) == 16  # low → elif → deepest else
    assert everywhere(x=3, y=-1) == -6  # low → else


def test_an_inner_fail_fails_the_run_naming_the_inner_conditional():
    with pytest.raises(ExecutionError, match=r"^conditional \[middle\] failed: y must be negative$"):
        everywhere(x=50, y=1)


def test_the_ir_holds_the_inner_branch_as_the_case_node_named_after_its_place():
    spec = nested_conditions.to_spec(LOCAL)
    check_spec_shape(spec)
    (outer,) = spec["nodes"]
    inner = outer["cases"][0]["then"]
    assert (outer["id"], outer["name"], inner["id"], inner["kind"], inner["name"]) == (
        "n0", "outer", "n0-0", "branch", "inner")
    assert [inner["cases"][0]["then"]["id"], inner["else"]["id"], outer["else"]["id"]] == [
        "n0-0-0", "n0-0-else", "n0-else"]
    assert inner["cases"][0]["condition"] == compare("<", {"input": "y"}, {"value": 0})
    assert spec["outputs"] == {"o0": {"promise": {"node": "n0", "output": "o0"}}}


def test_nodes_after_a_nested_conditional_belong_to_the_workflow():
    spec = everywhere.to_spec(LOCAL)
    check_spec_shape(spec)
    assert [(n["id"], n["kind"]) for n in spec["nodes"]] == [("n0", "branch"), ("n10", "task")]
    low = spec["nodes"][0]["else"]
    assert low["id"] == "n0-else" and low["cases"][1]["then"]["id"] == "n0-else-1"
    assert low["cases"][1]["then"]["else"]["id"] == "n0-else-1-else"
    assert spec["nodes"][0]["cases"][1]["then"]["else_fail"] == "y must be negative"


def test_inner_branches_with_different_outputs_are_refused_naming_the_inner_conditional():
    with pytest.raises(ValidationError, match=r"^conditional \[inner\]: every branch must give the same outputs; "
                                              r"got \{o0: int\} and \{o0: str\}"):
        @built_workflow
        def wf(x: int) -> int:
            return (conditional("outer")
                    .if_(x > 1).then(conditional("inner").if_(x > 2).then(t1(a=x)).else_().then(word(text="a")))
                    .else_().then(t1(a=x)))


def test_an_inner_conditional_giving_other_outputs_than_the_outer_cases_is_refused_naming_the_outer():
    with pytest.raises(ValidationError, match=r"^conditional \[outer\]: every branch must give the same outputs; "
                                              r"got \{o0: int\} and \{o0: str\}"):
        @built_workflow
        def wf(x: int) -> str:
            return (conditional("outer")
                    .if_(x > 1).then(conditional("inner").if_(x > 2).then(t1(a=x)).else_().then(t2(a=x)))
                    .else_().then(word(text="a")))


def test_an_unfinished_inner_conditional_is_not_a_case():
    with pytest.raises(ValidationError, match=r"^conditional \[outer\]: then\(\) takes one task or workflow call"):
        @built_workflow
        def wf(x: int) -> int:
            return (conditional("outer")
                    .if_(x > 1).then(conditional("inner").if_(x > 2).then(t1(a=x)))
                    .else_().then(t1(a=x)))


def test_the_compiler_checks_a_nested_branch_of_hand_written_ir():
    """Another SDK's IR: the inner branch's cases are checked like any branch's, named by the inner conditional."""
    x = {"input": "x"}
    inner = branch_node("n0-0", [(compare("<", x, {"value": 0}), task_node("n0-0-0", "inc", {"x": x}))],
                        otherwise=task_node("n0-0-else", "upper", {"s": {"value": "a"}}), name="inner")
    spec = workflow_spec([branch_node("n0", [(compare(">", x, {"value": 1}), inner)],
                                     otherwise=task_node("n0-else", "inc", {"x": x}), name="outer")])
    check_spec_shape(spec)
    with pytest.raises(TypeMismatchError, match=r"conditional \[inner\]: branches give different outputs "
                                                r"\(\{o0: int\} vs \{o0: str\}\)"):
        compile_workflow(spec, TASKS)
    inner["else"] = task_node("n0-0-else", "inc", {"x": {"value": 0}})
    compiled = compile_workflow(spec, TASKS)
    assert compiled.order[compiled.key] == ["n0"] and set(compiled.tasks) == {key("inc")}
    inner["cases"][0]["then"] = {"id": "n0-0-0", "kind": "gate", "gate": "sleep", "name": "nap", "seconds": 1,
                                 "type": None, "upstream": []}
    with pytest.raises(ValidationError, match=r"conditional \[inner\]: a gate cannot be a branch of a conditional"):
        compile_workflow(spec, TASKS)
