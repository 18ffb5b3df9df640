"""The execution plan: a compiled workflow flattened into the nodes that actually run.

Subworkflow nodes are inlined (their nodes become `<parent>.<child>`), so a subworkflow adds no
scheduling step and no false dependency. Every binding is rewritten over the flattened ids. The plan is
what the dispatcher reads at run time to resolve a node's inputs, and what `asl` turns into states.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from chalicelib.compiler.workflows import CompiledWorkflow
from chalicelib.spec.entities import ref_key
from chalicelib.spec.types import path_type


@dataclass
class PlanNode:
    id: str  # flattened: "n0", "n1.n0" (inside subworkflow n1)
    kind: str  # task | map | branch | gate | subworkflow (only as a conditional case)
    deps: list[str] = field(default_factory=list)
    task: str | None = None  # ref key of the task (task and map nodes)
    inputs: dict[str, Any] = field(default_factory=dict)  # name → binding over flattened ids
    mapped_inputs: list[str] = field(default_factory=list)
    concurrency: int | None = None
    min_success_ratio: float = 1.0
    batch_size: int | None = None  # map items per pod (slipstream.map_task)
    # name, cases [{condition, then: PlanNode dict}], else, else_fail; a case may be a branch itself (nested)
    branch: dict[str, Any] | None = None
    gate: dict[str, Any] | None = None  # gate (sleep | signal | approve), name, seconds, type
    closure: dict[str, Any] | None = None  # subworkflow (a conditional case calling one): its compiled closure

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [], {})}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanNode:
        return cls(**data)


@dataclass
class ExecutionPlan:
    nodes: dict[str, PlanNode]
    outputs: dict[str, Any]  # workflow output → binding over flattened ids
    tasks: dict[str, Any]  # ref key → task spec
    output_types: dict[str, Any]  # workflow output → literal type
    input_types: dict[str, Any]

    def find(self, node_id: str) -> PlanNode:
        """A node by id, including the case nodes inside branches (nested conditionals too)."""
        if node_id in self.nodes:
            return self.nodes[node_id]
        pending = [case for node in self.nodes.values() for case in case_nodes(node.branch)]
        while pending:
            case = pending.pop()
            if case["id"] == node_id:
                return PlanNode.from_dict(case)
            pending.extend(case_nodes(case.get("branch")))
        raise KeyError(node_id)

    @functools.cached_property
    def dependents(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {node_id: [] for node_id in self.nodes}
        for node in self.nodes.values():
            for dep in node.deps:
                found[dep].append(node.id)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": {k: n.to_dict() for k, n in self.nodes.items()}, "outputs": self.outputs,
                "tasks": self.tasks, "output_types": self.output_types, "input_types": self.input_types}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExecutionPlan:
        return cls({k: PlanNode.from_dict(n) for k, n in data["nodes"].items()}, data["outputs"], data["tasks"],
                   data["output_types"], data["input_types"])


def case_nodes(branch: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A branch's case nodes (PlanNode dicts), its else's last."""
    if not branch:
        return []
    found = [case["then"] for case in branch["cases"]]
    return found + [branch["else"]] if branch.get("else") else found


def first_leaf(node: dict[str, Any]) -> dict[str, Any]:
    """The node whose outputs a branch's outputs are shaped like: its first case's, through nested branches."""
    while node.get("branch"):
        node = node["branch"]["cases"][0]["then"]
    return node


def build_plan(compiled: CompiledWorkflow) -> ExecutionPlan:
    flattener = _Flattener(compiled)
    workflow = compiled.workflow
    top = {v["name"]: {"input": v["name"]} for v in workflow["interface"]["inputs"]}
    outputs = flattener.inline(compiled.key, "", top, [])
    return ExecutionPlan(
        flattener.nodes, outputs, compiled.tasks,
        {v["name"]: v["type"] for v in workflow["interface"]["outputs"]},
        {v["name"]: v["type"] for v in workflow["interface"]["inputs"]},
    )


class _Flattener:
    def __init__(self, compiled: CompiledWorkflow) -> None:
        self.compiled = compiled
        self.nodes: dict[str, PlanNode] = {}
        self.added: list[str] = []  # flattened ids in the order they were added

    def inline(self, key: str, prefix: str, inputs: dict[str, Any], extra_deps: list[str]) -> dict[str, Any]:
        """Add the nodes of workflow `key` under `prefix`; returns its outputs as bindings."""
        spec = self.compiled.spec_of(key)
        by_id = {node["id"]: node for node in spec["nodes"]}
        produced: dict[str, dict[str, Any]] = {}  # local node id → output → binding over flattened ids
        members: dict[str, list[str]] = {}  # local node id → flattened ids it became
        for local_id in self.compiled.order[key]:
            node = by_id[local_id]
            flat_id = prefix + local_id
            start = len(self.added)
            upstream = [m for dep in node.get("upstream", []) for m in members[dep]]

            def rewrite(binding: Any, _produced: dict[str, Any] = produced) -> Any:
                return _rewrite(binding, inputs, _produced)

            if node["kind"] == "workflow":
                sub_key = ref_key(node["workflow"])
                sub_spec = self.compiled.spec_of(sub_key)
                sub_inputs = _call_bindings(sub_spec, node, rewrite)
                produced[local_id] = self.inline(sub_key, flat_id + ".", sub_inputs, extra_deps + upstream)
            else:
                plan_node = self._node(node, flat_id, rewrite)
                plan_node.deps = sorted(set(_deps(plan_node)) | set(extra_deps) | set(upstream))
                self.nodes[flat_id] = plan_node
                self.added.append(flat_id)
                outputs = self._outputs_of(node)
                produced[local_id] = {o: {"promise": {"node": flat_id, "output": o}} for o in outputs}
            members[local_id] = self.added[start:]
        return {name: _rewrite(binding, inputs, produced) for name, binding in spec["outputs"].items()}

    def _outputs_of(self, node: dict[str, Any]) -> list[str]:
        if node["kind"] == "branch":
            first = node["cases"][0]["then"]
            return self._outputs_of(first)
        if node["kind"] == "workflow":
            return [v["name"] for v in self.compiled.spec_of(ref_key(node["workflow"]))["interface"]["outputs"]]
        if node["kind"] == "gate":
            return [] if node["gate"] == "sleep" else ["o0"]
        return [v["name"] for v in self.compiled.tasks[ref_key(node["task"])]["interface"]["outputs"]]

    def _node(self, node: dict[str, Any], flat_id: str, rewrite: Any) -> PlanNode:
        if node["kind"] == "branch":
            cases = [{"condition": _rewrite_condition(c["condition"], rewrite),
                      "then": self._case_node(c["then"], f"{flat_id}-{i}", rewrite).to_dict()}
                     for i, c in enumerate(node["cases"])]
            otherwise = node.get("else")
            return PlanNode(flat_id, "branch", branch={
                "name": node["name"], "cases": cases,
                "else": self._case_node(otherwise, f"{flat_id}-else", rewrite).to_dict() if otherwise else None,
                "else_fail": node.get("else_fail"),
            })
        if node["kind"] == "gate":
            inputs = {name: rewrite(b) for name, b in node.get("inputs", {}).items()}
            return PlanNode(flat_id, "gate", inputs=inputs,
                            gate={k: node[k] for k in ("gate", "name", "seconds", "type")})
        task_key = ref_key(node["task"])
        inputs = _call_bindings(self.compiled.tasks[task_key], node, rewrite)
        if node["kind"] == "map":
            return PlanNode(flat_id, "map", task=task_key, inputs=inputs, mapped_inputs=list(node["mapped_inputs"]),
                            concurrency=node["concurrency"], min_success_ratio=node["min_success_ratio"],
                            batch_size=node.get("batch_size"))
        return PlanNode(flat_id, "task", task=task_key, inputs=inputs)

    def _case_node(self, node: dict[str, Any], flat_id: str, rewrite: Any) -> PlanNode:
        if node["kind"] == "workflow":
            case = self._subworkflow_case(node, flat_id, rewrite)
        else:
            case = self._node(node, flat_id, rewrite)
        case.deps = sorted(_deps(case))
        return case

    def _subworkflow_case(self, node: dict[str, Any], flat_id: str, rewrite: Any) -> PlanNode:
        """A case that calls a subworkflow cannot be inlined (its nodes would run whatever the condition says),
        so it runs as a child execution of its own closure, as a dynamic task's graph does (asl: C)."""
        key = ref_key(node["workflow"])
        spec = self.compiled.spec_of(key)
        closure = {**self.compiled.closure(), "workflow": spec,
                   "subworkflows": {k: v for k, v in self.compiled.subworkflows.items() if k != key}}
        return PlanNode(flat_id, "subworkflow", inputs=_call_bindings(spec, node, rewrite), closure=closure)



def _call_bindings(callee: dict[str, Any], node: dict[str, Any], rewrite: Any) -> dict[str, Any]:
    """Every input of the callee bound: the node's bindings, else the default, else None (Optional)."""
    bound: dict[str, Any] = {}
    for var in callee["interface"]["inputs"]:
        name = var["name"]
        if name in node.get("inputs", {}):
            bound[name] = rewrite(node["inputs"][name])
        else:
            bound[name] = {"value": var.get("default")}
    return bound


def _rewrite(binding: Any, inputs: dict[str, Any], produced: dict[str, dict[str, Any]]) -> Any:
    if "input" in binding:
        return inputs[binding["input"]]
    if "promise" in binding:
        return produced[binding["promise"]["node"]][binding["promise"]["output"]]
    if "attr" in binding:
        return {"attr": {"of": _rewrite(binding["attr"]["of"], inputs, produced), "path": binding["attr"]["path"]}}
    if "list" in binding:
        return {"list": [_rewrite(b, inputs, produced) for b in binding["list"]]}
    if "map" in binding:
        return {"map": {k: _rewrite(b, inputs, produced) for k, b in binding["map"].items()}}
    return binding


def _rewrite_condition(condition: dict[str, Any], rewrite: Any) -> dict[str, Any]:
    if "compare" in condition:
        c = condition["compare"]
        return {"compare": {"op": c["op"], "left": rewrite(c["left"]), "right": rewrite(c["right"])}}
    if "is_none" in condition:
        return {"is_none": rewrite(condition["is_none"])}
    key = "and" if "and" in condition else "or"
    return {key: [_rewrite_condition(c, rewrite) for c in condition[key]]}


def _sources(binding: Any) -> list[str]:
    if "promise" in binding:
        return [binding["promise"]["node"]]
    if "attr" in binding:
        return _sources(binding["attr"]["of"])
    items = binding.get("list") or list((binding.get("map") or {}).values())
    return [s for b in items for s in _sources(b)]


def _condition_sources(condition: dict[str, Any]) -> list[str]:
    if "compare" in condition:
        return _sources(condition["compare"]["left"]) + _sources(condition["compare"]["right"])
    if "is_none" in condition:
        return _sources(condition["is_none"])
    return [s for c in condition.get("and") or condition.get("or") or [] for s in _condition_sources(c)]


def _deps(node: PlanNode) -> list[str]:
    found = [s for b in node.inputs.values() for s in _sources(b)]
    if node.branch:
        for case in node.branch["cases"]:
            found += _condition_sources(case["condition"]) + case["then"].get("deps", [])
            found += [s for b in case["then"].get("inputs", {}).values() for s in _sources(b)]
        if node.branch["else"]:  # a nested conditional's deps hold its conditions' and cases' sources
            found += node.branch["else"].get("deps", [])
            found += [s for b in node.branch["else"].get("inputs", {}).values() for s in _sources(b)]
    return sorted(set(found))


def branch_operands(node: PlanNode) -> list[Any]:
    """The bindings a branch's conditions read, in a fixed order: the dispatcher resolves them into
    `$.w.v<i>` for the Choice state, which `asl` compiles against the same order. A nested conditional's
    conditions are the outer branch's operands too: they read only what the outer branch waited for, so one W
    resolves them all and the inner Choice reads the same `$.w`."""
    found: list[Any] = []

    def walk(condition: dict[str, Any]) -> None:
        if "compare" in condition:
            found.extend([condition["compare"]["left"], condition["compare"]["right"]])
        elif "is_none" in condition:
            found.append(condition["is_none"])
        else:
            for part in condition.get("and") or condition.get("or") or []:
                walk(part)

    pending = [node.branch]
    while pending:
        branch = pending.pop(0)
        for case in (branch or {}).get("cases", []):
            walk(case["condition"])
        pending.extend(case.get("branch") for case in case_nodes(branch) if case.get("branch"))
    return found


def binding_type(plan: ExecutionPlan, binding: Any) -> Any:
    """The literal type a binding reads (None for constants and collections)."""
    if "attr" in binding:
        base = binding_type(plan, binding["attr"]["of"])
        return None if base is None else path_type(base, binding["attr"]["path"])
    if "input" in binding:
        return plan.input_types[binding["input"]]
    if "promise" not in binding:
        return None
    node = plan.nodes[binding["promise"]["node"]]
    if node.kind == "gate":
        return node.gate["type"]  # type: ignore[index]
    if node.kind == "branch":
        first = first_leaf(node.branch["cases"][0]["then"])  # type: ignore[index]
        task = first["closure"]["workflow"] if first.get("closure") else plan.tasks[first["task"]]
    else:
        task = plan.tasks[node.task]  # type: ignore[index]
    outputs = {v["name"]: v["type"] for v in task["interface"]["outputs"]}
    return outputs[binding["promise"]["output"]]
