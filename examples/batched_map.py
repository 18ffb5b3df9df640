"""A map task whose items run in batches: ten items per pod, one of them failing on its own."""

from typing import Optional

from slipstream import map_task, task, workflow


@task
def inverse(x: int) -> float:
    return 1 / x  # fails for 0


@workflow
def batched_inverses(xs: list[int] = list(range(50))) -> list[Optional[float]]:  # noqa: B006 - a workflow default
    return map_task(inverse, min_success_ratio=0.9, batch_size=10)(x=xs)
