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

- **No status change events.** AWS sends each execution's start and end to EventBridge ("Step Functions
  Execution Status Change"), which the status handler's rule receives; moto sends none, so the sandbox polled
  ListExecutions of every state machine five times a second — a call per machine per poll, growing with the
  workflows a sandbox has run. `watch_executions` tells the sandbox when moto starts or ends an execution
  (after its end is complete: status, output, error), as EventBridge would; the sandbox then describes it.

Costs of moto's that AWS does not have, cut without changing any answer (`_cut_per_request_costs`; profiled
on a no-op chain of 50, py-spy --gil, they were about half of the sandbox's CPU per node):
- **Routing every request by listing moto's package directory.** moto's server finds a request's backend with
  `list_of_moto_modules()`, which lists and stats moto's ~170 package folders, twice per request, under the
  server's one lock (so it also serialised every request); a node makes some fifty requests. The folders do
  not change while the process runs: listed once; a host's backend is remembered once found.
- **Parsing each JSONPath again on every use.** moto's interpreter (every `.$` parameter, path, result
  path) and EventBridge's target input (nine paths per event and target) build a new jsonpath-ng parser —
  a PLY table build — for each evaluation. Parsed paths are immutable: parsed once per text.
- **Parsing the whole definition again for every execution.** moto's execution worker parses the state
  machine's definition with ANTLR when each execution starts (≈ 0.5 s for a chain of 50: 10 ms per node).
  The parsed program keeps no state of its own between evaluations (moto's Map and Parallel already run one
  program in many threads at once, each with its own environment), so it is kept per definition text.
- **Tokenising every DynamoDB update expression again.** pynamodb writes the same few expressions over and
  over; moto tokenises each character by character (a third of its UpdateItem). Tokens are read-only to its
  parser: kept per expression text, a new list each time.
- **Importing moto's EC2 at start.** The interpreter's Batch integration imports `moto.batch` for one enum of
  its `utils`, and that package's `__init__` imports Batch's models, which import all of EC2: 0.75 s, a third
  of the sandbox's start, for a service slipstream never calls. `moto.batch` is registered unexecuted, its
  models imported when an attribute of the package itself is first read (a Batch request, a reset).
- **A thread per request.** moto's server (werkzeug's) closes every connection after one answer and starts
  a thread for each: 7–12 % of the sandbox's CPU per node went to starting threads. `pool_requests` hands
  accepted requests to reused daemon threads instead, started as needed: a request never waits behind a busy
  thread (an SQS long poll) while the pool is below its size.
- **A new boto3 client per service call** in the integrations above (two per node): one per region and
  service, as clients are thread-safe.
- **Deep-copying each update expression's syntax tree.** moto's update validator copies the parsed
  expression with `copy.deepcopy` (it rewrites names and values in place): half a millisecond per UpdateItem,
  6–7 % of the sandbox's CPU in a burst of executions. The tree is plain data: copied through pickle in memory
  (bytes made and read in the same call, never stored or received), three times as fast, with deepcopy kept
  for anything pickle refuses.
- **Listing a response class's methods on every request.** moto looks up an action's handler by listing the
  class's functions with `inspect.getmembers` per request; a class's methods do not change while it serves:
  listed once per class.
- **Counting a queue's messages on every send.** SendMessage reads one FIFO attribute through
  `Queue.attributes`, which counts the queue's messages three times: a send cost O(queue length), so a
  backed-up queue (the event recorder's, behind a 10,000-item map's events) slowed every send into it further.
  A standard queue has no FIFO attributes: while a send runs, its queue's attributes are not computed
  (`_cheap_sends`); GetQueueAttributes and FIFO queues are unchanged.
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.util
import pickle
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any

_applied = False
_watchers: list[Callable[[str], None]] = []
PARSED_PATHS = 4096
PARSED_PROGRAMS = 32
REQUEST_THREADS = 64


def apply() -> None:
    """Idempotent; call before the interpreter runs (the sandbox does, when it starts moto)."""
    global _applied
    if _applied:
        return
    _defer_package_models("moto.batch")
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
    _cut_per_request_costs()
    _cheap_sends()
    _applied = True


def _retry_integration_calls() -> None:
    import boto3
    from botocore.config import Config
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import resource_eval_s3
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sqs

    clients: dict[tuple[str, str, str], Any] = {}
    lock = threading.Lock()  # boto3's default session is not thread-safe; the clients it makes are

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        endpoint = "" if botocore_stubber.enabled else f"http://localhost:{moto_server_port()}"
        key = (region, service, endpoint)
        with lock:
            if key not in clients:
                clients[key] = boto3.client(
                    service, region_name=region, aws_access_key_id="ak", aws_secret_access_key="sk",
                    config=Config(parameter_validation=False, retries={"mode": "standard", "max_attempts": 8},
                                  connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                                  read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS),
                    **({"endpoint_url": endpoint} if endpoint else {}))
            return clients[key]

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


def _cheap_sends() -> None:
    from moto.sqs.models import Queue, SQSBackend

    counted = Queue.attributes
    sending = threading.local()

    def attributes(self: Any) -> dict[str, Any]:
        if getattr(sending, "active", False) and not self.fifo_queue:
            return {}  # what a send reads of a standard queue: no ContentBasedDeduplication
        return counted.fget(self)  # type: ignore[attr-defined,no-any-return]

    send = SQSBackend.send_message

    @functools.wraps(send)
    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        sending.active = True
        try:
            return send(self, *args, **kwargs)
        finally:
            sending.active = False

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]


def _cut_per_request_costs() -> None:
    import jsonpath_ng
    import jsonpath_ng.ext
    from moto import backends
    from moto.core import responses
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.tokens import ExpressionTokenizer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    backend_for_host = DomainDispatcherApplication.get_backend_for_host
    found: dict[str, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host is None:
            return None
        if host not in found:  # called under the server's lock
            backend = backend_for_host(self, host)
            if backend is None:
                return None
            found[host] = backend
        return found[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]

    tokenize = ExpressionTokenizer.make_list
    tokens = functools.lru_cache(maxsize=PARSED_PATHS)(lambda text: tuple(tokenize(text)))
    ExpressionTokenizer.make_list = classmethod(  # type: ignore[method-assign,assignment]
        lambda cls, text: list(tokens(text)) if isinstance(text, str) else tokenize(text))

    ext_parse = functools.lru_cache(maxsize=PARSED_PATHS)(jsonpath_ng.ext.parse)
    json_path.parse = ext_parse  # type: ignore[attr-defined]
    jsonpath_ng.ext.parse = ext_parse  # EventBridge's target input imports it when it runs
    result_path.parse = functools.lru_cache(maxsize=PARSED_PATHS)(jsonpath_ng.parse)  # type: ignore[attr-defined]

    validators.deepcopy = _copy_tree  # type: ignore[attr-defined]
    responses.method_names_from_class = functools.cache(responses.method_names_from_class)  # type: ignore[attr-defined]

    entrypoint = ExecutionWorker._get_evaluation_entrypoint

    def _get_evaluation_entrypoint(self: Any) -> Any:
        if type(self) is not ExecutionWorker:  # moto's TestState worker parses its own grammar
            return entrypoint(self)
        return _program(self._evaluation_details.state_machine_details.definition)

    ExecutionWorker._get_evaluation_entrypoint = _get_evaluation_entrypoint  # type: ignore[method-assign]


def _copy_tree(tree: Any) -> Any:
    try:
        return pickle.loads(pickle.dumps(tree, pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(tree)


@functools.lru_cache(maxsize=PARSED_PROGRAMS)
def _program(definition: str) -> Any:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    return AmazonStateLanguageParser.parse(definition)[0]


class _RequestPool:
    """A socketserver's `process_request` on reused daemon threads (daemons: a long poll in flight never holds
    up the process's exit, as the thread per request it replaces did not)."""

    def __init__(self, server: Any, size: int) -> None:
        self.server = server
        self.size = size
        self.requests: queue.SimpleQueue[tuple[Any, Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = self._idle = self._queued = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._queued += 1
            if self._queued > self._idle and self._threads < self.size:
                self._threads += 1
                threading.Thread(target=self._work, daemon=True, name=f"moto-request-{self._threads}").start()
        self.requests.put((request, client_address))

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            request, client_address = self.requests.get()
            with self._lock:
                self._idle -= 1
                self._queued -= 1
            self.server.process_request_thread(request, client_address)  # closes the request, errors included


def pool_requests(server: Any, size: int = REQUEST_THREADS) -> None:
    """Serve `server` (moto's werkzeug server, `ThreadedMotoServer._server`) from a pool of threads."""
    server.process_request = _RequestPool(server, size).process_request


def watch_executions(listener: Callable[[str], None]) -> Callable[[], None]:
    """Call `listener(execution_arn)` whenever moto's interpreter starts or ends an execution; it runs on moto's
    threads, so it should only take note. Returns the function that stops the calls."""
    _hook_execution_changes()
    _watchers.append(listener)
    return lambda: _watchers.remove(listener) if listener in _watchers else None


@functools.cache
def _hook_execution_changes() -> None:
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution

    def tell(arn: str) -> None:
        for watcher in list(_watchers):
            watcher(arn)

    start, terminated = Execution.start, BaseExecutionWorkerCommunication.terminated

    def start_and_tell(self: Any) -> None:
        start(self)
        tell(self.exec_arn)

    def terminated_and_tell(self: Any) -> None:
        terminated(self)
        tell(self.execution.exec_arn)

    Execution.start = start_and_tell  # type: ignore[method-assign]
    BaseExecutionWorkerCommunication.terminated = terminated_and_tell  # type: ignore[method-assign]


def _defer_package_models(name: str) -> None:
    """Register package `name` without running its `__init__` (which only imports its `models`): submodules
    import as usual, and the package's own attributes come from `models` on first use."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        return
    package = importlib.util.module_from_spec(spec)

    def __getattr__(attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return getattr(importlib.import_module(f"{name}.models"), attribute)

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, package)
