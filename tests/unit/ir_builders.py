"""Hand-written IR, as another language's SDK would send it: small builders for specs in tests."""

from __future__ import annotations

from typing import Any

INT = {"simple": "integer"}
FLOAT = {"simple": "float"}
STR = {"simple": "string"}
BOOL = {"simple": "boolean"}
DATETIME = {"simple": "datetime"}
PROJECT, DOMAIN = "p", "development"


def ident(name: str, version: str = "v1") -> dict[str, str]:
    return {"project": PROJECT, "domain": DOMAIN, "name": name, "version": version}


def key(name: str, version: str = "v1") -> str:
    return f"{PROJECT}/{DOMAIN}/{name}@{version}"


def variables(types: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, "type": t} for name, t in types.items()]


def task_spec(name: str, inputs: dict[str, Any], outputs: dict[str, Any], *, module: str = "m",
              task_type: str = "python", retries: int = 0, cache: bool = False) -> dict[str, Any]:
    return {
        "kind": "task", "schema_version": 1, "id": ident(name), "task_type": task_type,
        "interface": {"inputs": variables(inputs), "outputs": variables(outputs)},
        "function": {"module": module, "name": name},
        "metadata": {"cache": cache, "cache_version": "", "retries": retries, "timeout_seconds": None,
                     "interruptible": False},
        "container": {"image": None, "requests": {}, "limits": {}, "environment": {}, "secrets": []},
    }


def promise(node_id: str, output: str = "o0") -> dict[str, Any]:
    return {"promise": {"node": node_id, "output": output}}


def task_node(node_id: str, task_name: str, inputs: dict[str, Any], upstream: list[str] | None = None,
              version: str = "v1") -> dict[str, Any]:
    return {"id": node_id, "kind": "task", "task": ident(task_name, version), "inputs": inputs,
            "upstream": upstream or []}


def workflow_node(node_id: str, workflow_name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "kind": "workflow", "workflow": ident(workflow_name), "inputs": inputs, "upstream": []}


def map_node(node_id: str, task_name: str, inputs: dict[str, Any], mapped: list[str],
             min_success_ratio: float = 1.0) -> dict[str, Any]:
    return {"id": node_id, "kind": "map", "task": ident(task_name), "inputs": inputs, "mapped_inputs": mapped,
            "concurrency": None, "min_success_ratio": min_success_ratio, "upstream": []}


def branch_node(node_id: str, cases: list[tuple[dict[str, Any], dict[str, Any]]],
                otherwise: dict[str, Any] | None = None, fail: str | None = None, name: str = "b") -> dict[str, Any]:
    return {"id": node_id, "kind": "branch", "name": name, "upstream": [],
            "cases": [{"condition": c, "then": then} for c, then in cases], "else": otherwise, "else_fail": fail}


def compare(op: str, left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {"compare": {"op": op, "left": left, "right": right}}


def workflow_spec(nodes: list[dict[str, Any]], outputs: dict[str, Any] | None = None, *, name: str = "wf",
                  inputs: dict[str, Any] | None = None, outs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A workflow with input x: int and output o0: int by default, its output bound to the last node."""
    return {
        "kind": "workflow", "schema_version": 1, "id": ident(name),
        "interface": {"inputs": variables(inputs if inputs is not None else {"x": INT}),
                      "outputs": variables(outs if outs is not None else {"o0": INT})},
        "nodes": nodes,
        "outputs": outputs if outputs is not None else {"o0": promise(nodes[-1]["id"])},
    }


def launch_plan_spec(workflow_name: str = "wf", **fields: Any) -> dict[str, Any]:
    return {"kind": "launch_plan", "schema_version": 1, "id": ident("lp"), "workflow": ident(workflow_name),
            "default_inputs": {}, "fixed_inputs": {}, "schedule": None, "notifications": [], **fields}


INC = task_spec("inc", {"x": INT}, {"o0": INT})
UPPER = task_spec("upper", {"s": STR}, {"o0": STR})
TOTAL = task_spec("total", {"xs": {"list": INT}}, {"o0": INT})
MAYBE = task_spec("maybe", {"x": {"optional": INT}}, {"o0": INT})
TASKS = {key("inc"): INC, key("upper"): UPPER, key("total"): TOTAL, key("maybe"): MAYBE}
