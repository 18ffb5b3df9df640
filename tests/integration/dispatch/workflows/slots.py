"""Two independent tasks: with one task slot, one of them waits for the other's."""

from slipstream import task, workflow


@task
def double(x: int) -> int:
    return 2 * x


@task
def triple(x: int) -> int:
    return 3 * x


@workflow
def pair(x: int = 1) -> list[int]:
    return [double(x=x), triple(x=x)]
