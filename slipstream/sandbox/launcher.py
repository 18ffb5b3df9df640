"""The sandbox's task launcher: the pod the dispatcher would create on EKS, run as a local process.

It builds the same V1Pod and runs its container's command with its environment, so the sandbox
exercises the real pod spec and entrypoint. Names are the pods' names: a redelivered message finds the
process already started. `activeDeadlineSeconds` is enforced, and a process that dies without
reporting fails its task token, as the reconciler does on EKS.

Each pod's process is either fresh (`subprocess`, its container's command as is) or, by default, forked from
a warm task runner that has imported slipstream and boto3 already (see runners.py): the same pod, command,
environment, log and deadline, without the interpreter's start-up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slipstream.sandbox.runners import RUNNER_LOG, WarmProcess, WarmRunner, task_runner_setting, warm_module

PENDING_ENV = "SLIPSTREAM_SANDBOX_PENDING_SECONDS"
_REPORTED_EXITS = (0, 4)  # it reported (4: after its own timeout)
TaskProcess = subprocess.Popen[bytes] | WarmProcess

if TYPE_CHECKING:  # the pods' module imports the Kubernetes client: on the first launch, not at start
    from chalicelib.dispatch.pods import PodConfig, PodRequest


class LocalProcessLauncher:
    def __init__(self, config: PodConfig | Callable[[], PodConfig], fail_token: Callable[[str, str, str], None],
                 logs_dir: Path, env: dict[str, str], heartbeat_token: Callable[[str], None] | None = None,
                 save_error: Callable[[str, str, int, str, str], None] | None = None,
                 max_pending_seconds: int | None = None, heartbeat_interval: float = 5.0,
                 max_running: int = 0, task_runner: str | None = None) -> None:
        """`config` may be a callable that makes it on the first launch; `max_pending_seconds` None is the
        reconciler's default. Both keep the Kubernetes client's import (a third of the sandbox's imports) off
        the sandbox's start."""
        self._config = config
        self.task_runner = task_runner_setting(task_runner)
        self.runner = WarmRunner(env, logs_dir / RUNNER_LOG) if self.task_runner == "warm" else None
        self.max_running = max_running  # task processes per project-domain at once; 0: no limit
        self.fail_token = fail_token
        self.heartbeat_token = heartbeat_token
        self.save_error = save_error
        self.max_pending_seconds = max_pending_seconds
        self.heartbeat_interval = heartbeat_interval
        self.logs_dir = logs_dir
        self.env = env
        self.processes: dict[str, tuple[TaskProcess | None, PodRequest]] = {}  # None: Pending
        self.pods: dict[str, Any] = {}  # name → the V1Pod it runs, for inspection
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._cancelled: set[str] = set()  # pods of terminated executions: killed, or never started
        self._slots: dict[tuple[str, str], threading.Semaphore] = {}  # (project, domain) → its task slots

    @property
    def config(self) -> PodConfig:
        if callable(self._config):
            self._config = self._config()
        return self._config

    def set_task_runner(self, kind: str) -> None:
        """Run the tasks launched from now on warm or fresh; call it between tasks (bench/node_overhead.py
        compares both in one sandbox: a process holds one sandbox at a time)."""
        kind = task_runner_setting(kind)
        if kind == self.task_runner:
            return
        if self.runner is not None:
            self.runner.close()
        self.task_runner = kind
        self.runner = WarmRunner(self.env, self.logs_dir / RUNNER_LOG) if kind == "warm" else None

    def launch(self, request: PodRequest) -> bool:
        from chalicelib.dispatch.pods import build_pod, build_token_secret

        pod = build_pod(request, self.config)
        name = pod.metadata.name
        container = pod.spec.containers[0]
        env = {**self.env, **container_env(container, [build_token_secret(request)])}
        with self._lock:
            if name in self.processes:
                return False
            self.processes[name] = (None, request)
            self.pods[name] = pod
        hold = float(env.get(PENDING_ENV) or 0)
        threading.Thread(target=self._schedule, args=(name, pod, env, request, hold), daemon=True,
                         name=f"pod-{name}").start()
        return True

    def _slot(self, request: PodRequest) -> threading.Semaphore | None:
        if not self.max_running:
            return None
        with self._lock:
            return self._slots.setdefault((request.project, request.domain), threading.Semaphore(self.max_running))

    def _take_slot(self, name: str, request: PodRequest, slot: threading.Semaphore) -> bool:
        """Wait, Pending, for one of the project-domain's task slots, keeping the token alive: as a pod waits
        for a node with room. False if the execution was stopped meanwhile."""
        while not slot.acquire(timeout=self.heartbeat_interval):
            if self._stopped.is_set() or name in self._cancelled:
                return False
            if self.heartbeat_token is not None:
                self.heartbeat_token(request.task_token)
        return True

    def _schedule(self, name: str, pod: Any, env: dict[str, str], request: PodRequest, hold: float) -> None:
        """Pending for `hold` seconds (heartbeating the token, failing it past the maximum), then for a free task
        slot of its project-domain, then run."""
        from chalicelib.dispatch.reconciler import DEFAULT_MAX_PENDING_SECONDS, PENDING_TIMEOUT_ERROR, pending_cause

        most = self.max_pending_seconds if self.max_pending_seconds is not None else DEFAULT_MAX_PENDING_SECONDS
        started = time.monotonic()
        while (waited := time.monotonic() - started) < hold:
            if waited > most:
                self._fail(request, PENDING_TIMEOUT_ERROR, "system", pending_cause(
                    f"sandbox/{name}", request.node_id, waited, "Unschedulable",
                    f"the sandbox holds this pod for {hold:g}s ({PENDING_ENV})"))
                return
            if self.heartbeat_token is not None and waited > 0:
                self.heartbeat_token(request.task_token)
            if self._stopped.wait(min(self.heartbeat_interval, hold - waited, most - waited + 0.1)):
                return
        slot = self._slot(request)
        if slot is not None and not self._take_slot(name, request, slot):
            return
        try:
            self._run(name, pod, env, request)
        finally:
            if slot is not None:
                slot.release()

    def _run(self, name: str, pod: Any, env: dict[str, str], request: PodRequest) -> None:
        with self._lock:
            if name in self._cancelled or self._stopped.is_set():
                return
            container = pod.spec.containers[0]
            argv = [sys.executable, *container.command[1:], *(container.args or [])]
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            process = self._start(argv, env, self.logs_dir / f"{name}.log")
            self.processes[name] = (process, request)
        self._watch(name, process, request, pod.spec.active_deadline_seconds)

    def _start(self, argv: list[str], env: dict[str, str], log_path: Path) -> TaskProcess:
        module = warm_module(argv, env, self.env) if self.runner is not None else None
        if self.runner is not None and module is not None:
            return self.runner.spawn(module, argv[3:], env, os.getcwd(), log_path)
        with open(log_path, "wb") as log:
            return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)

    def _watch(self, name: str, process: TaskProcess, request: PodRequest, deadline: int | None) -> None:
        try:
            code = process.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            self._fail(request, "slipstream.Timeout", "timeout", f"pod [{name}] of task [{request.task['id']['name']}] "
                       f"ran past its deadline of {deadline}s (activeDeadlineSeconds)")
            return
        if code in _REPORTED_EXITS or name in self._cancelled:
            return
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        if isinstance(process, WarmProcess) and process.lost:
            how = process.lost
        self._fail(request, "slipstream.SystemError", "system", f"pod [{name}] of node [{request.node_id}] {how} "
                   "before it reported (in a cluster: OOMKilled, evicted or a lost node)")

    def _fail(self, request: PodRequest, error: str, kind: str, cause: str) -> None:
        if self.save_error is not None:
            self.save_error(request.execution, request.node_id, request.attempt, kind, cause)
        self.fail_token(request.task_token, error, cause)

    def stop_execution(self, project: str, domain: str, execution: str) -> int:
        key = f"{project}/{domain}/{execution}"
        stopped = 0
        with self._lock:
            for name, (process, request) in list(self.processes.items()):
                if not (request.execution == key or request.execution.startswith(key + "/")):
                    continue
                if name in self._cancelled or (process is not None and process.poll() is not None):
                    continue  # stopped already, or it ended by itself
                self._cancelled.add(name)
                stopped += 1
                if process is not None:
                    process.kill()
        return stopped

    def shutdown(self) -> None:
        self._stopped.set()
        with self._lock:
            for name, (process, _) in self.processes.items():
                self._cancelled.add(name)
                if process is not None and process.poll() is None:
                    process.kill()
        if self.runner is not None:
            self.runner.close()


def container_env(container: Any, secrets: list[Any]) -> dict[str, str]:
    """The container's environment as the kubelet gives it: plain values, and `secretKeyRef`s resolved from
    `secrets` (V1Secret); refs to secrets the sandbox does not hold (a task's own) are left out, as before."""
    held = {s.metadata.name: s.string_data or {} for s in secrets}
    env = {}
    for var in container.env or []:
        ref = var.value_from.secret_key_ref if var.value_from else None
        if var.value is not None:
            env[var.name] = var.value
        elif ref is not None and ref.key in held.get(ref.name, {}):
            env[var.name] = held[ref.name][ref.key]
    return env


def sandbox_env(endpoint_url: str, region: str) -> dict[str, str]:
    """What a task process needs to reach the sandbox's AWS: moto's endpoint and throwaway credentials."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")}
    return {**keep, "AWS_ENDPOINT_URL": endpoint_url, "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_DEFAULT_REGION": region, "AWS_REGION": region,
            "PYTHONUNBUFFERED": "1"}
