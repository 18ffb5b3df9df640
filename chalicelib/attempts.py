"""A node's attempts: when each began and ended, and how it ended — what the console's timeline draws.

Step Functions retries a task node by re-entering its R state (`Retry`); each entry sends a run message with
the attempt number (`$$.State.RetryCount`). The node record keeps one entry per attempt in `attempt_log`,
bounded by the task's retries:

    {"attempt": n, "started_at": iso}                                written when the dispatcher starts it
    + {"ended_at": iso, "outcome": FAILED | TIMED_OUT, "error": …}   written when the next attempt starts

Both go in the one UpdateItem that already moves the node to RUNNING (`ExecutionStore.start_attempt`): no
write is added per attempt. The attempt that a retry replaces reported its failure to Step Functions only, so
its end and outcome come from the `error.json` its pod (or the reconciler) left in its attempt's prefix: one
S3 read, on a retry only. The last attempt's end and outcome are the node's own `ended_at` and phase, written
by whoever ends the node (done, a launch refusal, the status handler): node views list the attempts before
it (`previous_attempts`) next to the node's own fields, which describe its last attempt.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chalicelib.data import attempt_prefix
from chalicelib.errors import NotFoundError

ERROR_CHARS = 300  # an attempt's error message in the log; the whole one stays in its error.json


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def started(attempt: int, at: dt.datetime) -> dict[str, Any]:
    """The log entry of an attempt that starts (its pod's name follows from the attempt: `pods.pod_name`)."""
    return {"attempt": attempt, "started_at": at.isoformat()}


def ended_at(error: dict[str, Any]) -> dt.datetime:
    """When an attempt ended, from the error it left (`ended`, written by the pod or the reconciler); now for an
    error written before attempts carried their end."""
    try:
        return dt.datetime.fromisoformat(str(error["ended"]))
    except (KeyError, ValueError):
        return _now()


def previous_end(blobs: Any, x: str, node_id: str, attempt: int) -> dict[str, Any] | None:
    """How the attempt before `attempt` ended (None for a first attempt): a retry follows only a failure."""
    if attempt < 1:
        return None
    try:
        error = blobs.get_json(f"{attempt_prefix(x, node_id, attempt - 1)}/error.json")
    except NotFoundError:  # it left no error: all that is known is that it had ended when its retry began
        error = {}
    return {"ended_at": ended_at(error).isoformat(),
            "outcome": "TIMED_OUT" if error.get("kind") == "timeout" else "FAILED",
            "error": str(error.get("message") or "")[:ERROR_CHARS]}


def previous_attempts(log: list[dict[str, Any]] | None, attempts: int) -> list[dict[str, Any]]:
    """The attempts before the node's last one, oldest first, as {attempt, started_at, ended_at, outcome[, error]}.
    The last attempt is the node itself (its started_at, ended_at, phase, pod and error): a node that ran once,
    nearly all of them, adds nothing to an answer that lists a thousand nodes."""
    views = []
    for entry in log or ():
        if int(entry["attempt"]) >= attempts - 1:
            continue
        view = {"attempt": int(entry["attempt"]), "started_at": entry["started_at"],
                "ended_at": entry.get("ended_at"), "outcome": entry.get("outcome", "FAILED")}  # only failures retry
        if entry.get("error"):
            view["error"] = entry["error"]
        views.append(view)
    return views
