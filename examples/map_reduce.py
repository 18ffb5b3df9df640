"""Map tasks: one task per list item, with bound inputs and a tolerated failure ratio."""

import functools
from typing import Optional

from slipstream import map_task, task, workflow


@task
def scale(x: int, factor: int) -> int:
    return x * factor


@task
def total(values: list[int]) -> int:
    return sum(values)


@task
def inverse(x: int) -> float:
    return 1 / x  # fails for 0


@task
def count_ok(values: list[Optional[float]]) -> int:
    return sum(v is not None for v in values)


@workflow
def scaled_sum(xs: list[int] = [1, 2, 3], factor: int = 10) -> int:  # noqa: B006 - a workflow default
    scaled = map_task(functools.partial(scale, factor=factor), concurrency=4)(x=xs)
    return total(values=scaled)


@workflow
def inverses(xs: list[int] = [0, 1, 2, 4]) -> int:  # noqa: B006
    results = map_task(inverse, min_success_ratio=0.5)(x=xs)
    return count_ok(values=results)


@workflow
def strict_inverses(xs: list[int] = [0, 1, 2, 4]) -> list[float]:  # noqa: B006
    return map_task(inverse)(x=xs)
