"""Where moto's Step Functions interpreter differs from AWS in a way that breaks slipstream's real paths,
corrected in the sandbox only, narrowly, with the AWS behaviour each correction restores.

- **A task token per attempt.** AWS gives every attempt of a `.waitForTaskToken` state a new
  `$$.Task.Token`. moto (5.2) makes the token once per state and keeps it across `Retry` attempts, with
  the previous attempt's outcome still attached: the retry's first heartbeat reads that stale failure and
  the attempt fails again (or, once the execution moved on, is refused as `InvalidToken`). So a retry
  after a user error died in the sandbox whenever it lived past one heartbeat interval. The correction
  issues a fresh token when an attempt starts on a token that already has an outcome.
- **Answering a token while another execution starts.** moto answers SendTaskSuccess/Failure/Heartbeat by
  asking every RUNNING execution's interpreter whether it holds the token; an execution is RUNNING from the
  moment its worker thread is created, but its interpreter (`exec_worker.env`) exists only once that thread
  runs, so an answer that arrives meanwhile dies with an AttributeError (HTTP 500) — for *every* token, not
  just that execution's. On a loaded machine that window is long: pods' answers and heartbeats failed, their
  R states ran into HeartbeatSeconds, and a wide fan-out's `States.Timeout` then broke moto's Parallel
  (it refuses to re-raise a `States.*` name: `States.Runtime`), a map lost items. AWS finds the token's own
  execution. The correction skips executions whose interpreter does not exist yet: they hold no tokens.
- **A branch's, an item's or a callback's `States.*` error.** When a Parallel branch or a Map iteration fails
  with one of Step Functions' own errors (`States.Timeout` of a heartbeat, say), AWS fails the Parallel or
  the Map with that error, and a SendTaskFailure may pass such a name on (a group's child execution failed
  with it). moto re-raises it as a custom error name, which may not start with `States.`, so the real error
  was replaced by `States.Runtime` "Custom Error Names MUST NOT begin with…", hiding the cause. The
  correction keeps such a name a Step Functions error name in those three places.
- **Service integrations that give up on one dropped connection.** moto's interpreter calls SQS (a run
  state's message) and S3 (a distributed map's items) through its own HTTP server with retries switched
  off. When a 1,000-wide fan-out enters 1,000 run states at once, that server drops some connections and
  the states failed with `States.Runtime` "Connection was closed before we received a valid response";
  AWS's own integrations do not fail that way. The correction gives those two clients botocore's standard
  retries (a repeated SendMessage is a redelivery, which the dispatcher handles as such).
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
    _skip_unstarted_executions()
    _keep_states_errors_of_branches_and_items()
    _retry_integration_calls()
    _applied = True


def _retry_integration_calls() -> None:
    import boto3
    from botocore.config import Config
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import resource_eval_s3
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sqs

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        endpoint = {} if botocore_stubber.enabled else {"endpoint_url": f"http://localhost:{moto_server_port()}"}
        return boto3.client(service, region_name=region, aws_access_key_id="ak", aws_secret_access_key="sk",
                            config=Config(parameter_validation=False, retries={"mode": "standard", "max_attempts": 8},
                                          connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                                          read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS), **endpoint)

    for module in (state_task_service_sqs, resource_eval_s3):
        module.boto_client_for = boto_client_for  # type: ignore[attr-defined]


def _keep_states_errors_of_branches_and_items() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name import custom_error_name
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import iteration_worker
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback_module,
    )

    def error_name(error_name: str | None) -> Any:
        if error_name is not None and error_name.startswith(custom_error_name.ILLEGAL_CUSTOM_ERROR_PREFIX):
            try:
                return StatesErrorName.from_name(error_name)
            except Exception:  # a States.* name moto does not know: as before
                pass
        return custom_error_name.CustomErrorName(error_name=error_name)

    for module in (iteration_worker, branches_decl, callback_module):
        module.CustomErrorName = error_name  # type: ignore[attr-defined]


def _skip_unstarted_executions() -> None:
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend._get_executions

    def _get_executions(self: Any, execution_status: Any = None) -> list[Any]:
        return [e for e in original(self, execution_status)
                if getattr(getattr(e, "exec_worker", None), "env", None) is not None]

    StepFunctionsParserBackend._get_executions = _get_executions  # type: ignore[method-assign]
