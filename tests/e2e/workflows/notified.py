"""A launch plan that notifies on FAILED only, by e-mail (the deployment's events topic, with an `email`
attribute) and on a topic of its own; tests/e2e/test_notifications.py creates that topic in the sandbox."""

from slipstream import SNS, Email, LaunchPlan, WorkflowExecutionPhase, task, workflow

FAILURES_TOPIC = "arn:aws:sns:us-east-1:123456789012:slipstream-e2e-failures"
ONCALL = "oncall@example.com"


@task
def check(ok: bool) -> str:
    if not ok:
        raise ValueError("asked to fail")
    return "fine"


@workflow
def checked(ok: bool = True) -> str:
    return check(ok=ok)


on_failure = LaunchPlan.create("notified_on_failure", checked, notifications=[
    Email(phases=[WorkflowExecutionPhase.FAILED], recipients_email=[ONCALL]),
    SNS(phases=[WorkflowExecutionPhase.FAILED], topic_arn=FAILURES_TOPIC),
])
