"""Warm task runners: the sandbox's task processes forked from an interpreter that has already imported them.

A fresh `python -m slipstream.entrypoint` spends ~300 ms or more of every node starting Python and importing
slipstream and boto3 before its first request. The launcher still builds each task's V1Pod; in warm mode it
hands the pod's `python -m <module> <args>` to a *zygote*: one `python -m slipstream.sandbox.runners` process,
started on the first task (and again if it dies), that imports what the entrypoint imports, parses the AWS
service models it calls once, and then only forks. Per task, it forks a child that becomes the pod's process
as `python -m` would have started it — its own session, stdin from /dev/null, stdout and stderr into the pod's
log, `os.environ` replaced wholly by the pod's environment, the working directory, `sys.argv`, and the module
run as `__main__` — and that leaves through the interpreter's own exit (atexit handlers, stdio flushed,
non-daemon threads joined). Why fork rather than a pool of long-lived interpreters that run task after task:
each task is still a process of its own, so the deadline and stop kill exactly it, user code cannot leave
modules, globals, threads or patched libraries behind for the next task, and one task at a time per process
holds by construction. The zygote never runs task code and starts no threads (forking a threaded process
copies locks held by threads that do not exist in the child); it checks, and reports its thread count with
every fork.

Protocol, JSON lines: the launcher writes `{"id", "module", "args", "env", "cwd", "log"}` to the zygote's stdin;
the zygote answers on its stdout `{"id", "pid", "threads"}` once forked and `{"id", "exit", "cpu"}` once reaped
(the exit code as `subprocess` gives it, negative for a signal; the child's CPU seconds), learning of exits
through SIGCHLD on a wake-up pipe. Stray output of the zygote itself goes to its log (`task-runner.log` beside
the pods' logs). Closing its stdin stops it.

A pod runs fresh instead when its command is not `python -m <module>`, or when it sets interpreter start-up
variables (`PYTHON*`) that differ from the zygote's: those take effect only at start-up. Warm children share
the zygote's hash seed (`random` reseeds itself after a fork); code that needs a fresh interpreter can have
one: `SLIPSTREAM_SANDBOX_TASK_RUNNER=fresh`.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import os
import runpy
import selectors
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

TASK_RUNNER_ENV = "SLIPSTREAM_SANDBOX_TASK_RUNNER"
TASK_RUNNERS = ("warm", "fresh")
RUNNER_LOG = "task-runner.log"
PRELOADED = ("boto3", "slipstream.entrypoint", "slipstream.bundle", "slipstream.engine", "slipstream.type_engine",
             "slipstream.serialization", "chalicelib.spec.types")
WARMED_SERVICES = ("s3", "stepfunctions")  # the entrypoint's clients
CLOSE_WAIT_SECONDS = 1.0


def task_runner_setting(value: str | None = None) -> str:
    """The sandbox's task runner: `value`, else $SLIPSTREAM_SANDBOX_TASK_RUNNER, else warm (fresh where there is
    no fork)."""
    chosen = (value or os.environ.get(TASK_RUNNER_ENV) or "warm").strip().lower()
    if chosen not in TASK_RUNNERS:
        raise ValueError(f"task runner [{chosen}] is not one of {', '.join(TASK_RUNNERS)}: set {TASK_RUNNER_ENV} "
                         "to warm (tasks forked from a warm interpreter) or fresh (a new Python process per task)")
    return chosen if hasattr(os, "fork") else "fresh"


def warm_module(argv: list[str], env: dict[str, str], runner_env: dict[str, str]) -> str | None:
    """The module a warm runner can run for this command line, or None when it needs a fresh interpreter."""
    if len(argv) < 3 or argv[1] != "-m":
        return None
    settings = {k: v for k, v in env.items() if k.startswith("PYTHON")}
    if settings != {k: v for k, v in runner_env.items() if k.startswith("PYTHON")}:
        return None
    return argv[2]


class WarmProcess:
    """A task forked by the zygote, with the part of `subprocess.Popen` the launcher uses. Its pid arrives
    when the zygote has forked it; a kill asked for before then lands as soon as it does."""

    def __init__(self, request_id: int) -> None:
        self.id = request_id
        self.pid: int | None = None
        self.returncode: int | None = None
        self.lost: str | None = None  # why it ended unseen: its zygote died
        self.cpu_seconds: float | None = None  # user and system time, once it ended
        self.zygote: subprocess.Popen[bytes] | None = None
        self.forked = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._kill = False

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(f"warm task {self.id}", timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        with self._lock:
            if self.returncode is not None:
                return
            self._kill = True
            if self.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)

    def _started(self, pid: int) -> None:
        with self._lock:
            self.pid = pid
        self.forked.set()
        if self._kill:
            self.kill()

    def _ended(self, code: int, lost: str | None = None) -> None:
        with self._lock:
            if self.returncode is None:
                self.returncode, self.lost = code, lost
        self._done.set()


class WarmRunner:
    """The launcher's side: starts the zygote (again when it has died), sends it tasks and follows them."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.threads_at_fork: int | None = None
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._zygote: subprocess.Popen[bytes] | None = None
        self._tasks: dict[int, WarmProcess] = {}
        self._next_id = 0
        self.starts = 0  # zygotes started, for tests and the log

    def spawn(self, module: str, args: list[str], env: dict[str, str], cwd: str, log: Path) -> WarmProcess:
        with self._write_lock:  # requests whole and in order; a full pipe blocks only other spawns, not _follow
            with self._lock:
                self._next_id += 1
                task = WarmProcess(self._next_id)
                task.zygote = zygote = self._running_zygote()
                self._tasks[task.id] = task
            line = json.dumps({"id": task.id, "module": module, "args": args, "env": env, "cwd": cwd,
                               "log": str(log)}) + "\n"
            try:
                assert zygote.stdin is not None
                zygote.stdin.write(line.encode())
                zygote.stdin.flush()
            except (OSError, ValueError):  # it died or was closed just now: its reader ends the task as lost
                pass
        return task

    def _running_zygote(self) -> subprocess.Popen[bytes]:
        if self._zygote is not None and self._zygote.poll() is None:
            return self._zygote
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            zygote = subprocess.Popen([sys.executable, "-m", __name__], env=self.env, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        self._zygote = zygote
        self.starts += 1
        threading.Thread(target=self._follow, args=(zygote,), daemon=True, name=f"task-runner-{zygote.pid}").start()
        return zygote

    def _follow(self, zygote: subprocess.Popen[bytes]) -> None:
        assert zygote.stdout is not None
        for line in zygote.stdout:
            message = json.loads(line)
            with self._lock:
                task = self._tasks.get(message["id"])
                if task is not None and "exit" in message:
                    del self._tasks[message["id"]]
            if task is None:
                continue
            if "pid" in message:
                self.threads_at_fork = message["threads"]
                task._started(message["pid"])
            else:
                task.cpu_seconds = message["cpu"]
                task._ended(message["exit"])
        zygote.wait()
        self._lost(zygote)

    def _lost(self, zygote: subprocess.Popen[bytes]) -> None:
        """The zygote died: its children are orphans whose exits it cannot report, so they are killed and
        reported lost; tasks it had not forked yet are lost too. The next task starts a new zygote."""
        with self._lock:
            if self._zygote is zygote:
                self._zygote = None
            tasks = [task for task in self._tasks.values() if task.zygote is zygote]
            for task in tasks:
                self._tasks.pop(task.id, None)
        why = f"its warm task runner (pid {zygote.pid}) exited with code {zygote.returncode}; see {self.log_path}"
        for task in tasks:
            task.kill()
            task._ended(-signal.SIGKILL, lost=f"was lost: {why}")

    def close(self) -> None:
        """Stop the zygote: end of its input, so it exits as an interpreter does (a coverage run saves its data)."""
        with self._lock:
            zygote, self._zygote = self._zygote, None
        if zygote is None:
            return
        with contextlib.suppress(OSError):
            assert zygote.stdin is not None
            zygote.stdin.close()
        try:
            zygote.wait(CLOSE_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            zygote.kill()
            zygote.wait()


# The zygote (python -m slipstream.sandbox.runners)


def _preload() -> None:
    for name in PRELOADED:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    _share_botocore_models()


def _share_botocore_models() -> None:
    """Every child's boto3 session would parse the service models again (~40 ms for S3 and Step Functions):
    sessions on botocore's default data path share one loader, filled here before any fork. A pod that sets
    its own AWS_DATA_PATH gets a loader of its own, as before."""
    import boto3
    import botocore.loaders
    import botocore.session

    shared = botocore.loaders.create_loader()
    own = botocore.session.create_loader

    def create_loader(search_path_string: str | None = None) -> Any:
        return own(search_path_string) if search_path_string else shared

    botocore.session.create_loader = create_loader
    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="warm", aws_secret_access_key="warm")
    for service in WARMED_SERVICES:
        session.client(service)


def _send(fd: int, message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


def _serve(out: int) -> dict[str, Any] | None:
    """Fork a child per request and report its pid and exit. Returns None in the zygote when its input ends, and
    the request in a child, which then becomes the task."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    children: dict[int, int] = {}
    pending = b""
    while True:
        for key, _ in selector.select():
            if key.fd == wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                _reap(children, out)
                continue
            data = os.read(0, 1 << 16)
            if not data:
                return None
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                request = json.loads(line)
                pid = _fork()
                if pid == 0:
                    selector.close()
                    for fd in (wake_r, wake_w, out):
                        os.close(fd)
                    return request  # type: ignore[no-any-return]
                children[pid] = request["id"]
                _send(out, {"id": request["id"], "pid": pid, "threads": threading.active_count()})


def _fork() -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    return pid


def _reap(children: dict[int, int], out: int) -> None:
    while children:
        pid, status, usage = os.wait4(-1, os.WNOHANG)
        if pid == 0:
            return
        if pid in children:
            _send(out, {"id": children.pop(pid), "exit": os.waitstatus_to_exitcode(status),
                        "cpu": usage.ru_utime + usage.ru_stime})


def _become(request: dict[str, Any]) -> NoReturn:
    """Turn this forked child into the pod's process as `python -m <module> <args>` starts it; the module's
    SystemExit or exception leaves through the interpreter as it would there."""
    import tempfile

    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # found again from the task's TMPDIR
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]
    sys.argv = ["-m", *request["args"]]
    try:
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        _exit(_exit_code(exc.code))
    except BaseException:
        sys.excepthook(*sys.exc_info())
        _exit(1)
    _exit(0)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _exit(code: int) -> NoReturn:
    """Leave as the interpreter does, up to its heap's teardown: non-daemon threads joined, atexit handlers run
    (a coverage run saves its data there), stdio flushed. Tearing down the zygote's modules would write to
    nearly every page the fork shares, 50–100 ms a task, for nothing anyone sees."""
    threading._shutdown()  # type: ignore[attr-defined]  # what Py_FinalizeEx calls first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()  # type: ignore[union-attr]
    os._exit(code)


def main() -> int:
    out = os.dup(1)
    os.dup2(2, 1)  # the zygote's own prints must not reach the launcher as messages
    _preload()
    if threading.active_count() != 1:
        print(f"slipstream: the task runner has {threading.active_count()} threads after its imports; forked "
              "children may deadlock", file=sys.stderr)
    gc.freeze()  # the children's collections then leave the zygote's objects, and the pages they share, alone
    request = _serve(out)
    if request is not None:
        _become(request)
    return 0


if __name__ == "__main__":
    sys.exit(main())
