"""Gates: a workflow that sleeps, waits for a value and for an approval (flytekit's sleep, wait_for_input, approve).

    slipstream run --signal title=Report --signal publish=yes examples/gates.py gated --n 3
    slipstream run --remote examples/gates.py gated --n 3
    slipstream execution signal <execution> title '"Report"'
    slipstream execution approve <execution> publish
"""

from datetime import timedelta

from slipstream import approve, sleep, task, wait_for_input, workflow


@task
def draft(n: int) -> str:
    return "x" * n


@task
def publish(title: str, body: str) -> str:
    return f"{title}: {body}"


@workflow
def gated(n: int = 3) -> str:
    body = draft(n=n)
    pause = sleep(timedelta(seconds=1))
    title = wait_for_input("title", timeout=timedelta(hours=1), expected_type=str)
    approved = approve(body, "publish", timeout=timedelta(hours=1))
    pause >> approved
    return publish(title=title, body=approved)
