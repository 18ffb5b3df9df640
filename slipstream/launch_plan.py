"""Launch plans: a workflow with default and fixed inputs, an optional schedule and notifications.

Every workflow gets a default launch plan of its own name at registration.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any, ClassVar

from chalicelib.compiler import check_launch_plan
from chalicelib.errors import ValidationError
from slipstream import type_engine
from slipstream.serialization import LOCAL, SerializationSettings
from slipstream.workflow import Workflow


class WorkflowExecutionPhase(enum.StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"


@dataclass(frozen=True)
class CronSchedule:
    """A five-field cron expression in UTC, e.g. "0 6 * * *", or an alias such as "@daily"."""

    schedule: str
    kickoff_time_input_arg: str | None = None

    def to_spec(self) -> dict[str, Any]:
        return {"cron": self.schedule, "kickoff_time_input": self.kickoff_time_input_arg}


@dataclass(frozen=True)
class FixedRate:
    duration: dt.timedelta
    kickoff_time_input_arg: str | None = None

    def to_spec(self) -> dict[str, Any]:
        seconds = int(self.duration.total_seconds())
        if seconds < 60 or seconds % 60:
            raise ValidationError(f"FixedRate [{self.duration}] must be a whole number of minutes, at least one")
        return {"rate_seconds": seconds, "kickoff_time_input": self.kickoff_time_input_arg}


@dataclass(frozen=True)
class Email:
    """E-mail these addresses when an execution ends in one of `phases` (flytekit's signature). Phases,
    addresses and ARNs are checked when the launch plan is made (naming it) and again at registration."""

    phases: list[WorkflowExecutionPhase | str]
    recipients_email: list[str] = field(default_factory=list)
    kind: ClassVar[str] = "email"

    def to_spec(self) -> dict[str, Any]:
        kind = {} if self.kind == "email" else {"kind": self.kind}  # Email's spec is as before kinds existed
        return {"phases": [_phase(p) for p in self.phases], **kind, "email": list(self.recipients_email)}


@dataclass(frozen=True)
class Slack(Email):
    """A Slack channel's e-mail address (as in Flyte, Slack notifications are e-mails to the channel)."""

    kind: ClassVar[str] = "slack"


@dataclass(frozen=True)
class PagerDuty(Email):
    """A PagerDuty service's integration e-mail address (as in Flyte)."""

    kind: ClassVar[str] = "pagerduty"


@dataclass(frozen=True)
class SNS:
    """Publish to an SNS topic of your own on these phases (the control plane's topic always gets them)."""

    phases: list[WorkflowExecutionPhase | str]
    topic_arn: str

    def to_spec(self) -> dict[str, Any]:
        return {"phases": [_phase(p) for p in self.phases], "sns_topic_arn": self.topic_arn}


def _phase(phase: WorkflowExecutionPhase | str) -> str:
    try:
        return WorkflowExecutionPhase(phase).value
    except ValueError:
        raise ValidationError(f"notification phase [{phase}] must be one of "
                              f"{[p.value for p in WorkflowExecutionPhase]}") from None


class LaunchPlan:
    kind = "launch_plan"

    def __init__(self, name: str, workflow: Workflow, default_inputs: dict[str, Any] | None = None,
                 fixed_inputs: dict[str, Any] | None = None, schedule: CronSchedule | FixedRate | None = None,
                 notifications: list[Email | SNS] | None = None, max_parallelism: int | None = None,
                 auto_activate: bool = False) -> None:
        if not isinstance(workflow, Workflow):
            raise ValidationError(f"launch plan [{name}] needs a @workflow, not {workflow!r}")
        if max_parallelism is not None and (isinstance(max_parallelism, bool) or not isinstance(max_parallelism, int)
                                            or not 1 <= max_parallelism <= 10_000):
            raise ValidationError(f"launch plan [{name}]: max_parallelism [{max_parallelism}] must be a whole "
                                  "number from 1 to 10000 (how many of an execution's tasks run at once)")
        self.max_parallelism = max_parallelism
        self.auto_activate = bool(auto_activate)  # registration activates this version (its schedule starts)
        self.name = name
        self.workflow = workflow
        owner = f"launch plan [{name}]"
        self.default_inputs = self._to_json(owner, "default", default_inputs or {})
        self.fixed_inputs = self._to_json(owner, "fixed", fixed_inputs or {})
        self.schedule = schedule
        self.notifications = list(notifications or [])
        check_launch_plan(self.to_spec(LOCAL), workflow.compile(LOCAL).workflow)

    def _to_json(self, owner: str, kind: str, values: dict[str, Any]) -> dict[str, Any]:
        inputs = self.workflow.interface.inputs
        unknown = sorted(set(values) - set(inputs))
        if unknown:
            raise ValidationError(f"{owner}: {kind} inputs {unknown} are not inputs of workflow "
                                  f"[{self.workflow.name}]; its inputs are {list(inputs)}")
        return {n: type_engine.to_json(v, inputs[n], f"{owner} {kind} input [{n}]") for n, v in values.items()}

    @classmethod
    def get_or_create(cls, workflow: Workflow, name: str | None = None, **options: Any) -> LaunchPlan:
        """The default launch plan of `workflow` (no name), or a named one with the options given."""
        return cls(name or workflow.name, workflow, **options)

    @classmethod
    def create(cls, name: str, workflow: Workflow, **options: Any) -> LaunchPlan:
        return cls(name, workflow, **options)

    def __repr__(self) -> str:
        return f"LaunchPlan({self.name} → {self.workflow.name})"

    def dependencies(self) -> list[Any]:
        return [self.workflow]

    def to_spec(self, settings: SerializationSettings) -> dict[str, Any]:
        return {
            "kind": "launch_plan",
            "schema_version": 1,
            "id": settings.identifier(self.name),
            "workflow": settings.identifier(self.workflow.name),
            "default_inputs": dict(self.default_inputs),
            "fixed_inputs": dict(self.fixed_inputs),
            "schedule": self.schedule.to_spec() if self.schedule else None,
            "notifications": [n.to_spec() for n in self.notifications],
            **({"max_parallelism": self.max_parallelism} if self.max_parallelism else {}),
            **({"auto_activate": True} if self.auto_activate else {}),
        }

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Outside a workflow: run it here. Inside one: a node that runs the plan's workflow with the plan's
        fixed and default inputs bound (see `_node`)."""
        if args:
            raise ValidationError(f"launch plan [{self.name}] takes keyword arguments only")
        from slipstream.builder import current_builder

        builder = current_builder()
        if builder is not None:
            return self._node(builder, kwargs)
        from slipstream.local import run_locally

        return run_locally(self, kwargs)

    def _node(self, builder: Any, kwargs: dict[str, Any]) -> Any:
        """The plan as a node of the workflow being built. flytekit runs it as a child execution; here the
        plan's workflow is inlined as a subworkflow node whose missing inputs are bound to the plan's
        defaults and whose fixed inputs are bound as constants. The outputs are the same, it runs on both
        engines unchanged (moto's Step Functions cannot start child executions), and the parent's retries,
        caching and node statuses cover it; what is not kept is a separate execution record for the child
        and the plan's own notifications and max_parallelism while it runs inside the parent."""
        overridden = sorted(set(kwargs) & set(self.fixed_inputs))
        if overridden:
            raise ValidationError(f"launch plan [{self.name}]: inputs {overridden} are fixed by the plan and "
                                  "cannot be passed; call the workflow itself, or a plan that does not fix them")
        inputs = self.workflow.interface.inputs
        saved = {**self.default_inputs, **self.fixed_inputs}
        given = {n: type_engine.from_json(v, inputs[n]) for n, v in saved.items() if n not in kwargs}
        return builder.call(self.workflow, "workflow", self.workflow.interface, {**given, **kwargs})
