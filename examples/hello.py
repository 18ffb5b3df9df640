"""The seed example: two tasks and a workflow, as in Flyte's getting-started guide."""

import typing

from slipstream import task, workflow


@task
def t1(a: int) -> typing.NamedTuple("OutputsBC", t1_int_output=int, c=str):
    return a + 2, "world"


@task
def t2(a: str, b: str) -> str:
    return b + a


@workflow
def my_wf(a: int, b: str) -> tuple[int, str]:
    x, y = t1(a=a)
    d = t2(a=y, b=b)
    return x, d
