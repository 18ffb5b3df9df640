"""Pods that wait before they start, as on a cluster that scales up for them: the sandbox holds a task's
process Pending for SLIPSTREAM_SANDBOX_PENDING_SECONDS (read from the task's environment)."""

from datetime import timedelta

from slipstream import task, workflow


@task(timeout=timedelta(seconds=3), environment={"SLIPSTREAM_SANDBOX_PENDING_SECONDS": "8"})
def slow_to_schedule(x: int) -> int:
    return x + 1


@task(environment={"SLIPSTREAM_SANDBOX_PENDING_SECONDS": "3600"})
def never_scheduled(x: int) -> int:
    return x


@workflow
def scheduled_late(x: int = 1) -> int:
    return slow_to_schedule(x=x)


@workflow
def unschedulable(x: int = 1) -> int:
    return never_scheduled(x=x)
