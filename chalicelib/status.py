"""Execution status changes → execution and node records, outputs, parent tokens and notifications.

On AWS an EventBridge rule on "Step Functions Execution Status Change" invokes this; in the sandbox a
poller builds the same event. Events may come twice or out of order: phases only move forward, and
notifications go out only for the update that moved the phase.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from chalicelib import attempts, notifications
from chalicelib.bindings import memoized, resolve
from chalicelib.compiler.plan import ExecutionPlan, case_nodes
from chalicelib.data import attempt_prefix, node_outputs, split_key
from chalicelib.errors import NotFoundError
from chalicelib.spec import Identifier
from chalicelib.store.executions import NODE_RANK, PHASE_RANK, ExecutionStore, utcnow

logger = logging.getLogger("slipstream.status")
SFN_PHASES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")  # Step Functions' names are ours
INLINE_OUTPUTS_BYTES = 32 * 1024


def error_message(error: str | None, cause: str | None) -> str:
    """The user-facing message of a Step Functions failure: our own JSON cause, or the raw text."""
    if cause:
        try:
            parsed = json.loads(cause)
        except ValueError:
            return cause
        if isinstance(parsed, dict):
            if "message" in parsed:
                return str(parsed["message"])
            if "errorMessage" in parsed:
                return str(parsed["errorMessage"])
            if "Cause" in parsed:
                return error_message(parsed.get("Error"), parsed["Cause"])
        return cause
    if error in ("States.Timeout", "slipstream.Timeout"):
        return "a task timed out"
    return error or "failed"


def is_map_run_child(detail: dict[str, Any]) -> bool:
    """A Distributed Map runs each item as a child execution of `<machine>/<map run>`, whose status events
    reach the same rule; they carry the root's `x` in their input, but only the map's G state speaks for
    them. (A state machine's own name cannot contain '/'.)"""
    machine = str(detail.get("stateMachineArn") or "").split(":stateMachine:")[-1]
    execution = str(detail.get("executionArn") or "").split(":execution:")[-1]
    return "/" in machine or "/" in execution.split(":")[0]


class StatusHandler:
    def __init__(self, store: ExecutionStore, blobs: Any, sfn: Any, sns: Any, topic_arn: str,
                 registration: Any, dispatcher: Any) -> None:
        self.store = store
        self.blobs = blobs
        self.sfn = sfn
        self.sns = sns
        self.topic_arn = topic_arn
        self.registration = registration
        self.dispatcher = dispatcher

    def handle(self, detail: dict[str, Any]) -> None:
        status = detail.get("status")
        if status not in SFN_PHASES or is_map_run_child(detail):
            return
        execution_input = json.loads(detail.get("input") or "{}")
        x = execution_input.get("x")
        if not x or "i" in execution_input:
            return
        if "parent_token" in execution_input:
            self._child(detail, execution_input)
        else:
            self._root(detail, x)

    def _child(self, detail: dict[str, Any], execution_input: dict[str, Any]) -> None:
        status, token = detail["status"], execution_input["parent_token"]
        if status == "RUNNING":
            return
        if status != "SUCCEEDED":
            message = error_message(detail.get("error"), detail.get("cause"))
            self.dispatcher.fail_token(token, detail.get("error") or "slipstream.ChildFailed", message)
            return
        output: dict[str, Any] = {}
        if execution_input.get("kind") == "dynamic":
            child = execution_input["x"]
            parent, node = child.rsplit("/", 1)
            key = self.blobs.put_json(node_outputs(parent, node), self.outputs_of(child))
            output = {"outputs": key}
        self.dispatcher.succeed_token(token, output)

    def outputs_of(self, x: str) -> dict[str, Any]:
        """The workflow's outputs, resolved from its inputs and its nodes' outputs."""
        plan = self.dispatcher.plan(x)
        inputs = self.blobs.get_immutable_json(f"{x}/inputs.json")
        reader = memoized(lambda node: self._node_outputs(x, plan, node))
        return {name: resolve(binding, inputs, reader) for name, binding in plan.outputs.items()}

    def _node_outputs(self, x: str, plan: ExecutionPlan, node_id: str) -> dict[str, Any]:
        """A conditional's outputs are its case's, copied when the dispatcher handles the case's end; nothing in
        the state machine waits for that copy, so when the conditional is the workflow's last node the execution
        can end first (on AWS the handler's retry came a minute later). Then they are the case's that ran."""
        try:
            return self.blobs.get_json(node_outputs(x, node_id))  # type: ignore[no-any-return]
        except NotFoundError:
            node = plan.nodes.get(node_id)
            if node is None or node.kind != "branch":
                raise
        pending = case_nodes(node.branch)
        while pending:
            case = pending.pop(0)
            if case.get("branch"):
                pending.extend(case_nodes(case["branch"]))
                continue
            with contextlib.suppress(NotFoundError):
                return self.blobs.get_json(node_outputs(x, case["id"]))  # type: ignore[no-any-return]
        raise NotFoundError(f"conditional [{node_id}] of execution [{x}] has no outputs, nor has any of its cases")

    def _root(self, detail: dict[str, Any], x: str) -> None:
        project, domain, name = split_key(x)
        try:
            record = self.store.get(project, domain, name)
        except NotFoundError:
            logger.warning("status change for unknown execution %s", x)
            return
        phase = detail["status"]
        if record.phase_rank >= PHASE_RANK[phase]:
            return  # a repeated or late event
        fields: dict[str, Any] = {}
        if phase == "SUCCEEDED":
            outputs = self.outputs_of(x)
            fields["outputs_key"] = self.blobs.put_json(f"{x}/outputs.json", outputs)
            if len(json.dumps(outputs)) <= INLINE_OUTPUTS_BYTES:
                fields["outputs"] = outputs
        elif phase != "RUNNING":
            self._stop_pods(project, domain, name)
            node_errors = self._close_nodes(x, phase)
            message = error_message(detail.get("error"), detail.get("cause"))
            if not detail.get("cause") and node_errors:  # moto drops a failed branch's cause; AWS keeps it
                message = node_errors[0]
            fields["error"] = {"code": detail.get("error") or phase, "message": message}
        if phase != "RUNNING":
            fields["ended_at"] = utcnow()
        if self.store.set_phase(record, phase, **fields) and phase != "RUNNING":
            self._notify(record, phase, fields.get("error"), fields.get("ended_at"))

    def _stop_pods(self, project: str, domain: str, name: str) -> None:
        """A failed execution's other branches were cancelled by Step Functions; their pods would run on."""
        launcher = self.dispatcher.launcher
        if launcher is not None:
            stopped = launcher.stop_execution(project, domain, name)
            if stopped:
                logger.info("stopped %d pods of ended execution %s/%s/%s", stopped, project, domain, name)

    def _close_nodes(self, x: str, phase: str) -> list[str]:
        """Nodes still open when an execution fails: FAILED with the error their pod left, else ABORTED or
        TIMED_OUT. Returns the messages of the errors found, the likeliest cause first: errors the control plane
        recorded on a node (a map below its ratio, a pod the cluster refused), then those pods left, then
        timeouts."""
        recorded, reported, timed_out = [], [], []
        for node in self.store.nodes(x):
            if node.phase == "FAILED" and node.error:
                recorded.append(f"node [{node.sk}]: {node.error['message']}")
            if node.phase_rank is not None and node.phase_rank >= NODE_RANK["SUCCEEDED"]:
                continue
            attempt = max(int(node.attempts or 1) - 1, 0)
            try:
                error = self.blobs.get_json(f"{attempt_prefix(x, node.sk, attempt)}/error.json")
            except NotFoundError:
                closed = "TIMED_OUT" if phase == "TIMED_OUT" or (node.attempts and phase == "FAILED") else "ABORTED"
                self.store.update_node(x, node.sk, closed, ended_at=utcnow())
                if closed == "TIMED_OUT":
                    timed_out.append(f"node [{node.sk}] ({(node.task or {}).get('name')}) timed out")
                continue
            self.store.update_node(x, node.sk, "FAILED", error=error, ended_at=attempts.ended_at(error))
            reported.append(f"task [{(node.task or {}).get('name')}] (node [{node.sk}]) failed: {error['message']}")
        return recorded + reported + timed_out

    def _notify(self, record: Any, phase: str, error: dict[str, Any] | None, ended_at: Any = None) -> None:
        """One generic message on the events topic, then the launch plan's notifications for this phase (see
        chalicelib.notifications for the attributes and how e-mail is delivered). Called only by the update
        that moved the phase, so once per (execution, phase)."""
        message = notifications.build_message({
            "project": record.project, "domain": record.domain, "name": record.name, "workflow": record.workflow,
            "launch_plan": record.launch_plan, "started_at": record.started_at, "created_at": record.created_at,
            "ended_at": ended_at or record.ended_at}, phase, error)
        self._publish(self.topic_arn, message, notifications.attributes(message, "execution"))
        if not record.launch_plan:
            return
        plan = self.registration.get("launch_plan", Identifier.from_dict(record.launch_plan))["spec"]
        for notification in plan.get("notifications", []):
            if phase not in notification["phases"]:
                continue
            if notification.get("sns_topic_arn"):
                self._publish(notification["sns_topic_arn"], message,
                              notifications.attributes(message, "notification"))
            if notification.get("email"):
                self._publish(self.topic_arn, message,
                              notifications.attributes(message, "notification", notification["email"]))

    def _publish(self, topic_arn: str, message: dict[str, Any], attributes: dict[str, Any]) -> None:
        """JSON for queues and functions, readable text for e-mail subscriptions (SNS picks per protocol)."""
        body = json.dumps(message)
        self.sns.publish(TopicArn=topic_arn, MessageStructure="json", MessageAttributes=attributes,
                         Subject=notifications.subject(message),
                         Message=json.dumps({"default": body, "email": notifications.text(message)}))
