"""A conditional case that calls a subworkflow: not inlined (its nodes would run whichever case is chosen) but
planned as one `subworkflow` case whose closure the dispatcher runs as a child execution (asl: C → D), like a
dynamic task's graph. Run remotely by tests/e2e/test_flytekit_idioms_remote.py."""

from chalicelib.compiler.asl import AslOptions, compile_asl
from chalicelib.compiler.plan import ExecutionPlan, binding_type, build_plan
from slipstream import conditional, task, workflow
from slipstream.serialization import LOCAL
from tests.support.asl import asl_errors


@task
def scale(x: int, factor: int) -> int:
    return x * factor


@workflow
def scaled(x: int, factor: int) -> int:
    return scale(x=scale(x=x, factor=factor), factor=1)


@workflow
def choose(x: int) -> int:
    big = conditional("size").if_(x > 5).then(scaled(x=x, factor=3)).else_().then(scale(x=x, factor=-1))
    return scale(x=big, factor=2)


def test_a_subworkflow_case_is_one_child_with_its_own_closure():
    assert (choose(x=7), choose(x=2)) == (42, -4)  # flytekit 1.16: 42, -4
    plan = build_plan(choose.compile(LOCAL))
    assert sorted(plan.nodes) == ["n0", "n3"]  # the subworkflow's two nodes are not inlined
    case = plan.nodes["n0"].branch["cases"][0]["then"]
    assert case["kind"] == "subworkflow" and case["inputs"] == {"x": {"input": "x"}, "factor": {"value": 3}}
    assert case["closure"]["workflow"]["id"]["name"].endswith(".scaled")
    assert binding_type(ExecutionPlan.from_dict(plan.to_dict()), {"promise": {"node": "n0", "output": "o0"}}) == \
        {"simple": "integer"}
    machines = compile_asl(plan, AslOptions())
    states = machines.definitions[machines.root]["States"]["Graph"]["Branches"][0]["States"]
    assert states["C.n0-0"]["Next"] == "D.n0-0" and states["C.n0-0"]["Parameters"]["MessageBody"]["t"] == "child"
    assert asl_errors(machines.definitions) == {}
