"""Compile a workflow spec against the specs it calls: check every reference, binding and type, order
the nodes, and close the workflow over its tasks and subworkflows.

The result (`CompiledWorkflow`) is what both engines run: the local engine in-process and, after
`compiler.asl`, Step Functions. Pure: no I/O, no clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.compiler.graph import dependencies, topological_order
from chalicelib.compiler.overrides import apply_overrides
from chalicelib.errors import TypeMismatchError, UnknownReferenceError, ValidationError
from chalicelib.spec import types as lt
from chalicelib.spec.entities import Spec, iter_nodes, ref_key
from chalicelib.spec.identifiers import check_name

Types = dict[str, lt.LiteralType]
_COMPARABLE = ("integer", "float", "string", "boolean", "datetime", "date", "duration")


@dataclass(frozen=True)
class CompiledWorkflow:
    """A workflow closed over everything it calls, with its top-level nodes in dependency order."""

    workflow: Spec
    tasks: dict[str, Spec]
    subworkflows: dict[str, Spec]
    order: dict[str, list[str]] = field(default_factory=dict)  # workflow key → node ids in order
    upstream: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # workflow key → node → deps

    @property
    def key(self) -> str:
        return ref_key(self.workflow["id"])

    def closure(self) -> dict[str, Any]:
        """The JSON document stored for a registered workflow."""
        return {
            "workflow": self.workflow,
            "tasks": self.tasks,
            "subworkflows": self.subworkflows,
            "order": self.order,
            "upstream": self.upstream,
        }

    @classmethod
    def from_closure(cls, closure: Mapping[str, Any]) -> CompiledWorkflow:
        return cls(
            closure["workflow"], dict(closure["tasks"]), dict(closure["subworkflows"]),
            dict(closure["order"]), dict(closure["upstream"]),
        )

    def spec_of(self, workflow_key: str) -> Spec:
        return self.workflow if workflow_key == self.key else self.subworkflows[workflow_key]


def compile_workflow(
    workflow: Spec, tasks: Mapping[str, Spec], workflows: Mapping[str, Spec] | None = None
) -> CompiledWorkflow:
    """Check `workflow` against `tasks` and `workflows` (keyed by `ref_key`) and close it over them."""
    compiler = _Compiler(tasks, workflows or {})
    compiler.compile(workflow)
    primary = ref_key(workflow["id"])
    subworkflows = {k: v for k, v in compiler.used_workflows.items() if k != primary}
    return CompiledWorkflow(compiler.used_workflows[primary], compiler.used_tasks, subworkflows, compiler.order,
                            compiler.upstream)


def check_interface(owner: str, interface: Mapping[str, Any]) -> None:
    for direction in ("inputs", "outputs"):
        seen: set[str] = set()
        for var in interface[direction]:
            name = var["name"]
            if not name.isidentifier():
                raise ValidationError(f"{owner}: {direction[:-1]} name [{name}] must be a Python identifier")
            if name in seen:
                raise ValidationError(f"{owner}: {direction[:-1]} [{name}] is declared twice")
            seen.add(name)
            lt.check_type(var["type"], f"{owner} {direction[:-1]} [{name}]")
            if "default" in var:
                lt.validate_value(var["type"], var["default"], f"{owner} default of input [{name}]")


def required_inputs(inputs: list[dict[str, Any]]) -> list[str]:
    """Inputs that must be given: no default and not Optional (Optional ones default to None)."""
    return [v["name"] for v in inputs if "default" not in v and "optional" not in v["type"]]


class _Compiler:
    def __init__(self, tasks: Mapping[str, Spec], workflows: Mapping[str, Spec]) -> None:
        self.tasks = dict(tasks)  # plus the task specs of overridden nodes (compiler.overrides)
        self.workflows = workflows
        self.used_tasks: dict[str, Spec] = {}
        self.used_workflows: dict[str, Spec] = {}
        self.order: dict[str, list[str]] = {}
        self.upstream: dict[str, dict[str, list[str]]] = {}
        self._visiting: list[str] = []

    def compile(self, workflow: Spec) -> None:
        key = ref_key(workflow["id"])
        if key in self.used_workflows:
            return
        if key in self._visiting:
            chain = " -> ".join(self._visiting[self._visiting.index(key):] + [key])
            raise ValidationError(f"workflows call each other in a loop [{chain}]; a workflow cannot contain itself")
        self._visiting.append(key)
        name = workflow["id"]["name"]
        owner = f"workflow [{name}]"
        check_interface(owner, workflow["interface"])
        workflow, derived = apply_overrides(owner, workflow, self.tasks)
        self.tasks.update(derived)
        seen: set[str] = set()
        for node in iter_nodes(workflow["nodes"]):
            check_name("node id", node["id"])
            if node["id"] in seen:
                raise ValidationError(f"{owner}: node id [{node['id']}] is used twice; node ids must be unique")
            seen.add(node["id"])
        signals = [n["name"] for n in workflow["nodes"] if n["kind"] == "gate" and n["gate"] != "sleep"]
        if len(signals) != len(set(signals)):
            raise ValidationError(f"{owner}: gates {sorted(signals)} repeat a name; each signal needs its own name")
        deps = dependencies(name, workflow["nodes"])
        order = topological_order(name, deps)
        env = _Env(owner, {v["name"]: v["type"] for v in workflow["interface"]["inputs"]})
        by_id = {node["id"]: node for node in workflow["nodes"]}
        for node_id in order:
            env.node_outputs[node_id] = self._node_outputs(env, by_id[node_id])
        self._check_workflow_outputs(env, workflow)
        self._visiting.pop()
        self.used_workflows[key] = workflow
        self.order[key] = order
        self.upstream[key] = {n: sorted(d) for n, d in deps.items()}

    def _check_workflow_outputs(self, env: _Env, workflow: Spec) -> None:
        declared = {v["name"]: v["type"] for v in workflow["interface"]["outputs"]}
        bound = workflow["outputs"]
        for name in sorted(set(bound) - set(declared)):
            raise UnknownReferenceError(f"{env.owner} binds output [{name}], which its interface does not declare")
        for name, t in declared.items():
            if name not in bound:
                raise ValidationError(f"{env.owner} declares output [{name}] but never binds it; return a value for it")
            env.check_binding(f"{env.owner} output [{name}]", bound[name], t)

    def _callee(self, env: _Env, node: dict[str, Any]) -> tuple[str, Spec]:
        kind = "workflow" if node["kind"] == "workflow" else "task"
        ref = node[kind]
        key = ref_key(ref)
        pool = self.workflows if kind == "workflow" else self.tasks
        spec = pool.get(key)
        if spec is None:
            raise UnknownReferenceError(
                f"{env.owner} node [{node['id']}] calls {kind} [{key}], which is neither registered nor in this "
                f"batch; register the {kind} first or include it in the same registration"
            )
        if kind == "workflow":
            self.compile(spec)
        else:
            self.used_tasks[key] = spec
        return key, spec

    def _node_outputs(self, env: _Env, node: dict[str, Any]) -> Types:
        if node["kind"] == "branch":
            return self._branch_outputs(env, node)
        if node["kind"] == "gate":
            return _gate_outputs(env, node)
        key, spec = self._callee(env, node)
        where = f"{env.owner} node [{node['id']}] ({spec['id']['name']})"
        inputs = spec["interface"]["inputs"]
        outputs = {v["name"]: v["type"] for v in spec["interface"]["outputs"]}
        mapped: set[str] = set()
        if node["kind"] == "map":
            mapped = set(node["mapped_inputs"])
            unknown = sorted(mapped - {v["name"] for v in inputs})
            if unknown:
                raise UnknownReferenceError(f"{where}: map task maps over {unknown}, which the task does not take")
            item = lt.optional if node["min_success_ratio"] < 1 else (lambda t: t)
            outputs = {name: lt.list_of(item(t)) for name, t in outputs.items()}
        self._check_call(env, where, inputs, node.get("inputs", {}), mapped)
        return outputs

    def _check_call(
        self, env: _Env, where: str, inputs: list[dict[str, Any]], bindings: Mapping[str, Any], mapped: set[str]
    ) -> None:
        names = [v["name"] for v in inputs]
        for name in bindings:
            if name not in names:
                raise UnknownReferenceError(f"{where} has no input [{name}]; its inputs are {names}")
        for name in required_inputs(inputs):
            if name not in bindings:
                raise ValidationError(f"{where} is missing input [{name}]; pass {name}=...")
        for var in inputs:
            if var["name"] in bindings:
                target = lt.list_of(var["type"]) if var["name"] in mapped else var["type"]
                env.check_binding(f"{where} input [{var['name']}]", bindings[var["name"]], target)

    def _branch_outputs(self, env: _Env, node: dict[str, Any]) -> Types:
        where = f"{env.owner} conditional [{node['name']}]"
        results: list[Types] = []
        for case in node["cases"]:
            env.check_condition(where, case["condition"])
            if case["then"]["kind"] == "gate":
                raise ValidationError(f"{where}: a gate cannot be a branch of a conditional; put it before or after")
            results.append(self._node_outputs(env, case["then"]))
        if node.get("else"):
            results.append(self._node_outputs(env, node["else"]))
        elif node.get("else_fail") is None:
            raise ValidationError(f"{where} has no else branch; end it with .else_().then(...) or .else_().fail(...)")
        first = results[0]
        for other in results[1:]:
            if other != first:
                raise TypeMismatchError(
                    f"{where}: branches give different outputs ({_show(first)} vs {_show(other)}); "
                    "make every branch return the same names and types"
                )
        return first


def _gate_outputs(env: _Env, node: dict[str, Any]) -> Types:
    """A gate's output (slipstream.gates): a signal's value, or the approved value passed on; a sleep has none."""
    where = f"{env.owner} gate [{node['name']}] (node [{node['id']}])"
    kind, literal = node["gate"], node.get("type")
    if kind == "sleep":
        if node.get("inputs"):
            raise ValidationError(f"{where}: a sleep takes no inputs")
        return {}
    if literal is None:
        raise ValidationError(f"{where}: a {kind} gate needs the type of its value")
    lt.check_type(literal, f"{where} type")
    if kind == "approve":
        if set(node.get("inputs", {})) != {"value"}:
            raise ValidationError(f"{where}: an approval takes exactly one input, [value], the value it gates")
        env.check_binding(f"{where} input [value]", node["inputs"]["value"], literal)
    elif node.get("inputs"):
        raise ValidationError(f"{where}: a signal takes no inputs")
    return {"o0": literal}


def _show(outputs: Types) -> str:
    return "{" + ", ".join(f"{k}: {lt.describe(t)}" for k, t in outputs.items()) + "}"


class _Env:
    """What a binding may read inside one workflow: its inputs and the outputs of nodes already checked."""

    def __init__(self, owner: str, inputs: Types) -> None:
        self.owner = owner
        self.inputs = inputs
        self.node_outputs: dict[str, Types] = {}

    def source_type(self, where: str, binding: Mapping[str, Any]) -> lt.LiteralType | None:
        """The type a binding reads, or None for a literal value (checked against its target instead)."""
        if "input" in binding:
            name = binding["input"]
            if name not in self.inputs:
                raise UnknownReferenceError(f"{where} reads workflow input [{name}], which does not exist; "
                                            f"the inputs are {sorted(self.inputs)}")
            return self.inputs[name]
        if "promise" in binding:
            node, output = binding["promise"]["node"], binding["promise"]["output"]
            outputs = self.node_outputs.get(node)
            if outputs is None:
                raise UnknownReferenceError(f"{where} reads node [{node}], which is not a node of this workflow")
            if output not in outputs:
                raise UnknownReferenceError(f"{where} reads output [{output}] of node [{node}], which has outputs "
                                            f"{sorted(outputs)}")
            return outputs[output]
        if "attr" in binding:
            source = self.source_type(where, binding["attr"]["of"])
            return None if source is None else lt.path_type(source, binding["attr"]["path"], where)
        return None

    def check_binding(self, where: str, binding: Mapping[str, Any], target: lt.LiteralType) -> None:
        if "value" in binding:
            lt.validate_value(target, binding["value"], where)
            return
        inner = target.get("optional", target)
        for kind in ("list", "map"):
            if kind in binding:
                if kind not in inner:
                    raise TypeMismatchError(f"{where}: expected {lt.describe(target)}, got a {kind} of bindings")
                items = binding[kind] if kind == "list" else binding[kind].values()
                for i, item in enumerate(items):
                    self.check_binding(f"{where}[{i}]", item, inner[kind])
                return
        source = self.source_type(where, binding)
        if source is not None and not lt.is_assignable(source, target):
            raise TypeMismatchError(
                f"{where}: expected {lt.describe(target)}, but {_describe_binding(binding)} is "
                f"{lt.describe(source)}; feed it a value of type {lt.describe(target)}"
            )

    def check_condition(self, where: str, condition: Mapping[str, Any]) -> None:
        if "and" in condition or "or" in condition:
            for part in condition.get("and") or condition.get("or") or []:
                self.check_condition(where, part)
            return
        if "is_none" in condition:
            self.source_type(where, condition["is_none"])
            return
        compare = condition["compare"]
        sides = [self._operand_type(where, compare[side]) for side in ("left", "right")]
        kinds = {_comparison_class(t) for t in sides if t is not None}
        if len(kinds) > 1:
            shown = [lt.describe(t) for t in sides if t is not None]
            raise TypeMismatchError(f"{where}: cannot compare {shown[0]} with {shown[-1]}")

    def _operand_type(self, where: str, binding: Mapping[str, Any]) -> lt.LiteralType | None:
        """The type of one side of a comparison (a constant's from its JSON value; None for null)."""
        if "value" in binding:
            value = binding["value"]
            if value is None:
                return None
            if isinstance(value, bool):
                return lt.BOOLEAN
            if isinstance(value, (int, float)):
                return lt.FLOAT
            if isinstance(value, str):
                return lt.STRING
            raise TypeMismatchError(f"{where}: can only compare numbers, strings, booleans and dates, not {value!r}")
        source = self.source_type(where, binding)
        if source is None or source.get("optional", source).get("simple") not in _COMPARABLE:
            raise TypeMismatchError(
                f"{where}: {_describe_binding(binding)} is {lt.describe(source) if source else 'not a value'}; "
                "conditions compare numbers, strings, booleans, dates and durations"
            )
        return source


def _comparison_class(t: lt.LiteralType) -> str:
    """Values of one class compare with each other: numbers (and durations, in seconds), text (and ISO
    dates and datetimes), booleans."""
    simple = t.get("optional", t).get("simple")
    if simple in ("integer", "float", "duration"):
        return "number"
    if simple == "boolean":
        return "boolean"
    return "text"


def _describe_binding(binding: Mapping[str, Any]) -> str:
    if "attr" in binding:
        return f"{_describe_binding(binding['attr']['of'])} at {binding['attr']['path']}"
    if "input" in binding:
        return f"workflow input [{binding['input']}]"
    if "promise" in binding:
        return f"output [{binding['promise']['output']}] of node [{binding['promise']['node']}]"
    return "the value"
