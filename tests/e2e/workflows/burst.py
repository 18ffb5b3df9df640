"""A one-task workflow to submit many times at once."""

from slipstream import task, workflow


@task
def inc(x: int) -> int:
    return x + 1


@workflow
def one(x: int = 0) -> int:
    return inc(x=x)
