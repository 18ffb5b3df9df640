"""Gate workflows for tests/e2e/test_gates.py (examples/gates.py's `gated` is the other one)."""

from datetime import timedelta

from slipstream import approve, task, wait_for_input, workflow


@task
def double(x: int) -> int:
    return 2 * x


@workflow
def counted() -> int:
    """A typed signal, the workflow's output (examples/gates.py's feeds a task)."""
    return wait_for_input("count", timeout=timedelta(hours=1), expected_type=int)


@workflow
def approved(x: int) -> int:
    """An approval that passes a task's value on."""
    return approve(double(x=x), "ship", timeout=timedelta(hours=1))


@workflow
def unanswered() -> int:
    """A gate nobody answers: it times out."""
    return wait_for_input("never", timeout=timedelta(seconds=1), expected_type=int)
