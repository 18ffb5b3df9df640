"""Activation: which version of a launch plan is active, and its EventBridge schedule.

The active version of (project, domain, name) is one item in the entities table,
`pk=ACTIVE#<project>#<domain>  sk=N#<name>  version=<v>`; every change is a conditional write against the
version read just before, so two concurrent activations cannot both win (the loser gets a 409 and retries).
The schedule follows the item: after the item is written, the plan's schedule is created or updated (its name
depends on the plan's name, not its version, so moving to another version updates one schedule in place), or
deleted when the new version has no schedule. A failure between the two writes leaves a schedule that the
handler tolerates (it reads the active version at fire time) and that repeating the call repairs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
from typing import Any

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.registration import RegistrationService
from chalicelib.schedules.expressions import schedule_expression
from chalicelib.spec import Identifier

MAX_SCHEDULE_NAME = 64  # EventBridge Scheduler: 1-64 of [0-9a-zA-Z-_.]
_SCHEDULE_CHARS = re.compile(r"^[0-9A-Za-z_.\-]{1,64}$")


def schedule_name(stack: str, project: str, domain: str, name: str) -> str:
    """`<stack>-<project>-<domain>-<name>` when it fits Scheduler's 64 characters, else a prefix of it and a
    hash of the whole (names stay unique per plan and recognisable)."""
    full = f"{stack}-{project}-{domain}-{name}"
    if _SCHEDULE_CHARS.fullmatch(full):
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:16]
    prefix = re.sub(r"[^0-9A-Za-z_.\-]", "-", full)[:MAX_SCHEDULE_NAME - 17]
    return f"{prefix}-{digest}"


def _active_pk(project: str, domain: str) -> str:
    return f"ACTIVE#{project}#{domain}"


class ActivationService:
    def __init__(self, entity_model: Any, registration: RegistrationService, scheduler: Any, *, stack: str,
                 target_arn: str, role_arn: str) -> None:
        """`scheduler`: a boto3 `scheduler` client; `target_arn`: the schedule handler's Lambda ARN;
        `role_arn`: the role EventBridge Scheduler assumes to invoke it."""
        self.Entity = entity_model
        self.registration = registration
        self.scheduler = scheduler
        self.stack = stack
        self.target_arn = target_arn
        self.role_arn = role_arn

    def active_version(self, project: str, domain: str, name: str) -> str | None:
        try:
            return self.Entity.get(_active_pk(project, domain), f"N#{name}", consistent_read=True).version
        except self.Entity.DoesNotExist:
            return None

    def list_active(self, project: str, domain: str) -> list[dict[str, Any]]:
        Entity = self.Entity
        return [{"name": item.name, "version": item.version, "activated_at": item.registered_at.isoformat(),
                 "schedule": json.loads(item.digest) if item.digest else None}
                for item in Entity.query(_active_pk(project, domain), Entity.sk.startswith("N#"),
                                         consistent_read=True)]

    def activate(self, project: str, domain: str, name: str, version: str) -> dict[str, Any]:
        """Make `version` the active one (registered, or 404) and put its schedule in place."""
        spec = self.registration.get("launch_plan", Identifier(project, domain, name, version))["spec"]
        schedule = spec.get("schedule")
        previous = self.active_version(project, domain, name)
        Entity = self.Entity
        item = Entity(pk=_active_pk(project, domain), sk=f"N#{name}", kind="launch_plan", project=project,
                      domain=domain, name=name, version=version, registered_at=dt.datetime.now(dt.UTC),
                      digest=json.dumps(schedule) if schedule else None)
        condition = Entity.pk.does_not_exist() if previous is None else Entity.version == previous
        try:
            item.save(condition=condition)
        except PutError as exc:
            raise ConflictError(f"launch plan [{project}/{domain}/{name}] was activated or deactivated concurrently; "
                                "try again") from exc
        if schedule:
            self._put_schedule(project, domain, name, schedule_expression(schedule))
        else:
            self._delete_schedule(project, domain, name)
        return {"name": name, "version": version, "previous_version": previous, "schedule": schedule,
                "schedule_name": schedule_name(self.stack, project, domain, name) if schedule else None}

    def deactivate(self, project: str, domain: str, name: str) -> dict[str, Any]:
        previous = self.active_version(project, domain, name)
        if previous is None:
            raise NotFoundError(f"launch plan [{project}/{domain}/{name}] is not active; activate it with "
                                f"`slipstream launchplan activate {name} --version <version>`")
        Entity = self.Entity
        try:
            Entity(_active_pk(project, domain), f"N#{name}").delete(condition=Entity.version == previous)
        except DeleteError as exc:
            raise ConflictError(f"launch plan [{project}/{domain}/{name}] was activated or deactivated concurrently; "
                                "try again") from exc
        self._delete_schedule(project, domain, name)
        return {"name": name, "version": previous, "active": False}

    def _put_schedule(self, project: str, domain: str, name: str, expression: str) -> None:
        request = {
            "Name": schedule_name(self.stack, project, domain, name),
            "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Target": {"Arn": self.target_arn, "RoleArn": self.role_arn,
                       "Input": json.dumps({"project": project, "domain": domain, "launch_plan": name,
                                            "scheduled_time": "<aws.scheduler.scheduled-time>"})},
        }
        try:
            self.scheduler.create_schedule(**request)
        except self.scheduler.exceptions.ConflictException:
            self.scheduler.update_schedule(**request)

    def _delete_schedule(self, project: str, domain: str, name: str) -> None:
        with contextlib.suppress(self.scheduler.exceptions.ResourceNotFoundException):
            self.scheduler.delete_schedule(Name=schedule_name(self.stack, project, domain, name))


def activation_for(services: Any) -> ActivationService:
    """The activation service of a deployment's services. Schedules target the stack's schedule handler, named
    `<stack>-schedules` by the deployed template, in the scheduler role's account; the sandbox's moto never
    invokes either, so it gets names of the same shape."""
    from chalicelib.services import aws_client
    from chalicelib.store import build_models

    settings = services.settings
    stack, region = settings.name_prefix, settings.region
    role = settings.scheduler_role_arn or f"arn:aws:iam::123456789012:role/{stack}-scheduler"
    partition, account = role.split(":")[1], role.split(":")[4]  # arn:<partition>:iam::<account>:role/…
    target = f"arn:{partition}:lambda:{region}:{account}:function:{stack}-schedules"
    return ActivationService(build_models(settings).Entity, services.registration, aws_client(settings, "scheduler"),
                             stack=stack, target_arn=target, role_arn=role)
