"""Graph shapes: a diamond, and an N shape that is not series-parallel (c must not wait for b)."""

import time

from slipstream import task, workflow


@task
def source(x: int) -> int:
    return x


@task
def slow_source(x: int, seconds: float) -> int:
    time.sleep(seconds)
    return x


@task
def inc(x: int) -> int:
    return x + 1


@task
def add(a: int, b: int) -> int:
    return a + b


@workflow
def diamond(x: int = 1) -> int:
    a = source(x=x)
    return add(a=inc(x=a), b=inc(x=a))


@workflow
def n_shape(x: int = 1, delay: float = 0.0) -> tuple[int, int]:
    a = source(x=x)
    b = slow_source(x=x, seconds=delay)
    c = inc(x=a)
    d = add(a=a, b=b)
    return c, d
