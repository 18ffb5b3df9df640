"""Execution plan → Amazon States Language. Pure: the result is JSON, created elsewhere.

Every node is one branch of a top-level `Parallel` state, so all nodes start together and each waits
only for its own inputs — full DAG concurrency, also for graphs that are not series-parallel:

    W.<node>  sqs:sendMessage.waitForTaskToken {"t": "wait"}   the dispatcher answers once the node's
                                                                 dependencies are done (absent without deps)
    R.<node>  sqs:sendMessage.waitForTaskToken {"t": "run"}    the dispatcher starts a pod; the pod answers.
                                                                 Retry, TimeoutSeconds, HeartbeatSeconds here
    D.<node>  sqs:sendMessage {"t": "done"}                    tells the dispatcher the node's outputs exist

Three state transitions per task node at most; two for a node chained after its only dependency
(`chain_links`: its R follows that dependency's D in one branch, no W). Map nodes: W (resolves the lists) →
Choice → inline `Map`, or a Distributed `Map` reading items from S3 when the list is large → G ("gather": the
dispatcher checks min_success_ratio, as moto's interpreter lacks ToleratedFailurePercentage). Their item states are
IR/IF.<node> (inline) and DR/DF.<node> (distributed): AWS wants every state name unique across the whole
definition, item processors included (moto does not check). Branch nodes: W (resolves the condition
operands inline) → Choice → the case's R/D (C/D for a case calling a subworkflow, run as a child execution
like a dynamic task's graph), or `Fail` for `.fail`. A case that is a conditional itself is a second Choice
(K.<case>) with no W: the outer W resolved its operands too, and its cases' D name the outer node (`b`).
Dynamic tasks add C ("child"): the dispatcher runs the graph the task built as a child execution (moto
cannot run states:startExecution, so our code starts it and answers the token when it ends; AWS is the same).
Gates (slipstream.gates): a sleep is W → `Wait` (S) → D; a signal or approval W → G, a callback whose token
the dispatcher stores on the node and the signal route answers (no polling), TimeoutSeconds its timeout →
D. Any failure of G (timeout, rejection) is caught into GF, a callback the dispatcher fails with a message
naming the gate after recording it on the node, so the node and the execution both say which gate failed.

Clocks. A task's own timeout counts from its pod's start and the pod enforces it; Step Functions only
bounds the whole wait: R allows timeout + max_pending_seconds (image pulls, node scale-up; the control
plane heartbeats the token meanwhile and fails a pod pending longer) + slack, or max_execution_seconds
for a task without a timeout. W and C wait on other nodes and child executions: max_execution_seconds,
as does every definition as a whole; G (a map's gather) by its map's size (TimeoutSecondsPath, `$.m.g` from
W's answer: gather_timeout_seconds plus an allowance per gather chunk), its failure caught into GF, which
the dispatcher fails after recording it on the map node. No error name we
generate starts with `States.` but the `States.ALL` of a Catch (moto refuses other `States.*` names in
Retry and Catch it treats as custom).

Definitions carry no deployment names: the queue URL and the bucket travel in the execution input, so
identical workflows share one state machine, named `<prefix>-<content hash>`; the prefix is the
deployment's, so its EventBridge rule can match its own machines by ARN prefix. Workflows too large for
one definition (1 MB) or one history (25,000 events) are split into groups run as child executions
(C.<group>), which share the root execution's node records, so splitting adds no false dependency.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.compiler.plan import ExecutionPlan, PlanNode, binding_type, branch_operands
from chalicelib.errors import ValidationError
from chalicelib.spec.serialize import canonical_json, content_hash

CALLBACK = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
SEND = "arn:aws:states:::sqs:sendMessage"
MAX_DEFINITION_BYTES = 1_048_576
MAX_STATE_NAME = 80
MAX_MACHINE_NAME = 80
MAX_PREFIX = 32
MACHINE_HASH = 40  # hex digits of the content hash in a machine name
MAX_STANDARD_SECONDS = 365 * 24 * 3600  # a Standard execution runs at most one year
SEND_TIMEOUT_SECONDS = 60  # D states: one SQS SendMessage
PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
EVENTS_PER_NODE = 15  # entered/scheduled/started/submitted/succeeded/exited for W, R, D
EVENTS_PER_MAP_ITEM = 10
MAX_HISTORY_EVENTS = 25_000
USER_ERROR = "slipstream.UserError"
SYSTEM_ERROR = "slipstream.SystemError"
TIMEOUT_ERROR = "slipstream.Timeout"


@dataclass(frozen=True)
class AslOptions:
    """What the compiled machines depend on besides the plan; `executions.asl_options` reads them from
    the deployment's Settings."""

    heartbeat_seconds: int = 300
    timeout_slack_seconds: int = 60  # time to schedule a pod before the task's own timeout starts
    max_pending_seconds: int = 1800  # a pod may stay Pending this long before the control plane fails it
    max_execution_seconds: int = 7 * 24 * 3600  # any execution, and any wait inside one
    gather_timeout_seconds: int = 900
    distributed_map_threshold: int = 1000
    max_nodes_per_machine: int = 250
    retry_interval_seconds: int = 1
    system_retries: int = 2  # beyond the user's retries, for lost pods and spot interruptions
    name_prefix: str = "slipstream"

    def __post_init__(self) -> None:
        if len(self.name_prefix) > MAX_PREFIX or not PREFIX.fullmatch(self.name_prefix):
            raise ValidationError(
                f"state machine name prefix [{self.name_prefix}] must be 1 to {MAX_PREFIX} letters, digits, '-' "
                "or '_', starting with a letter or digit; choose another (setting SLIPSTREAM_NAME_PREFIX)")
        if not 1 <= self.max_execution_seconds <= MAX_STANDARD_SECONDS:
            raise ValidationError(f"max_execution_seconds [{self.max_execution_seconds}] must be between 1 and "
                                  f"{MAX_STANDARD_SECONDS} (one year, the longest Standard execution)")
        for name in ("heartbeat_seconds", "gather_timeout_seconds"):
            if not 1 <= getattr(self, name) <= self.max_execution_seconds:
                raise ValidationError(f"{name} [{getattr(self, name)}] must be between 1 and max_execution_seconds "
                                      f"[{self.max_execution_seconds}]")
        if self.max_pending_seconds < 0 or self.timeout_slack_seconds < 0 or self.max_task_timeout_seconds < 1:
            raise ValidationError(
                f"max_pending_seconds [{self.max_pending_seconds}] and timeout_slack_seconds "
                f"[{self.timeout_slack_seconds}] must be at least 0 and leave room for a task's timeout within "
                f"max_execution_seconds [{self.max_execution_seconds}]")

    @property
    def max_task_timeout_seconds(self) -> int:
        """The longest task timeout whose R state (timeout + pending + slack) fits in one execution."""
        return self.max_execution_seconds - self.max_pending_seconds - self.timeout_slack_seconds


@dataclass(frozen=True)
class StateMachines:
    root: str
    definitions: dict[str, dict[str, Any]]  # machine name → definition

    def sizes(self) -> dict[str, int]:
        return {name: len(canonical_json(d)) for name, d in self.definitions.items()}


def machine_name(definition: dict[str, Any], prefix: str = "slipstream") -> str:
    """`<prefix>_<content hash>`: identical definitions share a machine within a deployment. The `_` cannot
    occur in a stack name, so the prefix `<stack>_` of IAM policies and the status rule matches this
    deployment's machines only (`<stack>-` would also match stack `<stack>-2`'s)."""
    return f"{prefix}_{content_hash(definition)[: min(MACHINE_HASH, MAX_MACHINE_NAME - len(prefix) - 1)]}"


def check_task_timeout(task: dict[str, Any], max_timeout_seconds: int) -> None:
    """Refuse a task whose timeout cannot be bounded inside one execution (see `AslOptions`)."""
    timeout = task["metadata"].get("timeout_seconds")
    if timeout and timeout > max_timeout_seconds:
        raise ValidationError(
            f"task [{task['id']['name']}] has a timeout of {timeout}s, above the maximum of {max_timeout_seconds}s "
            "(an execution's longest duration less the time a pod may wait to start); give it a shorter timeout")


def state_name(prefix: str, node_id: str) -> str:
    name = f"{prefix}.{node_id}"
    if len(name) <= MAX_STATE_NAME:
        return name
    digest = hashlib.sha256(node_id.encode()).hexdigest()[:12]
    return f"{prefix}.{node_id[: MAX_STATE_NAME - len(prefix) - 14]}~{digest}"


def compile_asl(plan: ExecutionPlan, options: AslOptions | None = None) -> StateMachines:
    options = options or AslOptions()
    for task in plan.tasks.values():
        check_task_timeout(task, options.max_task_timeout_seconds)
    groups = _groups(plan, options)
    links = chain_links(plan, groups)
    compiler = _Compiler(plan, options, links)
    by_id = {node.id: compiler.node_branch(node) for node in plan.nodes.values() if node.id not in links}
    if len(groups) <= 1:
        root = _parallel(list(by_id.values()), options)
        name = machine_name(root, options.name_prefix)
        return StateMachines(name, {name: root})
    definitions: dict[str, dict[str, Any]] = {}
    group_branches = []
    for index, members in enumerate(groups):
        child = _parallel([by_id[m] for m in members if m in by_id], options)
        name = machine_name(child, options.name_prefix)
        definitions[name] = child
        state = state_name("C", f"g{index}")
        group_branches.append({"StartAt": state, "States": {state: _callback(
            {"t": "group", "g": name}, result_path=None, end=True, TimeoutSeconds=options.max_execution_seconds)}})
    root = _parallel(group_branches, options)
    root_name = machine_name(root, options.name_prefix)
    return StateMachines(root_name, {root_name: root, **definitions})


def chain_links(plan: ExecutionPlan, groups: list[list[str]]) -> dict[str, str]:
    """Task nodes whose only dependency is a plain task node of the same group, each mapped to that
    dependency (at most one per dependency, the first in plan order): such a node's states follow its
    dependency's in one branch (R.d → D.d → R.n → D.n), so the state machine itself orders them and the node
    needs no W state — one SendTaskSuccess and one transition fewer per chain node. The dependency's pod wrote
    its outputs before it answered R.d, so R.n can read them while the dispatcher still handles D.d."""
    group_of = {member: index for index, members in enumerate(groups) for member in members}
    links: dict[str, str] = {}
    taken: set[str] = set()
    for node in plan.nodes.values():
        if node.kind != "task" or len(node.deps) != 1:
            continue
        dep = plan.nodes.get(node.deps[0])
        if dep is None or dep.kind != "task" or dep.id in taken or group_of[dep.id] != group_of[node.id]:
            continue
        if plan.tasks[dep.task]["task_type"] == "dynamic":  # type: ignore[index]
            continue  # its outputs come from its child execution, recorded by its D
        links[node.id] = dep.id
        taken.add(dep.id)
    return links


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


def _parallel(branches: list[dict[str, Any]], options: AslOptions) -> dict[str, Any]:
    if not branches:
        return {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}},
                "TimeoutSeconds": options.max_execution_seconds}
    return {"StartAt": "Graph", "States": {"Graph": {"Type": "Parallel", "Branches": branches, "ResultPath": None,
                                                     "End": True}},
            "TimeoutSeconds": options.max_execution_seconds}


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
    return {"Type": "Task", "Resource": SEND, "Parameters": _message(body, False), "ResultPath": None,
            "TimeoutSeconds": SEND_TIMEOUT_SECONDS, "End": True}


class _Compiler:
    def __init__(self, plan: ExecutionPlan, options: AslOptions, links: dict[str, str] | None = None) -> None:
        self.plan = plan
        self.options = options
        self.links = links or {}  # chained node → the dependency it follows (`chain_links`)
        self.successor = {dep: node for node, dep in self.links.items()}

    def node_branch(self, node: PlanNode) -> dict[str, Any]:
        states: dict[str, Any] = {}
        start = body = self._body(node, states)
        if node.deps or node.kind in ("map", "branch"):
            start = state_name("W", node.id)
            result = {"map": "$.m", "branch": "$.w"}.get(node.kind)
            states[start] = _callback({"t": "wait", "n": node.id}, result_path=result, nxt=body,
                                      TimeoutSeconds=self.options.max_execution_seconds)
        current = node.id
        while current in self.successor:  # the chain that follows: D.current → R.next, no W
            after = self.successor[current]
            done = states[state_name("D", current)]
            del done["End"]
            done["Parameters"]["MessageBody"]["c"] = after  # not released by D.current
            done["Next"] = self._body(self.plan.nodes[after], states)
            current = after
        return {"StartAt": start, "States": states}

    def _body(self, node: PlanNode, states: dict[str, Any]) -> str:
        if node.kind == "map":
            return self._map(node, states)
        if node.kind == "branch":
            return self._branch(node, states)
        if node.kind == "gate":
            return self._gate(node, states)
        return self._task(node, states, done=_done(node.id))

    def _run(self, node_id: str, task_key: str, nxt: str | None, item: bool = False) -> dict[str, Any]:
        metadata = self.plan.tasks[task_key]["metadata"]
        # e: when the attempt began, so the dispatcher can keep alive a token whose message waited in the queue
        body: dict[str, Any] = {"t": "run", "n": node_id, "a.$": "$$.State.RetryCount", "e.$": "$$.State.EnteredTime"}
        if item:
            body["i.$"] = "$.i"  # the item's index; with batches, the batch's first item's
            batch = self.plan.nodes[node_id].batch_size
            if batch:
                body["b"] = batch
        elif node_id in self.links:
            body["q"] = 1  # no W recorded it WAITING and QUEUED: the dispatcher records QUEUED
        # The task's own timeout is the pod's (counted from its start), a pod's wait to be scheduled is bounded by
        # the control plane (max_pending_seconds) and a wait for a free slot by nothing but the execution: so the
        # state's own bound is the execution's, and the heartbeat catches an attempt nobody answers for.
        timeout = self.options.max_execution_seconds
        extra = {"TimeoutSeconds": timeout, "HeartbeatSeconds": min(self.options.heartbeat_seconds, timeout - 1)}
        retry = []
        if metadata["retries"]:
            retry.append({"ErrorEquals": [USER_ERROR, TIMEOUT_ERROR],
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
            states[child] = _callback({"t": "child", "n": node.id, "r.$": "$.r"}, result_path="$.r", nxt=finish,
                                      TimeoutSeconds=self.options.max_execution_seconds)
        else:
            states[run] = self._run(node.id, node.task, finish)  # type: ignore[arg-type]
        states[finish] = done
        return run

    def _gate(self, node: PlanNode, states: dict[str, Any]) -> str:
        gate = node.gate or {}
        seconds = gate["seconds"]
        if seconds > self.options.max_execution_seconds:
            raise ValidationError(f"gate [{gate['name']}] waits {seconds}s, longer than an execution may run "
                                  f"({self.options.max_execution_seconds}s); give it a shorter duration or timeout")
        finish = state_name("D", node.id)
        states[finish] = _done(node.id)
        if gate["gate"] == "sleep":
            del states[finish]["Parameters"]["MessageBody"]["r.$"]  # nothing ran: no result to pass on
            sleep = state_name("S", node.id)
            states[sleep] = {"Type": "Wait", "Seconds": seconds, "Next": finish}
            return sleep
        wait, failed = state_name("G", node.id), state_name("GF", node.id)
        states[wait] = _callback({"t": "gate", "n": node.id}, result_path="$.r", nxt=finish, TimeoutSeconds=seconds,
                                 Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": failed}])
        states[failed] = _callback({"t": "gate_failed", "n": node.id, "e.$": "$.e"}, result_path=None, end=True,
                                   TimeoutSeconds=self.options.gather_timeout_seconds)
        return wait

    def _map(self, node: PlanNode, states: dict[str, Any]) -> str:
        choose, inline, distributed = (state_name(p, node.id) for p in ("K", "M", "DM"))
        gather = state_name("G", node.id)
        selector = {"i.$": "$$.Map.Item.Value", "x.$": "$.x", "q.$": "$.q"}
        common = {"Type": "Map", "ItemSelector": selector, "ResultPath": None, "Next": gather,
                  "MaxConcurrency": node.concurrency or 0}
        states[choose] = {"Type": "Choice", "Choices": [
            {"Variable": "$.m.distributed", "BooleanEquals": True, "Next": distributed}], "Default": inline}
        states[inline] = {**common, "ItemsPath": "$.m.items", "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"}, **self._item_states(node, "I")}}
        states[distributed] = {**common, "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket.$": "$.m.bucket", "Key.$": "$.m.key"}}, "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, **self._item_states(node, "D")}}
        # G's bound is the map's own (chalicelib.dispatch.gather.gather_seconds): its size is known only once W
        # resolved the lists, so W's answer carries it. A failed G (its timeout) is caught into GF, answered by
        # the dispatcher after it records the failure on the map node, so the execution names the map.
        failed = state_name("GF", node.id)
        states[gather] = _callback({"t": "gather", "n": node.id}, result_path=None, end=True,
                                   TimeoutSecondsPath="$.m.g",
                                   Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": failed}])
        states[failed] = _callback({"t": "gather_failed", "n": node.id, "e.$": "$.e", "s.$": "$.m.g"},
                                   result_path=None, end=True, TimeoutSeconds=self.options.gather_timeout_seconds)
        return choose

    def _item_states(self, node: PlanNode, mode: str) -> dict[str, Any]:
        """One item's run; a failed item becomes `{"failed": true}` for the gather to count. `mode` (I: inline,
        D: distributed) prefixes the names, as they must be unique across the whole definition."""
        run, failed = state_name(f"{mode}R", node.id), state_name(f"{mode}F", node.id)
        states = {run: self._run(node.id, node.task, None, item=True),  # type: ignore[arg-type]
                  failed: {"Type": "Pass", "Result": {"failed": True}, "End": True}}
        states[run]["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": failed, "ResultPath": "$.error"}]
        return {"StartAt": run, "States": states}

    def _branch(self, node: PlanNode, states: dict[str, Any], outer: PlanNode | None = None) -> str:
        """`outer`: the plan node whose case this (nested) conditional is. Its W resolved every operand, the
        nested ones too (`branch_operands`), and each case's D names it (`b`): its dependents wait on it alone."""
        owner = outer or node
        branch = node.branch or {}
        choose = state_name("K", node.id)
        operands = {json.dumps(b, sort_keys=True): i for i, b in enumerate(branch_operands(owner))}
        choices = []
        for case in branch["cases"]:
            rule = self._rule(case["condition"], operands)
            choices.append({**rule, "Next": self._case(PlanNode.from_dict(case["then"]), states, owner)})
        if branch.get("else"):
            default = self._case(PlanNode.from_dict(branch["else"]), states, owner)
        else:
            default = state_name("F", node.id)
            states[default] = {"Type": "Fail", "Error": "slipstream.ConditionalFailed",
                               "Cause": f"conditional [{branch['name']}] failed: {branch.get('else_fail')}"}
        states[choose] = {"Type": "Choice", "Choices": choices, "Default": default}
        return choose

    def _case(self, node: PlanNode, states: dict[str, Any], owner: PlanNode) -> str:
        """A case's states: a task's R/D, for a subworkflow C (the dispatcher runs it as a child) → D, for a
        nested conditional its own Choice (no W: `owner`'s resolved its operands)."""
        if node.kind == "branch":
            return self._branch(node, states, owner)
        done = _done(node.id, {"b": owner.id})
        if node.kind != "subworkflow":
            return self._task(node, states, done=done)
        child, finish = state_name("C", node.id), state_name("D", node.id)
        states[child] = _callback({"t": "child", "n": node.id}, result_path="$.r", nxt=finish,
                                  TimeoutSeconds=self.options.max_execution_seconds)
        states[finish] = done
        return child

    def _rule(self, condition: dict[str, Any], operands: dict[str, int]) -> dict[str, Any]:
        if "and" in condition or "or" in condition:
            key = "and" if "and" in condition else "or"
            return {key.capitalize(): [self._rule(c, operands) for c in condition[key]]}
        if "is_none" in condition:
            return {"Variable": self._path(condition["is_none"], operands), "IsNull": True}
        compare = condition["compare"]
        op, left, right = compare["op"], compare["left"], compare["right"]
        if _is_null(left) or _is_null(right):
            return _null_rule(op, self._path(right if _is_null(left) else left, operands))
        types = binding_type(self.plan, left), binding_type(self.plan, right)
        kind = _comparison_kind(types[0] or types[1] or _value_type(left, right))
        a, b = self._path(left, operands), self._path(right, operands)
        if kind == "Boolean":
            return _boolean_rule(op, a, b)
        rule: dict[str, Any] = {"Variable": a, f"{kind}{_OPERATORS[op]}Path": b}
        if op in ("==", "!=") and all(t is not None and "optional" in t for t in types):
            # Choice rules never match null, but None == None does (locally too)
            rule = {"Or": [{"And": [{"Variable": a, "IsNull": True}, {"Variable": b, "IsNull": True}]}, rule]}
        return {"Not": rule} if op == "!=" else rule

    @staticmethod
    def _path(binding: Any, operands: dict[str, int]) -> str:
        return f"$.w.v{operands[json.dumps(binding, sort_keys=True)]}"


_OPERATORS = {"==": "Equals", "!=": "Equals", "<": "LessThan", "<=": "LessThanEquals", ">": "GreaterThan",
              ">=": "GreaterThanEquals"}


def _is_null(binding: Any) -> bool:
    return "value" in binding and binding["value"] is None


def _null_rule(op: str, path: str) -> dict[str, Any]:
    """`x == None` and `x != None`: a Choice rule on null is false whatever its type, so test for null."""
    if op not in ("==", "!="):
        raise ValidationError(f"a condition compares with None using [{op}], which has no order; use == None, "
                              "!= None or is_none()")
    return {"Variable": path, "IsNull": op == "=="}


def _boolean_rule(op: str, a: str, b: str) -> dict[str, Any]:
    """Booleans order as in Python (False < True); Choice states only test them for equality."""
    def equals(path: str, value: bool) -> dict[str, Any]:
        return {"Variable": path, "BooleanEquals": value}

    if op in ("==", "!="):
        rule = {"Variable": a, "BooleanEqualsPath": b}
        return {"Not": rule} if op == "!=" else rule
    low, high = (a, b) if op in ("<", "<=") else (b, a)  # a > b is b < a
    pair = [equals(low, False), equals(high, True)]
    return {"And": pair} if op in ("<", ">") else {"Or": pair}


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
