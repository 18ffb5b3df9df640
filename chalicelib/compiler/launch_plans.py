"""Launch plans: check one against its workflow, and resolve the inputs of an execution.

Both engines and the executions API resolve inputs here, so defaults, fixed inputs and type checks mean
the same thing everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chalicelib.compiler.workflows import required_inputs
from chalicelib.errors import UnknownReferenceError, ValidationError
from chalicelib.notifications import check_notifications
from chalicelib.spec import types as lt
from chalicelib.spec.entities import Spec

_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,\-#LW]+$")
_CRON_ALIASES = {"@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually"}


def check_launch_plan(plan: Spec, workflow: Spec) -> None:
    """Raise ValidationError if `plan` does not fit `workflow`'s interface."""
    owner = f"launch plan [{plan['id']['name']}]"
    if plan["workflow"] != workflow["id"]:
        raise ValidationError(f"{owner} names workflow {plan['workflow']} but was checked against {workflow['id']}")
    inputs = {v["name"]: v for v in workflow["interface"]["inputs"]}
    fixed, defaults = plan["fixed_inputs"], plan["default_inputs"]
    for kind, values in (("fixed", fixed), ("default", defaults)):
        for name, value in values.items():
            if name not in inputs:
                raise UnknownReferenceError(
                    f"{owner}: {kind} input [{name}] is not an input of workflow [{workflow['id']['name']}]; "
                    f"its inputs are {sorted(inputs)}"
                )
            lt.validate_value(inputs[name]["type"], value, f"{owner} {kind} input [{name}]")
    both = sorted(set(fixed) & set(defaults))
    if both:
        raise ValidationError(f"{owner}: inputs {both} are both fixed and defaulted; keep one")
    check_notifications(owner, plan.get("notifications") or [])
    schedule = plan.get("schedule")
    if schedule:
        _check_schedule(owner, schedule, inputs, set(fixed) | set(defaults))


def _check_schedule(owner: str, schedule: Mapping[str, Any], inputs: Mapping[str, Any], given: set[str]) -> None:
    if "cron" in schedule:
        cron = schedule["cron"].strip()
        fields = cron.split()
        if not (cron in _CRON_ALIASES or (len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields))):
            raise ValidationError(f"{owner}: cron [{cron}] must have 5 fields (minute hour day month weekday), "
                                  "e.g. '0 * * * *', or be an alias such as @daily")
    kickoff = schedule.get("kickoff_time_input")
    if kickoff is not None:
        if kickoff not in inputs or inputs[kickoff]["type"] != lt.DATETIME:
            raise ValidationError(f"{owner}: kickoff_time_input [{kickoff}] must name a datetime input")
        given = given | {kickoff}
    missing = [n for n in required_inputs(list(inputs.values())) if n not in given]
    if missing:
        raise ValidationError(f"{owner} has a schedule but no value for inputs {missing}; "
                              "give them as fixed or default inputs")


def resolve_inputs(
    interface_inputs: list[dict[str, Any]],
    given: Mapping[str, Any],
    *,
    defaults: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
    owner: str = "execution",
) -> dict[str, Any]:
    """The complete, checked inputs of an execution: given values over launch plan defaults over the
    interface's defaults; fixed inputs cannot be overridden; Optional inputs default to None."""
    defaults, fixed = defaults or {}, fixed or {}
    declared = {v["name"]: v for v in interface_inputs}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise UnknownReferenceError(f"{owner}: unknown inputs {unknown}; the inputs are {sorted(declared)}")
    overridden = sorted(set(given) & set(fixed))
    if overridden:
        raise ValidationError(f"{owner}: inputs {overridden} are fixed by the launch plan and cannot be given")
    resolved: dict[str, Any] = {}
    for name, var in declared.items():
        for source in (fixed, given, defaults):
            if name in source:
                resolved[name] = source[name]
                break
        else:
            if "default" in var:
                resolved[name] = var["default"]
            elif "optional" in var["type"]:
                resolved[name] = None
            else:
                raise ValidationError(f"{owner}: input [{name}] ({lt.describe(var['type'])}) is required; give a value")
        lt.validate_value(var["type"], resolved[name], f"{owner} input [{name}]")
    return resolved
