"""Every kind of state machine slipstream compiles, for the checkers in test_asl_valid.py: the examples'
workflows and launch plans, generated graphs (chains, fan-out/fan-in, N shapes, seeded random DAGs with
maps, list fan-ins, `>>` edges and varied task options), the same split into groups, maps that get a
group each, and the graph a dynamic task builds at run time.

Plans are built as the control plane builds them: a closure as registration stores it (JSON), then
`build_plan`, then `compile_asl`.
"""

from __future__ import annotations

import importlib
import json
import random
from pathlib import Path
from typing import Any

from chalicelib.compiler import CompiledWorkflow, compile_workflow
from chalicelib.compiler.asl import AslOptions, compile_asl
from chalicelib.compiler.plan import ExecutionPlan, build_plan
from slipstream.loader import entities_in
from slipstream.serialization import LOCAL, SerializationSettings

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
PROJECT, DOMAIN, VERSION = "gen", "development", "v1"
INT, INTS = {"simple": "integer"}, {"list": {"simple": "integer"}}


def plan_of(closure: dict[str, Any]) -> ExecutionPlan:
    """The plan ExecutionService builds from a stored closure."""
    return build_plan(CompiledWorkflow.from_closure(json.loads(json.dumps(closure))))


def example_plans() -> dict[str, ExecutionPlan]:
    """Every workflow of examples/*.py (launch plans run their workflow's plan), by `file:name`. Needs
    the examples on sys.path (the `examples_on_path` fixture)."""
    plans: dict[str, ExecutionPlan] = {}
    for path in sorted(EXAMPLES.glob("*.py")):
        module = importlib.import_module(path.stem)
        for attr, entity in sorted(vars(module).items()):
            if not any(entity is e for e in entities_in(module)) or entity.kind == "task":
                continue
            workflow = entity.workflow if entity.kind == "launch_plan" else entity
            try:
                plans[f"{path.name}:{attr}"] = plan_of(workflow.compile(LOCAL).closure())
            except NotImplementedError:  # refused by ExecutionService with a 400; nothing to compile
                continue
    return plans


def dynamic_child_plan(n: int = 4) -> ExecutionPlan:
    """The graph examples/dynamic_fanout.py's dynamic task builds for `n`, as the pod builds it
    (slipstream.entrypoint) and the dispatcher plans it (`Dispatcher._on_child`)."""
    dynamic_fanout = importlib.import_module("dynamic_fanout")
    workflow = dynamic_fanout.sum_of_squares.expand({"n": n})
    return plan_of(workflow.compile(SerializationSettings("default", "development", "dynamic")).closure())


# generated graphs

def _task(name: str, inputs: dict[str, Any], output: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "kind": "task", "schema_version": 1, "task_type": "python",
        "id": {"project": PROJECT, "domain": DOMAIN, "name": f"gen.{name}", "version": VERSION},
        "interface": {"inputs": [{"name": k, "type": t} for k, t in inputs.items()],
                      "outputs": [{"name": "o0", "type": output}]},
        "function": {"module": "gen", "name": name},
        "metadata": {"cache": False, "cache_version": "", "retries": 0, "timeout_seconds": None,
                     "interruptible": False, **metadata},
        "container": {"image": None, "requests": {}, "limits": {}, "environment": {}, "secrets": []},
    }


TASKS = {
    "inc": _task("inc", {"x": INT}, INT, retries=2, timeout_seconds=600),
    "add": _task("add", {"a": INT, "b": INT}, INT),
    "total": _task("total", {"values": INTS}, INT, interruptible=True, timeout_seconds=30),
}
TASK_KEYS = {name: f"{PROJECT}/{DOMAIN}/gen.{name}@{VERSION}" for name in TASKS}


def _node(node_id: str, task: str, inputs: dict[str, Any], upstream: list[str] | None = None,
          mapped: str | None = None) -> dict[str, Any]:
    node = {"id": node_id, "kind": "map" if mapped else "task", "task": TASKS[task]["id"], "inputs": inputs,
            "upstream": upstream or []}
    if mapped:
        node.update(mapped_inputs=[mapped], concurrency=None, min_success_ratio=1.0)
    return node


def _promise(node_id: str) -> dict[str, Any]:
    return {"promise": {"node": node_id, "output": "o0"}}


def generated_closure(name: str, nodes: list[dict[str, Any]], output: str) -> dict[str, Any]:
    """A workflow over gen.inc/add/total with inputs x: int and xs: list[int], closed as registration does."""
    spec = {
        "kind": "workflow", "schema_version": 1,
        "id": {"project": PROJECT, "domain": DOMAIN, "name": f"gen.{name}", "version": VERSION},
        "interface": {"inputs": [{"name": "x", "type": INT}, {"name": "xs", "type": INTS}],
                      "outputs": [{"name": "o0", "type": INT}]},
        "nodes": nodes, "outputs": {"o0": _promise(output)},
    }
    return compile_workflow(spec, {TASK_KEYS[k]: t for k, t in TASKS.items()}).closure()


def chain(size: int) -> dict[str, Any]:
    nodes = [_node(f"n{i}", "inc", {"x": {"input": "x"} if i == 0 else _promise(f"n{i - 1}")}) for i in range(size)]
    return generated_closure(f"chain{size}", nodes, f"n{size - 1}")


def fan_out_fan_in(width: int) -> dict[str, Any]:
    nodes = [_node(f"n{i}", "inc", {"x": {"input": "x"}}) for i in range(width)]
    nodes.append(_node(f"n{width}", "total", {"values": {"list": [_promise(f"n{i}") for i in range(width)]}}))
    return generated_closure(f"fan{width}", nodes, f"n{width}")


def n_shape() -> dict[str, Any]:
    """a → c, a → d, b → d: not series-parallel."""
    nodes = [_node("n0", "inc", {"x": {"input": "x"}}), _node("n1", "inc", {"x": {"input": "x"}}),
             _node("n2", "inc", {"x": _promise("n0")}),
             _node("n3", "add", {"a": _promise("n0"), "b": _promise("n1")})]
    return generated_closure("nshape", nodes, "n3")


def random_dag(seed: int, size: int) -> dict[str, Any]:
    """Nodes that read the inputs or earlier nodes: inc, add, maps over xs, list fan-ins, `>>` edges."""
    rng = random.Random(seed)
    ints: list[dict[str, Any]] = [{"input": "x"}]
    lists: list[dict[str, Any]] = [{"input": "xs"}]
    nodes: list[dict[str, Any]] = []
    for i in range(size):
        node_id = f"n{i}"
        upstream = sorted(rng.sample([n["id"] for n in nodes], k=min(len(nodes), rng.choice([0, 0, 1]))))
        kind = rng.choice(["inc", "add", "add", "map", "total"])
        if kind == "map":
            nodes.append(_node(node_id, "inc", {"x": rng.choice(lists)}, upstream, mapped="x"))
            lists.append(_promise(node_id))
            continue
        if kind == "inc":
            inputs = {"x": rng.choice(ints)}
        elif kind == "add":
            inputs = {"a": rng.choice(ints), "b": rng.choice(ints)}
        else:
            many = {"list": rng.sample(ints, k=min(len(ints), 3))}
            inputs = {"values": rng.choice([rng.choice(lists), many])}
        nodes.append(_node(node_id, kind, inputs, upstream))
        ints.append(_promise(node_id))
    last_int = next(n["id"] for n in reversed(nodes) if n["kind"] == "task")
    return generated_closure(f"random{seed}", nodes, last_int)


def generated_plans() -> dict[str, ExecutionPlan]:
    closures = {"chain1": chain(1), "chain12": chain(12), "fan8": fan_out_fan_in(8), "nshape": n_shape()}
    closures.update({f"random{seed}": random_dag(seed, 3 + seed % 25) for seed in range(24)})
    return {name: plan_of(closure) for name, closure in closures.items() if any(
        n["kind"] == "task" for n in closure["workflow"]["nodes"])}


# every definition

SPLITS = (AslOptions(max_nodes_per_machine=1), AslOptions(max_nodes_per_machine=3))  # groups: C states
MAP_PER_GROUP = AslOptions(distributed_map_threshold=3000)  # a map's item events fill a group by themselves


def corpus() -> dict[str, tuple[ExecutionPlan, AslOptions]]:
    """(plan, options) by label: every example and generated plan, as is, split, and with heavy maps."""
    plans = {**example_plans(), **generated_plans(), "dynamic_fanout.py:sum_of_squares(n=4)": dynamic_child_plan()}
    found: dict[str, tuple[ExecutionPlan, AslOptions]] = {}
    for label, plan in plans.items():
        found[label] = (plan, AslOptions())
        for split in SPLITS:
            if len(plan.nodes) > split.max_nodes_per_machine:
                found[f"{label} split by {split.max_nodes_per_machine}"] = (plan, split)
        if any(node.kind == "map" for node in plan.nodes.values()):
            found[f"{label} heavy maps"] = (plan, MAP_PER_GROUP)
    return found


def all_definitions() -> dict[str, dict[str, Any]]:
    """Every state machine definition of the corpus, by `<label> <machine name>`."""
    definitions: dict[str, dict[str, Any]] = {}
    for label, (plan, options) in corpus().items():
        machines = compile_asl(plan, options)
        definitions.update({f"{label} {name}": d for name, d in machines.definitions.items()})
    return definitions
