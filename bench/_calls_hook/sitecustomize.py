"""bench/calls.py's start-up hook for task processes: one line per AWS call (pid, service, operation) appended
to $SLIPSTREAM_BENCH_CALLS. Registered in botocore's built-in handlers, so every session made after start-up
counts; warm runners' forks inherit it. The file is opened per call (O_APPEND): forks and exits need no flush."""

import os

try:
    import botocore.handlers
except ImportError:  # not a task interpreter
    botocore = None


def _count(model, **_):
    path = os.environ.get("SLIPSTREAM_BENCH_CALLS")
    if path:
        line = f"{os.getpid()} {model.service_model.endpoint_prefix} {model.name}\n".encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


if botocore is not None:
    botocore.handlers.BUILTIN_HANDLERS.append(("before-call", _count))
