"""slipstream side of bench/local_vs_flytekit.py (the same workloads as workloads_flytekit.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from hello import my_wf

from slipstream import map_task, task, workflow

__all__ = ["chain", "fanout", "mapped", "my_wf"]


@task
def inc(x: int) -> int:
    return x + 1


@task
def total(xs: list[int]) -> int:
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
def mapped(xs: list[int]) -> list[int]:
    return map_task(inc)(x=xs)
