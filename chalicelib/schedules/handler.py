"""The schedule handler: one fire of a launch plan's schedule → one execution, whatever the deliveries.

The event names the plan and the instant the fire was scheduled for (`<aws.scheduler.scheduled-time>`, or the
sandbox's worker). That instant, not the handler's clock, is the kickoff input, and with the plan's name it
names the execution, so a duplicate or late delivery asks for an execution that exists and creates nothing.
The version run is the one active at fire time; a plan deactivated since the schedule was made is skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from chalicelib.errors import ConflictError, ValidationError
from chalicelib.spec import Identifier

logger = logging.getLogger("slipstream.schedules")


def fire_execution_name(launch_plan: str, scheduled: dt.datetime) -> str:
    """`s<hash of plan and instant>-<yyyymmddhhmm>`: 34 characters, valid as an execution name."""
    instant = scheduled.astimezone(dt.UTC).strftime("%Y%m%d%H%M")
    digest = hashlib.sha256(f"{launch_plan}@{instant}".encode()).hexdigest()[:20]
    return f"s{digest}-{instant}"


def parse_scheduled_time(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ValidationError(f"scheduled_time [{value}] must be an ISO 8601 time")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"scheduled_time [{value}] must be an ISO 8601 time") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).replace(
        second=0, microsecond=0)


class ScheduleHandler:
    def __init__(self, activation: Any, executions: Any) -> None:
        self.activation = activation
        self.executions = executions

    def fire(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The execution of one fire (`created`: False when an earlier delivery made it); None when the plan is
        not active, or the instant ran already under another version."""
        project, domain, name = event.get("project"), event.get("domain"), event.get("launch_plan")
        scheduled = parse_scheduled_time(event.get("scheduled_time"))
        version = self.activation.active_version(project, domain, name)
        if version is None:
            logger.info("launch plan %s/%s/%s is not active; fire at %s skipped", project, domain, name, scheduled)
            return None
        spec = self.activation.registration.get(
            "launch_plan", Identifier(project, domain, name, version))["spec"]
        inputs = {}
        kickoff = (spec.get("schedule") or {}).get("kickoff_time_input")
        if kickoff:
            inputs[kickoff] = scheduled.isoformat()
        body = {"project": project, "domain": domain, "launch_plan": {"name": name, "version": version},
                "inputs": inputs, "name": fire_execution_name(name, scheduled)}
        try:
            execution, created = self.executions.create(body)
        except ConflictError:  # fired already for this instant, under another version: nothing new
            logger.info("fire of %s/%s/%s at %s ran already", project, domain, name, scheduled)
            return None
        return {**execution, "created": created}

