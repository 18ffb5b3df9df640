"""Where moto's Step Functions interpreter differs from AWS in a way that breaks slipstream's real paths,
corrected in the sandbox only, narrowly, with the AWS behaviour each correction restores.

- **A task token per attempt.** AWS gives every attempt of a `.waitForTaskToken` state a new
  `$$.Task.Token`. moto (5.2) makes the token once per state and keeps it across `Retry` attempts, with
  the previous attempt's outcome still attached: the retry's first heartbeat reads that stale failure and
  the attempt fails again (or, once the execution moved on, is refused as `InvalidToken`). So a retry
  after a user error died in the sandbox whenever it lived past one heartbeat interval. The correction
  issues a fresh token when an attempt starts on a token that already has an outcome.
"""

from __future__ import annotations

from typing import Any

_applied = False


def apply() -> None:
    """Idempotent; call before the interpreter runs (the sandbox does, when it starts moto)."""
    global _applied
    if _applied:
        return
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback_module,
    )

    state_class = callback_module.StateTaskServiceCallback
    original = state_class._eval_execution

    def _eval_execution(self: Any, env: Any) -> None:
        task = env.states.context_object.context_object_data.get("Task") or {}
        endpoint = env.callback_pool_manager.get(task["Token"]) if task.get("Token") else None
        if endpoint is not None and endpoint.get_outcome() is not None:  # a retry of an answered attempt
            env.callback_pool_manager.add(env.states.context_object.update_task_token())
        original(self, env)

    state_class._eval_execution = _eval_execution
    _applied = True
