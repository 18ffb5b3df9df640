"""The sandbox's task launcher: the pod the dispatcher would create on EKS, run as a local process.

It builds the same V1Pod and runs its container's command with its environment, so the sandbox
exercises the real pod spec and entrypoint. Names are the pods' names: a redelivered message finds the
process already started. `activeDeadlineSeconds` is enforced, and a process that dies without
reporting fails its task token, as the reconciler does on EKS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.dispatch.pods import PodConfig, PodRequest, build_pod


class LocalProcessLauncher:
    def __init__(self, config: PodConfig, fail_token: Callable[[str, str, str], None], logs_dir: Path,
                 env: dict[str, str]) -> None:
        self.config = config
        self.fail_token = fail_token
        self.logs_dir = logs_dir
        self.env = env
        self.processes: dict[str, tuple[subprocess.Popen[bytes], PodRequest]] = {}
        self.pods: dict[str, Any] = {}  # name → the V1Pod it runs, for inspection
        self._lock = threading.Lock()

    def launch(self, request: PodRequest) -> bool:
        pod = build_pod(request, self.config)
        name = pod.metadata.name
        with self._lock:
            if name in self.processes:
                return False
            container = pod.spec.containers[0]
            argv = [sys.executable, *container.command[1:], *(container.args or [])]
            env = {**self.env, **{e.name: e.value for e in container.env or [] if e.value is not None}}
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            with open(self.logs_dir / f"{name}.log", "wb") as log:
                process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, start_new_session=True)
            self.processes[name] = (process, request)
            self.pods[name] = pod
        deadline = pod.spec.active_deadline_seconds
        threading.Thread(target=self._watch, args=(name, process, request, deadline), daemon=True,
                         name=f"watch-{name}").start()
        return True

    def _watch(self, name: str, process: subprocess.Popen[bytes], request: PodRequest,
               deadline: int | None) -> None:
        try:
            code = process.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            self.fail_token(request.task_token, "slipstream.Timeout",
                            f"task [{request.task['id']['name']}] exceeded its timeout of {deadline}s")
            return
        if code not in (0, -9, -15):  # 0: it reported; killed: terminated on purpose
            self.fail_token(request.task_token, "slipstream.SystemError",
                            f"pod [{name}] exited with code {code} without reporting")

    def stop_execution(self, project: str, domain: str, execution: str) -> int:
        key = f"{project}/{domain}/{execution}"
        stopped = 0
        with self._lock:
            for process, request in self.processes.values():
                if (request.execution == key or request.execution.startswith(key + "/")) and process.poll() is None:
                    process.kill()
                    stopped += 1
        return stopped

    def shutdown(self) -> None:
        with self._lock:
            for process, _ in self.processes.values():
                if process.poll() is None:
                    process.kill()


def sandbox_env(endpoint_url: str, region: str) -> dict[str, str]:
    """What a task process needs to reach the sandbox's AWS: moto's endpoint and throwaway credentials."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")}
    return {**keep, "AWS_ENDPOINT_URL": endpoint_url, "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_DEFAULT_REGION": region, "AWS_REGION": region,
            "PYTHONUNBUFFERED": "1", "SLIPSTREAM_HEARTBEAT_SECONDS": "5"}
