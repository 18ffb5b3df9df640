"""Four independent tasks under a launch plan that lets one run at a time."""

import time

from slipstream import LaunchPlan, task, workflow


@task
def nap(x: int) -> int:
    time.sleep(0.5)
    return x


@workflow
def four(a: int = 1, b: int = 2, c: int = 3, d: int = 4) -> list[int]:
    return [nap(x=a), nap(x=b), nap(x=c), nap(x=d)]


one_at_a_time = LaunchPlan.get_or_create(four, name="one_at_a_time", max_parallelism=1)
