"""flytekit side of bench/local_vs_flytekit.py: the same workloads, written for flytekit."""

import typing

from flytekit import map_task, task, workflow


@task
def t1(a: int) -> typing.NamedTuple("OutputsBC", t1_int_output=int, c=str):
    return a + 2, "world"


@task
def t2(a: str, b: str) -> str:
    return b + a


@workflow
def my_wf(a: int, b: str) -> typing.Tuple[int, str]:
    x, y = t1(a=a)
    d = t2(a=y, b=b)
    return x, d


@task
def inc(x: int) -> int:
    return x + 1


@task
def total(xs: typing.List[int]) -> int:
    return sum(xs)


@workflow
def chain(x: int) -> int:
    for _ in range(100):
        x = inc(x=x)
    return x


@workflow
def fanout(x: int) -> int:
    return total(xs=[inc(x=i) for i in range(100)])


@workflow
def mapped(xs: typing.List[int]) -> typing.List[int]:
    return map_task(inc)(x=xs)
