"""The local engine: runs a compiled workflow (the IR, not the Python body) in this process.

It interprets the same closure that Step Functions runs remotely: nodes in dependency order, values as
JSON literals between nodes, retries, the cache, conditionals, map tasks, subworkflows and dynamic
expansion.
"""

from __future__ import annotations

import importlib
import operator
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.bindings import follow
from chalicelib.compiler import CompiledWorkflow
from chalicelib.errors import ExecutionError, TaskFailedError, ValidationError
from chalicelib.spec.entities import ref_key
from slipstream.cache import LocalCache, cache_key
from slipstream.serialization import LOCAL, closure_entities

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge,
}


@dataclass
class NodeRecord:
    """What happened to one node (or one map item): for progress output and `--json`."""

    node_id: str
    task: str | None
    phase: str = "RUNNING"
    attempts: int = 0
    cache_hit: bool = False
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    error: str | None = None


def import_task(task_spec: dict[str, Any]) -> Any:
    """Find a task's Python object by the module and name its spec records (how a pod finds it)."""
    module_name, qualname = task_spec["function"]["module"], task_spec["function"]["name"]
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise TaskFailedError(f"task [{task_spec['id']['name']}]: cannot import {module_name}.{qualname} ({exc})",
                              kind="system") from exc
    return obj


class _Scope:
    def __init__(self, inputs: dict[str, Any]) -> None:
        self.inputs = inputs
        self.results: dict[str, dict[str, Any]] = {}

    def resolve(self, binding: dict[str, Any]) -> Any:
        if "value" in binding:
            return binding["value"]
        if "input" in binding:
            return self.inputs[binding["input"]]
        if "promise" in binding:
            return self.results[binding["promise"]["node"]][binding["promise"]["output"]]
        if "attr" in binding:
            return follow(self.resolve(binding["attr"]["of"]), binding["attr"]["path"])
        if "list" in binding:
            return [self.resolve(b) for b in binding["list"]]
        return {k: self.resolve(b) for k, b in binding["map"].items()}

    def holds(self, condition: dict[str, Any]) -> bool:
        if "and" in condition:
            return all(self.holds(c) for c in condition["and"])
        if "or" in condition:
            return any(self.holds(c) for c in condition["or"])
        if "is_none" in condition:
            return self.resolve(condition["is_none"]) is None
        compare = condition["compare"]
        left, right = self.resolve(compare["left"]), self.resolve(compare["right"])
        try:
            return _COMPARE[compare["op"]](left, right)
        except TypeError as exc:
            raise ExecutionError(f"cannot compare {left!r} {compare['op']} {right!r}") from exc


class LocalEngine:
    def __init__(self, tasks: dict[str, Any] | None = None, cache: LocalCache | None = None,
                 on_event: Callable[[NodeRecord], None] | None = None, gates: Any = None) -> None:
        self.tasks = dict(tasks or {})  # ref key → task object; others are imported
        self.gates = gates  # slipstream.gates.GateAnswers: --signal values, else a terminal prompt
        self.cache = cache
        self.on_event = on_event or (lambda record: None)
        self.records: list[NodeRecord] = []

    def run(self, compiled: CompiledWorkflow, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._run_workflow(compiled, compiled.key, inputs, "")

    def _run_workflow(
        self, compiled: CompiledWorkflow, key: str, inputs: dict[str, Any], prefix: str
    ) -> dict[str, Any]:
        spec = compiled.spec_of(key)
        nodes = {node["id"]: node for node in spec["nodes"]}
        scope = _Scope(inputs)
        for node_id in compiled.order[key]:
            scope.results[node_id] = self._run_node(compiled, nodes[node_id], scope, prefix)
        return {name: scope.resolve(binding) for name, binding in spec["outputs"].items()}

    def _run_node(self, compiled: CompiledWorkflow, node: dict[str, Any], scope: _Scope, prefix: str) -> dict[str, Any]:
        path = prefix + node["id"]
        kind = node["kind"]
        if kind == "branch":
            for case in node["cases"]:
                if scope.holds(case["condition"]):
                    return self._run_node(compiled, case["then"], scope, prefix)
            if node["else"] is not None:
                return self._run_node(compiled, node["else"], scope, prefix)
            raise ExecutionError(f"conditional [{node['name']}] failed: {node['else_fail']}")
        if kind == "gate":
            return self._run_gate(node, scope, path)
        if kind == "workflow":
            key = ref_key(node["workflow"])
            sub = compiled.subworkflows[key]
            return self._run_workflow(compiled, key, _call_inputs(sub, node, scope), path + "/")
        task_spec = compiled.tasks[ref_key(node["task"])]
        if kind == "map":
            return self._run_map(task_spec, node, scope, path)
        return self._run_task(task_spec, _call_inputs(task_spec, node, scope), path)

    def _run_map(self, task_spec: dict[str, Any], node: dict[str, Any], scope: _Scope, path: str) -> dict[str, Any]:
        inputs = _call_inputs(task_spec, node, scope)
        mapped = node["mapped_inputs"]
        lengths = {name: len(inputs[name]) for name in mapped}
        if len(set(lengths.values())) > 1:
            raise ExecutionError(f"map task [{path}]: mapped inputs have different lengths {lengths}")
        count = next(iter(lengths.values()))
        names = [v["name"] for v in task_spec["interface"]["outputs"]]
        outputs: dict[str, list[Any]] = {name: [] for name in names}
        failures: list[str] = []
        for i in range(count):
            item = {n: (v[i] if n in mapped else v) for n, v in inputs.items()}
            try:
                result = self._run_task(task_spec, item, f"{path}[{i}]")
            except TaskFailedError as exc:
                failures.append(str(exc))
                result = dict.fromkeys(names)
            for name in names:
                outputs[name].append(result[name])
        succeeded = count - len(failures)
        if count and succeeded / count < node["min_success_ratio"]:
            raise TaskFailedError(f"map task [{path}]: {succeeded} of {count} items succeeded, below "
                                  f"min_success_ratio {node['min_success_ratio']}; first failure: {failures[0]}",
                                  node_id=path)
        return outputs

    def _run_gate(self, node: dict[str, Any], scope: _Scope, path: str) -> dict[str, Any]:
        from slipstream.gates import GateAnswers

        if self.gates is None:
            self.gates = GateAnswers()
        record = NodeRecord(path, None)
        self.records.append(record)
        upstream = scope.resolve(node["inputs"]["value"]) if "value" in node.get("inputs", {}) else None
        try:
            outputs = self.gates.resolve(node, upstream, path)
        except (ExecutionError, ValidationError) as exc:
            self._fail(record, str(exc))
            raise
        record.phase, record.ended_at = "SUCCEEDED", time.time()
        self.on_event(record)
        return outputs

    def _task_object(self, task_spec: dict[str, Any]) -> Any:
        key = ref_key(task_spec["id"])
        base = ref_key({**task_spec["id"], "version": task_spec["id"]["version"].split("~")[0]})
        task = self.tasks.get(key) or self.tasks.get(base)  # "~": a node's overrides (compiler.overrides)
        if task is None:
            task = self.tasks[key] = import_task(task_spec)
        return task

    def _run_task(self, task_spec: dict[str, Any], inputs: dict[str, Any], path: str) -> dict[str, Any]:
        task = self._task_object(task_spec)
        if task_spec["task_type"] == "dynamic":
            return self._run_dynamic(task, inputs, path)
        record = NodeRecord(path, task_spec["id"]["name"])
        self.records.append(record)
        metadata = task_spec["metadata"]
        key = cache_key(task_spec, inputs) if metadata["cache"] and self.cache else None
        if key is not None:
            cached = self.cache.get(key)  # type: ignore[union-attr]
            if cached is not None:
                record.cache_hit, record.phase, record.ended_at = True, "SUCCEEDED", time.time()
                self.on_event(record)
                return cached
        attempts = metadata["retries"] + 1
        for attempt in range(1, attempts + 1):
            record.attempts = attempt
            try:
                outputs = task.execute(inputs)
                break
            except TaskFailedError as exc:
                exc.node_id = path
                self._fail(record, str(exc))
                raise
            except Exception as exc:  # the task's own error: retry, then report it
                if attempt == attempts:
                    message = (f"task [{task_spec['id']['name']}] (node [{path}]) failed after {attempt} "
                               f"attempt{'s' if attempt > 1 else ''}: {type(exc).__name__}: {exc}")
                    self._fail(record, message)
                    raise TaskFailedError(message, node_id=path, kind="user",
                                          traceback_tail="".join(traceback.format_exception(exc)[-3:])) from exc
        if key is not None:
            self.cache.put(key, outputs)  # type: ignore[union-attr]
        record.phase, record.ended_at = "SUCCEEDED", time.time()
        self.on_event(record)
        return outputs

    def _fail(self, record: NodeRecord, message: str) -> None:
        record.phase, record.ended_at, record.error = "FAILED", time.time(), message
        self.on_event(record)

    def _run_dynamic(self, task: Any, inputs: dict[str, Any], path: str) -> dict[str, Any]:
        try:
            workflow = task.expand(inputs)
        except ValidationError as exc:
            raise TaskFailedError(f"dynamic task [{task.name}] (node [{path}]) built an invalid graph: {exc}",
                                  node_id=path) from exc
        for entity in closure_entities(workflow).values():
            if entity.kind == "task":
                self.tasks.setdefault(LOCAL.key(entity.name), entity)
        compiled = workflow.compile(LOCAL)
        return self._run_workflow(compiled, compiled.key, {}, path + "/")


def _call_inputs(callee: dict[str, Any], node: dict[str, Any], scope: _Scope) -> dict[str, Any]:
    """A node's input values: its bindings, then the callee's defaults, then None for Optional inputs."""
    values: dict[str, Any] = {}
    for var in callee["interface"]["inputs"]:
        name = var["name"]
        if name in node["inputs"]:
            values[name] = scope.resolve(node["inputs"][name])
        elif "default" in var:
            values[name] = var["default"]
        else:
            values[name] = None
    return values
