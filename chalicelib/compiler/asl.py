"""Execution plan → Amazon States Language. Pure: the result is JSON, created elsewhere.

Every node is one branch of a top-level `Parallel` state, so all nodes start together and each waits
only for its own inputs — full DAG concurrency, also for graphs that are not series-parallel:

    W.<node>  sqs:sendMessage.waitForTaskToken {"t": "wait"}   the dispatcher answers once the node's
                                                                 dependencies are done (absent without deps)
    R.<node>  sqs:sendMessage.waitForTaskToken {"t": "run"}    the dispatcher starts a pod; the pod answers.
                                                                 Retry, TimeoutSeconds, HeartbeatSeconds here
    D.<node>  sqs:sendMessage {"t": "done"}                    tells the dispatcher the node's outputs exist

Three state transitions per task node at most. Map nodes: W (resolves the lists) → Choice → inline `Map`,
or a Distributed `Map` reading items from S3 when the list is large → G ("gather": the dispatcher checks
min_success_ratio, as moto's interpreter lacks ToleratedFailurePercentage). Branch nodes: W (resolves
the condition operands inline) → Choice → the case's R/D, or `Fail` for `.fail`. Dynamic tasks add
C ("child"): the dispatcher runs the graph the task built as a child execution (moto cannot run
states:startExecution, so our code starts it and answers the token when it ends; AWS is the same).

Definitions carry no deployment names: the queue URL and the bucket travel in the execution input, so
identical workflows share one state machine, named by content hash. Workflows too large for one
definition (1 MB) or one history (25,000 events) are split into groups run as child executions
(C.<group>), which share the root execution's node records, so splitting adds no false dependency.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.compiler.plan import ExecutionPlan, PlanNode, binding_type, branch_operands
from chalicelib.spec.serialize import canonical_json, content_hash

CALLBACK = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
SEND = "arn:aws:states:::sqs:sendMessage"
MAX_DEFINITION_BYTES = 1_048_576
MAX_STATE_NAME = 80
EVENTS_PER_NODE = 15  # entered/scheduled/started/submitted/succeeded/exited for W, R, D
EVENTS_PER_MAP_ITEM = 10
MAX_HISTORY_EVENTS = 25_000
USER_ERROR = "slipstream.UserError"
SYSTEM_ERROR = "slipstream.SystemError"
TIMEOUT_ERROR = "slipstream.Timeout"


@dataclass(frozen=True)
class AslOptions:
    heartbeat_seconds: int = 300
    timeout_slack_seconds: int = 60  # time to schedule a pod before the task's own timeout starts
    distributed_map_threshold: int = 1000
    max_nodes_per_machine: int = 250
    retry_interval_seconds: int = 1
    system_retries: int = 2  # beyond the user's retries, for lost pods and spot interruptions


@dataclass(frozen=True)
class StateMachines:
    root: str
    definitions: dict[str, dict[str, Any]]  # machine name → definition

    def sizes(self) -> dict[str, int]:
        return {name: len(canonical_json(d)) for name, d in self.definitions.items()}


def machine_name(definition: dict[str, Any]) -> str:
    return "slipstream-" + content_hash(definition)[:40]


def state_name(prefix: str, node_id: str) -> str:
    name = f"{prefix}.{node_id}"
    if len(name) <= MAX_STATE_NAME:
        return name
    digest = hashlib.sha256(node_id.encode()).hexdigest()[:12]
    return f"{prefix}.{node_id[: MAX_STATE_NAME - len(prefix) - 14]}~{digest}"


def compile_asl(plan: ExecutionPlan, options: AslOptions | None = None) -> StateMachines:
    options = options or AslOptions()
    compiler = _Compiler(plan, options)
    branches = [compiler.node_branch(node) for node in plan.nodes.values()]
    groups = _groups(plan, options)
    if len(groups) <= 1:
        root = _parallel(branches)
        return StateMachines(machine_name(root), {machine_name(root): root})
    definitions: dict[str, dict[str, Any]] = {}
    by_id = dict(zip(plan.nodes, branches, strict=True))
    group_branches = []
    for index, members in enumerate(groups):
        child = _parallel([by_id[m] for m in members])
        name = machine_name(child)
        definitions[name] = child
        state = state_name("C", f"g{index}")
        group_branches.append({"StartAt": state, "States": {state: _callback(
            {"t": "group", "g": name}, result_path=None, end=True)}})
    root = _parallel(group_branches)
    definitions = {machine_name(root): root, **definitions}
    return StateMachines(machine_name(root), definitions)


def _groups(plan: ExecutionPlan, options: AslOptions) -> list[list[str]]:
    """Nodes in plan order cut into groups that fit one definition and one execution history."""
    groups: list[list[str]] = [[]]
    events = 0
    for node in plan.nodes.values():
        cost = EVENTS_PER_NODE + (EVENTS_PER_MAP_ITEM * options.distributed_map_threshold if node.kind == "map" else 0)
        if groups[-1] and (len(groups[-1]) >= options.max_nodes_per_machine or events + cost > MAX_HISTORY_EVENTS):
            groups.append([])
            events = 0
        groups[-1].append(node.id)
        events += cost
    return groups


def _parallel(branches: list[dict[str, Any]]) -> dict[str, Any]:
    if not branches:
        return {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    return {"StartAt": "Graph", "States": {"Graph": {"Type": "Parallel", "Branches": branches, "ResultPath": None,
                                                     "End": True}}}


def _message(body: dict[str, Any], token: bool) -> dict[str, Any]:
    message = {"x.$": "$.x", **body}
    if token:
        message["tok.$"] = "$$.Task.Token"
    return {"QueueUrl.$": "$.q", "MessageBody": message}


def _callback(body: dict[str, Any], result_path: str | None, end: bool = False, nxt: str | None = None,
              **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": CALLBACK, "Parameters": _message(body, True),
                             "ResultPath": result_path, **extra}
    state.update({"End": True} if end else {"Next": nxt})
    return state


def _done(node_id: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"t": "done", "n": node_id, "r.$": "$.r", **(extra or {})}
    return {"Type": "Task", "Resource": SEND, "Parameters": _message(body, False), "ResultPath": None, "End": True}


class _Compiler:
    def __init__(self, plan: ExecutionPlan, options: AslOptions) -> None:
        self.plan = plan
        self.options = options

    def node_branch(self, node: PlanNode) -> dict[str, Any]:
        states: dict[str, Any] = {}
        body = self._body(node, states)
        if node.deps or node.kind in ("map", "branch"):
            wait = state_name("W", node.id)
            result = {"map": "$.m", "branch": "$.w"}.get(node.kind)
            states[wait] = _callback({"t": "wait", "n": node.id}, result_path=result, nxt=body)
            return {"StartAt": wait, "States": states}
        return {"StartAt": body, "States": states}

    def _body(self, node: PlanNode, states: dict[str, Any]) -> str:
        if node.kind == "map":
            return self._map(node, states)
        if node.kind == "branch":
            return self._branch(node, states)
        return self._task(node, states, done=_done(node.id))

    def _run(self, node_id: str, task_key: str, nxt: str | None, item: bool = False) -> dict[str, Any]:
        metadata = self.plan.tasks[task_key]["metadata"]
        body: dict[str, Any] = {"t": "run", "n": node_id, "a.$": "$$.State.RetryCount"}
        if item:
            body["i.$"] = "$.i"
        extra: dict[str, Any] = {"HeartbeatSeconds": self.options.heartbeat_seconds}
        if metadata["timeout_seconds"]:
            extra["TimeoutSeconds"] = metadata["timeout_seconds"] + self.options.timeout_slack_seconds
            extra["HeartbeatSeconds"] = min(extra["HeartbeatSeconds"], extra["TimeoutSeconds"] - 1) or 1
        retry = []
        if metadata["retries"]:
            retry.append({"ErrorEquals": [USER_ERROR, TIMEOUT_ERROR, "States.Timeout"],
                          "MaxAttempts": metadata["retries"], "IntervalSeconds": self.options.retry_interval_seconds,
                          "BackoffRate": 1.0})
        system = metadata["retries"] + self.options.system_retries + (2 if metadata["interruptible"] else 0)
        retry.append({"ErrorEquals": [SYSTEM_ERROR], "MaxAttempts": system,
                      "IntervalSeconds": self.options.retry_interval_seconds, "BackoffRate": 2.0})
        return _callback(body, result_path="$.r", end=nxt is None, nxt=nxt, Retry=retry, **extra)

    def _task(self, node: PlanNode, states: dict[str, Any], done: dict[str, Any]) -> str:
        run, finish = state_name("R", node.id), state_name("D", node.id)
        task = self.plan.tasks[node.task]  # type: ignore[index]
        if task["task_type"] == "dynamic":
            child = state_name("C", node.id)
            states[run] = self._run(node.id, node.task, child)  # type: ignore[arg-type]
            states[child] = _callback({"t": "child", "n": node.id, "r.$": "$.r"}, result_path="$.r", nxt=finish)
        else:
            states[run] = self._run(node.id, node.task, finish)  # type: ignore[arg-type]
        states[finish] = done
        return run

    def _map(self, node: PlanNode, states: dict[str, Any]) -> str:
        choose, inline, distributed = (state_name(p, node.id) for p in ("K", "M", "DM"))
        gather = state_name("G", node.id)
        item_states = {
            "R": self._run(node.id, node.task, None, item=True),  # type: ignore[arg-type]
            "F": {"Type": "Pass", "Result": {"failed": True}, "End": True},
        }
        item_states["R"]["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "F", "ResultPath": "$.error"}]
        selector = {"i.$": "$$.Map.Item.Value", "x.$": "$.x", "q.$": "$.q"}
        common = {"Type": "Map", "ItemSelector": selector, "ResultPath": None, "Next": gather,
                  "MaxConcurrency": node.concurrency or 0}
        states[choose] = {"Type": "Choice", "Choices": [
            {"Variable": "$.m.distributed", "BooleanEquals": True, "Next": distributed}], "Default": inline}
        states[inline] = {**common, "ItemsPath": "$.m.items", "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "R", "States": item_states}}
        states[distributed] = {**common, "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket.$": "$.m.bucket", "Key.$": "$.m.key"}}, "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "R",
            "States": json.loads(json.dumps(item_states))}}
        states[gather] = _callback({"t": "gather", "n": node.id}, result_path=None, end=True)
        return choose

    def _branch(self, node: PlanNode, states: dict[str, Any]) -> str:
        branch = node.branch or {}
        choose = state_name("K", node.id)
        operands = {json.dumps(b, sort_keys=True): i for i, b in enumerate(branch_operands(node))}
        choices = []
        for case in branch["cases"]:
            then = PlanNode.from_dict(case["then"])
            rule = self._rule(case["condition"], operands)
            choices.append({**rule, "Next": self._task(then, states, done=_done(then.id, {"b": node.id}))})
        if branch.get("else"):
            otherwise = PlanNode.from_dict(branch["else"])
            default = self._task(otherwise, states, done=_done(otherwise.id, {"b": node.id}))
        else:
            default = state_name("F", node.id)
            states[default] = {"Type": "Fail", "Error": "slipstream.ConditionalFailed",
                               "Cause": f"conditional [{branch['name']}] failed: {branch.get('else_fail')}"}
        states[choose] = {"Type": "Choice", "Choices": choices, "Default": default}
        return choose

    def _rule(self, condition: dict[str, Any], operands: dict[str, int]) -> dict[str, Any]:
        if "and" in condition or "or" in condition:
            key = "and" if "and" in condition else "or"
            return {key.capitalize(): [self._rule(c, operands) for c in condition[key]]}
        if "is_none" in condition:
            return {"Variable": self._path(condition["is_none"], operands), "IsNull": True}
        compare = condition["compare"]
        left, right = compare["left"], compare["right"]
        known = binding_type(self.plan, left) or binding_type(self.plan, right)
        kind = _comparison_kind(known or _value_type(left, right))
        op = {"==": "Equals", "!=": "Equals", "<": "LessThan", "<=": "LessThanEquals", ">": "GreaterThan",
              ">=": "GreaterThanEquals"}[compare["op"]]
        if kind == "Boolean" and op != "Equals":
            op = "Equals"
        rule = {"Variable": self._path(left, operands), f"{kind}{op}Path": self._path(right, operands)}
        return {"Not": rule} if compare["op"] == "!=" else rule

    @staticmethod
    def _path(binding: Any, operands: dict[str, int]) -> str:
        return f"$.w.v{operands[json.dumps(binding, sort_keys=True)]}"


def _value_type(*bindings: Any) -> dict[str, Any]:
    for binding in bindings:
        value = binding.get("value")
        if isinstance(value, bool):
            return {"simple": "boolean"}
        if isinstance(value, (int, float)):
            return {"simple": "float"}
    return {"simple": "string"}


def _comparison_kind(literal_type: dict[str, Any]) -> str:
    inner = literal_type.get("optional", literal_type)
    simple = inner.get("simple")
    if simple in ("integer", "float", "duration"):
        return "Numeric"
    if simple == "boolean":
        return "Boolean"
    return "String"
