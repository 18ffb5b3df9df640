"""Caching, retries, timeouts, resources: the task options Flyte users rely on."""

import os
from datetime import timedelta
from pathlib import Path

from slipstream import Resources, task, workflow


@task(cache=True, cache_version="1")
def expensive(x: int) -> int:
    return x ** 2


@task(retries=2)
def flaky(marker_dir: str) -> str:
    """Fails on its first two attempts, succeeds on the third (attempts counted in marker_dir)."""
    attempts = Path(marker_dir) / "attempts"
    count = int(attempts.read_text()) + 1 if attempts.exists() else 1
    attempts.write_text(str(count))
    if count < 3:
        raise RuntimeError(f"transient failure {count}")
    return f"succeeded on attempt {count}"


@task(timeout=timedelta(minutes=5), requests=Resources(cpu="500m", mem="256Mi"),
      limits=Resources(cpu=1, mem="512Mi"), environment={"MODE": "demo"}, interruptible=True)
def configured(x: int) -> str:
    return f"{os.environ.get('MODE', 'unset')}:{x}"


@task
def fails(message: str) -> int:
    raise ValueError(message)


@task(timeout=2)
def sleepy(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


@workflow
def cached(x: int = 7) -> int:
    return expensive(x=x)


@workflow
def retried(marker_dir: str) -> str:
    return flaky(marker_dir=marker_dir)


@workflow
def user_error(message: str = "bad input") -> int:
    return fails(message=message)


@workflow
def too_slow(seconds: float = 30.0) -> float:
    return sleepy(seconds=seconds)
