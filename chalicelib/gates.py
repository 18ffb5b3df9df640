"""Gates at run time: signals and approvals answered through the API, never polled.

A signal or approval gate compiles to a callback state G (see `compiler.asl`). Two things must meet before its
token is answered, in either order:

    the gate is reached    the dispatcher's `gate` message stores the token on the node (phase RUNNING)
    the signal arrives     POST .../signals/{name} checks the value against the gate's type, stores it in S3
                           and marks the node answered (a conditional write: a second signal is refused, 409)

Each side writes its half and then reads the record; whichever sees both claims the token (exactly once, as
the dispatcher's waits do) and answers it with the node's outputs: the signal's value, or for an approval the
upstream value passed on. A rejected approval fails the token. G's Catch sends any failure (its timeout, a
rejection) to GF, whose `gate_failed` message records the error on the node before failing the execution with
a message naming the gate. A signal may so arrive before its gate is reached, as Flyte allows.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from chalicelib.data import execution_key, node_outputs
from chalicelib.errors import ConflictError, NotFoundError, ValidationError
from chalicelib.spec import types as lt
from chalicelib.store.executions import TERMINAL, utcnow
from chalicelib.store.gates import record_signal, store_gate_token

if TYPE_CHECKING:
    from chalicelib.compiler.plan import ExecutionPlan, PlanNode
    from chalicelib.dispatcher import Dispatcher

SIGNAL_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$(?!\n)")
REJECTED = "slipstream.Rejected"
GATE_TIMEOUT = "slipstream.GateTimeout"


class Gates:
    """Both halves of a gate's answer, over the dispatcher's store, blobs and token answers."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.store = dispatcher.store
        self.blobs = dispatcher.blobs

    # the API's half

    def signal(self, project: str, domain: str, name: str, signal: str, body: Any) -> dict[str, Any]:
        """Answer gate `signal` of an execution with `body` = {"value": ...} (an approval: true or false)."""
        if not SIGNAL_NAME.fullmatch(signal):
            raise ValidationError(f"signal [{signal[:100]}] is not a gate name: 1 to 64 letters, digits, '_', '.', '-'")
        if not isinstance(body, dict) or set(body) != {"value"}:
            raise ValidationError('send {"value": <the signal\'s value>} (an approval: {"value": true} or false)')
        record = self.store.get(project, domain, name)
        if record.phase in TERMINAL:
            raise ConflictError(f"execution [{name}] has ended ({record.phase}); its gates take no more signals")
        x = execution_key(project, domain, name)
        node = _gate_named(self.dispatcher.plan(x), signal, name)
        gate, value = node.gate or {}, body["value"]
        expected = gate["type"] if gate["gate"] == "signal" else lt.BOOLEAN
        lt.validate_value(expected, value, f"signal [{signal}]")
        key = self.blobs.put_json(f"{x}/{node.id}/signals/{uuid.uuid4().hex}.json", {"value": value})
        answered = record_signal(self.store, x, node.id, key)
        if answered is None:
            raise ConflictError(f"gate [{signal}] of execution [{name}] was answered already or has ended")
        self._answer_if_ready(x, node, answered)
        return {"execution": name, "signal": signal, "node": node.id, "gate": gate["gate"], "value": value}

    # the dispatcher's half

    def on_gate(self, m: dict[str, Any]) -> None:
        x, node_id = m["x"], m["n"]
        node = self.dispatcher.plan(x).find(node_id)
        gate = node.gate or {}
        record = store_gate_token(self.store, x, node_id, m["tok"],
                                  {"kind": "gate", "name": gate.get("name"), "gate": gate.get("gate")})
        if record is not None:
            self._answer_if_ready(x, node, record)

    def on_gate_failed(self, m: dict[str, Any]) -> None:
        """G failed (timed out, or a rejection failed its token): the node says why, then the execution."""
        x, node_id, error = m["x"], m["n"], m.get("e") or {}
        node = self.dispatcher.plan(x).find(node_id)
        gate = node.gate or {}
        record = self.store.node(x, node_id)
        if error.get("Error") == REJECTED and record is not None and record.error:
            message, code = record.error["message"], REJECTED
        elif error.get("Error") == "States.Timeout":
            message = (f"gate [{gate['name']}] (node [{node_id}]) timed out: no signal within {gate['seconds']}s; "
                       f"answer it sooner (slipstream execution signal/approve) or give it a longer timeout")
            code = GATE_TIMEOUT
            # FAILED, not TIMED_OUT: a failed node's error is what the execution's error names first (chalicelib.status)
            self.store.update_node(x, node_id, "FAILED", error={"kind": "user", "message": message},
                                   ended_at=utcnow())
        else:
            message = f"gate [{gate['name']}] (node [{node_id}]) failed: {error.get('Error')}: {error.get('Cause')}"
            code = str(error.get("Error") or "slipstream.GateFailed")
            self.store.update_node(x, node_id, "FAILED", error={"kind": "system", "message": message},
                                   ended_at=utcnow())
        self.dispatcher.fail_token(m["tok"], code, message)

    # both

    def _answer_if_ready(self, x: str, node: PlanNode, record: Any) -> None:
        token, key = record.wait_token, record.outputs_key
        if not token or not key or record.phase != "RUNNING":
            return  # not reached yet (a token while WAITING is the wait's), or ended
        if not self.store.claim_wait_token(x, node.id, token):
            return  # the other half answers it
        try:
            self._answer(x, node, token, self.blobs.get_json(key)["value"])
        except Exception:  # the answer did not go through: the token must not be lost
            self.store.return_wait_token(x, node.id, token)
            raise

    def _answer(self, x: str, node: PlanNode, token: str, value: Any) -> None:
        gate = node.gate or {}
        if gate["gate"] == "approve":
            if value is not True:
                message = f"approval [{gate['name']}] (node [{node.id}]) was rejected"
                self.store.update_node(x, node.id, "FAILED", error={"kind": "user", "message": message},
                                       ended_at=utcnow())
                self.dispatcher.fail_token(token, REJECTED, message)
                return
            plan = self.dispatcher.plan(x)
            value = self.dispatcher._node_inputs(x, plan, node)["value"]
        key = self.blobs.put_json(node_outputs(x, node.id), {"o0": value})
        self.dispatcher.succeed_token(token, {"outputs": key})


def _gate_named(plan: ExecutionPlan, signal: str, execution: str) -> PlanNode:
    gates = [n for n in plan.nodes.values() if n.kind == "gate" and (n.gate or {}).get("gate") != "sleep"]
    for node in gates:
        if node.gate["name"] == signal:  # type: ignore[index]
            return node
    names = sorted(n.gate["name"] for n in gates)  # type: ignore[index]
    raise NotFoundError(f"execution [{execution}] has no gate [{signal}]; its gates are {names or 'none'}")
