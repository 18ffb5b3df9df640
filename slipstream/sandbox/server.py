"""The sandbox: the whole control plane on one machine.

moto's server (127.0.0.1, a free port) plays DynamoDB, S3, SQS, SNS, EventBridge and Step Functions with
state machines really executed; the Chalice app is served locally on another free port; worker threads
play the event sources AWS would drive, and record the notifications and phase change events it sends.
`Sandbox` runs in-process (the tests use it directly); `python -m slipstream.sandbox` runs one in the
background for `slipstream sandbox start`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import queue
import socket
import threading
import time
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import boto3

from chalicelib.config import LOCAL_CREDENTIALS, Settings
from chalicelib.errors import ConflictError
from chalicelib.services import Services, aws_client
from slipstream.sandbox import moto_compat
from slipstream.sandbox.api_server import ApiServer
from slipstream.sandbox.infra import create_resources
from slipstream.sandbox.launcher import LocalProcessLauncher, sandbox_env
from slipstream.sandbox.logs import PhaseLog
from slipstream.sandbox.notifications import FILE_NAME as NOTIFICATIONS_FILE
from slipstream.sandbox.notifications import NotificationRecorder
from slipstream.sandbox.phase_events import FILE_NAME as EVENTS_FILE
from slipstream.sandbox.phase_events import EventRecorder
from slipstream.sandbox.workers import DispatchWorker, StatusPoller, scheduler_worker

DEFAULT_PROJECT = "default"
STACK = "slipstream"
REGION = "us-east-1"
WORKER_JOIN_SECONDS = 3.0


def machine_task_slots() -> int:
    """Task processes the sandbox runs at once per project-domain: two per core. Each is a Python process
    that spends most of a second starting; more at once only makes every one of them late."""
    return 2 * (os.cpu_count() or 1)


class SharedSession(boto3.session.Session):
    """One boto3 session for all of the sandbox's clients. Every new session parses botocore's endpoint rules
    and each service's model again, which was most of the sandbox's start (a dozen clients, 0.3–0.8 s each).
    Sessions are not thread-safe, and a client may be made late from any thread: one at a time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()

    def client(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return super().client(*args, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sandbox:
    def __init__(self, home: Path | None = None, stack: str = STACK, region: str = REGION,
                 task_runner: str | None = None, **settings: Any) -> None:
        import tempfile

        self.home = home or Path(tempfile.mkdtemp(prefix="slipstream-sandbox-"))
        self.stack = stack
        self.region = region
        self.workers: list[Any] = []
        self.overrides = settings  # Settings fields to change, e.g. low limits to exercise splitting
        self.task_runner = task_runner  # warm or fresh; None: $SLIPSTREAM_SANDBOX_TASK_RUNNER, else warm
        self.launcher: Any = None
        self._moto: Any = None
        self._api: ApiServer | None = None
        self.settings: Settings | None = None
        self.services: Services | None = None
        self.api_url = ""
        self.endpoint_url = ""
        self.session: SharedSession | None = None
        self._clients: dict[str, Any] = {}
        self._unwatch: Any = None

    def start(self) -> Sandbox:
        from moto.server import ThreadedMotoServer

        moto_compat.apply()
        self.session = SharedSession(*LOCAL_CREDENTIALS)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request log lines
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)  # dumps every failed state
        moto_port = free_port()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        self._moto.start()
        moto_compat.pool_requests(self._moto._server)
        self.endpoint_url = f"http://127.0.0.1:{moto_port}"
        # moto's Step Functions interpreter calls SQS & co. at localhost:$MOTO_PORT
        os.environ["MOTO_PORT"] = str(moto_port)
        self._configure_moto({"stepfunctions": {"execute_state_machine": True}})
        self.settings = dataclasses.replace(
            Settings.for_stack(self.stack, region=self.region, endpoint_url=self.endpoint_url),
            **{"heartbeat_seconds": 60, "timeout_slack_seconds": 2, "max_running_tasks": machine_task_slots(),
               **self.overrides})
        create_resources({name: self.client(name) for name in ("dynamodb", "s3", "sqs", "sns", "events")},
                         self.stack, self.region)
        heartbeat, bucket = self.settings.pod_heartbeat_seconds, self.settings.data_bucket

        def pod_config() -> Any:  # on the first launch: its module imports the Kubernetes client
            from chalicelib.dispatch.pods import PodConfig

            return PodConfig(default_image="local", region=self.region, data_bucket=bucket,
                             extra_env={"SLIPSTREAM_HEARTBEAT_SECONDS": str(heartbeat)})

        self.launcher = LocalProcessLauncher(
            pod_config,
            fail_token=lambda token, error, cause: self.services.dispatcher.fail_token(token, error, cause),
            heartbeat_token=lambda token: self.services.dispatcher.heartbeat_token(token),
            save_error=lambda *error: self.services.dispatcher.save_attempt_error(*error),
            max_pending_seconds=self.settings.max_pending_seconds, heartbeat_interval=heartbeat,
            max_running=self.settings.max_running_tasks, task_runner=self.task_runner,
            logs_dir=self.home / "pods", env=sandbox_env(self.endpoint_url, self.region))
        self.services = Services.build(self.settings, session=self.session, launcher=self.launcher)
        self.services.events.publisher = PhaseLog(self.services.events.publisher)  # see slipstream.sandbox.logs
        with contextlib.suppress(ConflictError):
            self.services.metadata.create_project(DEFAULT_PROJECT, "The sandbox's default project")
        self._serve_api()
        self._start_workers()
        return self

    def _start_workers(self) -> None:
        assert self.services is not None and self.settings is not None
        sqs, sfn = self.client("sqs"), self.client("stepfunctions")
        self.workers = [DispatchWorker(sqs, self.settings.dispatch_queue_url, self.services.dispatcher,
                                       name=f"sandbox-dispatch-{i}") for i in range(3)]
        changes: queue.SimpleQueue[str] = queue.SimpleQueue()  # executions moto started or ended
        self._unwatch = moto_compat.watch_executions(changes.put)
        self.workers.append(StatusPoller(sfn, self.services.status, changes=changes))
        self.workers.append(NotificationRecorder(sqs, self.client("sns"), self.settings.events_topic_arn,
                                                 self.home / NOTIFICATIONS_FILE))
        if self.settings.events_bus_name:  # empty: the control plane publishes no events, so none to record
            self.workers.append(EventRecorder(sqs, self.client("events"), self.settings.events_bus_name,
                                              self.home / EVENTS_FILE))
        self.workers.append(scheduler_worker(self.services))
        for worker in self.workers:
            worker.start()

    def client(self, service: str) -> Any:
        """A boto3 client of the sandbox's AWS (moto's server), one per service (clients are thread-safe)."""
        assert self.settings is not None, "start() the sandbox first"
        if service not in self._clients:
            self._clients[service] = aws_client(self.settings, service, self.session)
        return self._clients[service]

    def _configure_moto(self, config: dict[str, Any]) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/config", data=json.dumps(config).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def _serve_api(self) -> None:
        """The app on a free port, many requests at once, each with its own request (see api_server)."""
        import app as chalice_app

        chalice_app.use_services(self.services)
        warnings.filterwarnings("ignore", message=".*is not a supported in local mode.*")
        self._api = ApiServer(chalice_app.app).start()
        self.api_url = self._api.url

    def describe(self) -> dict[str, Any]:
        return {"api_url": self.api_url, "aws_endpoint_url": self.endpoint_url, "stack": self.stack,
                "region": self.region, "project": DEFAULT_PROJECT, "domain": "development"}

    def stop(self, process_ends: bool = False) -> None:
        """Stop taking requests, then the workers and task processes, then moto: about a second (a worker
        finishes its step; a dispatcher's SQS receive waits 1 s). Joins share one bound; the threads are
        daemons, so one stuck in a call cannot hold the process. When the process ends right after
        (`process_ends`, as `serve`'s does), only the task processes, which would outlive it, are stopped:
        the servers and threads end with it, a second sooner (the joins; moto's shutdown waits out a 0.5 s poll)."""
        if self._unwatch is not None:
            self._unwatch()
        if process_ends:
            for worker in self.workers:
                worker.stop()
            if self.launcher is not None:
                self.launcher.shutdown()
            return
        if self._api is not None:
            self._api.stop()
        for worker in self.workers:
            worker.stop()
        if self.launcher is not None:
            self.launcher.shutdown()
        deadline = time.monotonic() + WORKER_JOIN_SECONDS
        for worker in self.workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._moto is not None:
            self._moto.stop()


def _local_credentials_env() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", LOCAL_CREDENTIALS[0])
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", LOCAL_CREDENTIALS[1])


def serve(state_dir: Path) -> None:
    """Run a sandbox until SIGTERM or SIGINT. It announces itself twice: `sandbox.pid` as soon as it runs
    (so `slipstream sandbox status` can say "starting"), `state.json` once its API answers.
    `SLIPSTREAM_SANDBOX_SETTINGS` (JSON) may change Settings fields, e.g. low limits for tests; it is read
    here because moto's Step Functions interpreter finds its server through the process-wide MOTO_PORT,
    so each sandbox needs a process of its own."""
    import signal

    from slipstream.config import PID_FILE, STATE_FILE
    from slipstream.sandbox.logs import configure

    began = time.monotonic()
    log = configure()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    state_dir.mkdir(parents=True, exist_ok=True)
    _write_json(state_dir / PID_FILE, {"pid": os.getpid()})
    overrides = json.loads(os.environ.get("SLIPSTREAM_SANDBOX_SETTINGS") or "{}")
    sandbox = Sandbox(home=state_dir, **overrides)
    try:
        sandbox.start()
        _write_json(state_dir / STATE_FILE, {**sandbox.describe(), "pid": os.getpid()})
        log.info(f"sandbox started: {sandbox.api_url}", extra={
            **sandbox.describe(), "pid": os.getpid(), "seconds": round(time.monotonic() - began, 3)})
        threading.Thread(target=_import_pods, daemon=True, name="sandbox-imports").start()  # for the first task
        stop.wait()
        log.info("sandbox stopping")
    except Exception:
        log.exception("sandbox failed")
        raise
    finally:
        sandbox.stop(process_ends=True)  # __main__ ends the process next
        log.info("sandbox stopped")
        for name in (STATE_FILE, PID_FILE):
            (state_dir / name).unlink(missing_ok=True)


def _import_pods() -> None:
    """The pods' module (and the Kubernetes client) once the sandbox answers, not before: the first task need
    not wait for it, nor the start."""
    import chalicelib.dispatch.pods  # noqa: F401


def _write_json(path: Path, value: dict[str, Any]) -> None:
    """Write whole or not at all: readers never see half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(value, indent=2))
    tmp.replace(path)
