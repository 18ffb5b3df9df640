"""Tasks that meet faults: a process killed from outside (as OOMKilled or an evicted pod is), a first
attempt that fails after heartbeating, a pod Kubernetes refuses."""

import os
import signal
import time

from slipstream import task, workflow


def _die() -> None:
    """What the kernel's OOM killer does to a process: SIGKILL, no chance to report."""
    os.kill(os.getpid(), signal.SIGKILL)


@task(retries=1)
def killed_once(x: int) -> int:
    """Killed on its first attempt; the retry returns its attempt number."""
    if os.environ.get("SLIPSTREAM_ATTEMPT") == "0":
        _die()
    return int(os.environ["SLIPSTREAM_ATTEMPT"])


@task
def killed(x: int) -> int:
    _die()
    return x


@task(retries=2)
def fails_after_heartbeats(seconds: float) -> int:
    """Heartbeats for `seconds`, then fails on its first attempt; the second heartbeats as long and succeeds."""
    time.sleep(seconds)
    attempt = int(os.environ["SLIPSTREAM_ATTEMPT"])
    if attempt == 0:
        raise RuntimeError("the first attempt fails")
    return attempt


@task(environment={"1BAD": "a name Kubernetes refuses"})
def refused(x: int) -> int:
    return x


@workflow
def retried_after_kill(x: int = 1) -> int:
    return killed_once(x=x)


@workflow
def dies(x: int = 1) -> int:
    return killed(x=x)


@workflow
def retried_after_user_error(seconds: float = 4.0) -> int:
    return fails_after_heartbeats(seconds=seconds)


@workflow
def refused_pod(x: int = 1) -> int:
    return refused(x=x)


@task
def fails_now(x: int) -> int:
    raise ValueError("this branch fails")


@task
def waits_long(x: int) -> int:
    time.sleep(600)
    return x


@workflow
def one_fails_one_waits(x: int = 1) -> tuple[int, int]:
    return fails_now(x=x), waits_long(x=x)



@task
def plus_one(x: int) -> int:
    return x + 1


@task
def double_it(x: int) -> int:
    return 2 * x


@task
def add(a: int, b: int) -> int:
    return a + b


@workflow
def joined(x: int = 1) -> int:
    return add(a=plus_one(x=x), b=double_it(x=x))  # a join: the dispatcher releases it, not the state machine
