"""The two writes a gate's answer needs on its node record (chalicelib.gates): the signal, taken once, and the
gate's task token. Each side writes its half and then reads the other, so whichever comes second sees both."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.store.executions import ExecutionStore, _condition_failed


def record_signal(store: ExecutionStore, x: str, node_id: str, signal_key: str) -> Any | None:
    """Mark the gate answered (its `outputs_key` names the stored signal until the node's outputs replace it) and
    return the record; None if it was answered already or has ended."""
    Node = store.models.NodeExecution
    try:
        Node(pk=x, sk=node_id).update(
            actions=[Node.outputs_key.set(signal_key)],
            condition=Node.outputs_key.does_not_exist() & (Node.phase_rank.does_not_exist() | (Node.phase_rank < 3)))
    except UpdateError as exc:
        if _condition_failed(exc):
            return None
        raise
    return store.node(x, node_id)


def store_gate_token(store: ExecutionStore, x: str, node_id: str, token: str, task: dict[str, Any]) -> Any | None:
    """The gate was reached: keep its token (phase RUNNING) and return the record, signal included if any."""
    if not store.update_node(x, node_id, "RUNNING", wait_token=token, task=task):
        return None
    return store.node(x, node_id)
