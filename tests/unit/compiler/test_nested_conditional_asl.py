"""A nested conditional in the plan and in Amazon States Language: the outer branch waits for what any level
reads, its one W resolves every level's operands, and the inner conditional is a Choice reached from the outer
Choice (no W), whose cases' D states name the outer branch, the node its dependents wait for. The examples'
nested workflow (examples/conditionals.py:nested) is in the corpus of test_asl_valid.py; executed remotely by
tests/e2e/test_conditionals_remote.py."""

from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.compiler.asl import compile_asl
from chalicelib.compiler.plan import ExecutionPlan, binding_type, branch_operands, build_plan
from slipstream import conditional, task, workflow
from slipstream.serialization import LOCAL


@task
def t1(a: int) -> int:
    return a + 1


@task
def t2(a: int) -> int:
    return a * 2


@task
def t3(a: int) -> int:
    return -a


@workflow
def guarded(x: int, y: int) -> int:
    limit = t1(a=y)
    scale = t2(a=x)
    picked = (conditional("outer")
              .if_(x > 10).then(t1(a=x))
              .else_().then(conditional("inner")
                            .if_(limit < 0).then(t3(a=scale))
                            .else_().fail("y must be below -1")))
    return t2(a=picked)


@workflow
def compared_after(x: int, y: int) -> int:
    """A later conditional compares a nested conditional's output: its type comes from the first leaf case."""
    picked = (conditional("outer")
              .if_(x > 10).then(conditional("inner").if_(y < 0).then(t1(a=x)).else_().then(t2(a=x)))
              .else_().then(t3(a=x)))
    return conditional("after").if_(picked > 20).then(t3(a=picked)).else_().then(t1(a=picked))


def _branch_states(plan: ExecutionPlan, node_id: str) -> dict[str, Any]:
    machines = compile_asl(plan)  # asl-validator and cfn-lint read examples/conditionals.py:nested (test_asl_valid)
    branches = machines.definitions[machines.root]["States"]["Graph"]["Branches"]
    return next(b["States"] for b in branches if b["StartAt"] == f"W.{node_id}")


def test_the_outer_branch_waits_for_what_the_inner_conditional_reads():
    assert (guarded(x=11, y=5), guarded(x=3, y=-4)) == (24, -12)  # flytekit: t2(t1(11)); t2(t3(t2(3)))
    plan = build_plan(guarded.compile(LOCAL))
    assert sorted(plan.nodes) == ["n0", "n1", "n2", "n6"]
    assert plan.nodes["n2"].deps == ["n0", "n1"]  # n0 in the inner condition, n1 in the inner case's input
    assert branch_operands(plan.nodes["n2"]) == [{"input": "x"}, {"value": 10},
                                                 {"promise": {"node": "n0", "output": "o0"}}, {"value": 0}]
    found = ExecutionPlan.from_dict(plan.to_dict()).find("n2-else-0")
    assert found.kind == "task" and found.task.endswith(".t3@local")
    assert found.inputs == {"a": {"promise": {"node": "n1", "output": "o0"}}}


def test_the_inner_conditional_is_a_choice_after_the_outer_choice_and_its_cases_finish_the_outer_node():
    states = _branch_states(build_plan(guarded.compile(LOCAL)), "n2")
    assert states["W.n2"]["Next"] == "K.n2" and "W.n2-else" not in states
    assert states["K.n2"]["Default"] == "K.n2-else" and states["K.n2-else"]["Type"] == "Choice"
    inner = states["K.n2-else"]
    assert inner["Choices"][0]["Next"] == "R.n2-else-0"
    assert inner["Choices"][0]["Variable"] == "$.w.v2"  # n0's output, resolved by W.n2
    assert states["D.n2-else-0"]["Parameters"]["MessageBody"]["b"] == "n2"
    assert states["D.n2-0"]["Parameters"]["MessageBody"]["b"] == "n2"
    assert states[inner["Default"]] == {"Type": "Fail", "Error": "slipstream.ConditionalFailed",
                                        "Cause": "conditional [inner] failed: y must be below -1"}


def test_a_later_condition_on_a_nested_conditional_output_compares_its_type():
    assert [compared_after(x=x, y=y) for x, y in ((11, -1), (11, 0), (10, 0))] == [13, -22, -9]
    plan = build_plan(compared_after.compile(LOCAL))
    assert binding_type(plan, {"promise": {"node": "n0", "output": "o0"}}) == {"simple": "integer"}
    machines = compile_asl(plan)
    names = Counter(name for branch in machines.definitions[machines.root]["States"]["Graph"]["Branches"]
                    for name in branch["States"])
    assert [n for n, c in names.items() if c > 1] == []
    after = next(b["States"] for b in machines.definitions[machines.root]["States"]["Graph"]["Branches"]
                 if "K.n5" in b["States"])
    assert "NumericGreaterThanPath" in after["K.n5"]["Choices"][0]
