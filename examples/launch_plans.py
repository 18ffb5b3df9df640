"""Launch plans: fixed and default inputs, a schedule and notifications."""

from datetime import datetime

from slipstream import CronSchedule, Email, LaunchPlan, task, workflow


@task
def greet(name: str, greeting: str, at: datetime) -> str:
    return f"{greeting}, {name} ({at.date().isoformat()})"


@workflow
def greeting(name: str, greeting: str = "Hello", at: datetime = datetime(2024, 1, 1)) -> str:
    return greet(name=name, greeting=greeting, at=at)


nightly_greeting = LaunchPlan.get_or_create(
    greeting,
    name="nightly_greeting",
    fixed_inputs={"name": "ops"},
    default_inputs={"greeting": "Good night"},
    schedule=CronSchedule(schedule="0 2 * * *", kickoff_time_input_arg="at"),
    notifications=[Email(phases=["FAILED"], recipients_email=["oncall@example.com"])],
)
