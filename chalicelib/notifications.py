"""Launch plan notifications: their check at registration and the message an ended execution sends (pure).

A launch plan's spec carries `notifications`, each `{"phases": [...], "kind": "email" | "slack" | "pagerduty",
"email": [addresses]}` (flytekit's Email, Slack and PagerDuty; in Flyte all three are e-mail addresses, the
Slack channel's or PagerDuty service's integration address) or `{"phases": [...], "sns_topic_arn": arn}`.

How e-mail reaches people on AWS: the status handler publishes every notification to the deployment's
events topic, with message attributes `phase`, `project`, `domain`, `kind` ("execution" for the one generic
message per terminal phase, "notification" for a launch plan's) and `email` (a String.Array of addresses).
We chose SNS over SES for delivery: an SNS e-mail subscription per address, with a filter policy such as
`{"kind": ["notification"], "email": ["oncall@example.com"]}`, needs no verified SES identity, no sending
quota request and no code; each recipient confirms once. A team that wants its own From address or HTML
puts an SES forwarder (a Lambda subscribed with `{"kind": ["notification"]}`) on the same topic instead —
the attributes and the message are the same either way. An SNS target publishes the same message to the
user's own topic.

One message per (execution, phase): the handler notifies only when its conditional write moved the
execution's phase, and phases only move forward, so a repeated or late status event sends nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from chalicelib.errors import ValidationError

PHASES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
EMAIL_KINDS = ("email", "slack", "pagerduty")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_SNS_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
SUBJECT_LIMIT = 100  # SNS refuses longer subjects


def check_phase(owner: str, phase: Any) -> str:
    if phase not in PHASES:
        raise ValidationError(f"{owner}: phase [{phase}] is not a terminal phase; use one of {list(PHASES)}")
    return str(phase)


def check_email(owner: str, address: Any) -> str:
    if not isinstance(address, str) or len(address) > 254 or not _EMAIL.match(address):
        raise ValidationError(f"{owner}: [{address}] is not an e-mail address; write it as name@example.com")
    return address


def check_sns_arn(owner: str, arn: Any) -> str:
    if not isinstance(arn, str) or not _SNS_ARN.match(arn):
        raise ValidationError(f"{owner}: [{arn}] is not an SNS topic ARN; write it as "
                              "arn:aws:sns:<region>:<12-digit account>:<topic name>")
    return arn


def check_notifications(owner: str, notifications: Any) -> None:
    """Raise ValidationError naming the first unknown phase, malformed address or ARN, or odd shape."""
    if not isinstance(notifications, list):
        raise ValidationError(f"{owner}: notifications must be a list, got {notifications!r}")
    for index, item in enumerate(notifications):
        where = f"{owner} notification [{index}]"
        if not isinstance(item, dict):
            raise ValidationError(f"{where} must be an object with phases and a target, got {item!r}")
        phases = item.get("phases")
        if not isinstance(phases, list) or not phases:
            raise ValidationError(f"{where}: phases must be a non-empty list of {list(PHASES)}")
        for phase in phases:
            check_phase(where, phase)
        if "sns_topic_arn" in item:
            check_sns_arn(where, item["sns_topic_arn"])
            continue
        kind = item.get("kind", "email")
        if kind not in EMAIL_KINDS:
            raise ValidationError(f"{where}: kind [{kind}] must be one of {list(EMAIL_KINDS)}")
        recipients = item.get("email")
        if not isinstance(recipients, list) or not recipients:
            raise ValidationError(f"{where}: recipients_email must list at least one address")
        for address in recipients:
            check_email(where, address)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


def _seconds(start: Any, end: Any) -> float | None:
    if not isinstance(start, dt.datetime) or not isinstance(end, dt.datetime):
        return None
    return round((end - start).total_seconds(), 3)


def build_message(execution: dict[str, Any], phase: str, error: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON body every notification carries. `execution`: project, domain, name, workflow, launch_plan,
    started_at / created_at and ended_at (datetimes or ISO strings)."""
    project, domain, name = execution["project"], execution["domain"], execution["name"]
    started = execution.get("started_at") or execution.get("created_at")
    ended = execution.get("ended_at")
    plan, workflow = execution.get("launch_plan"), execution.get("workflow")
    return {
        "project": project, "domain": domain, "name": name, "phase": phase,
        "workflow": workflow, "launch_plan": plan,
        "started_at": _iso(started), "ended_at": _iso(ended), "duration_seconds": _seconds(started, ended),
        "error": error,
        "inspect": f"slipstream get execution {name} -p {project} -d {domain}",
    }


def subject(message: dict[str, Any]) -> str:
    plan = (message.get("launch_plan") or message.get("workflow") or {}).get("name", "")
    return f"slipstream {message['phase']}: {plan} {message['name']} ({message['project']}/{message['domain']})"[
        :SUBJECT_LIMIT]


def text(message: dict[str, Any]) -> str:
    """The message as people read it (an e-mail body); the JSON follows for machines."""
    def ref(value: Any) -> str:
        return f"{value['name']} ({value.get('version')})" if value else "-"

    lines = [
        f"Execution {message['name']} {message['phase']}.",
        f"  project/domain: {message['project']}/{message['domain']}",
        f"  launch plan:    {ref(message.get('launch_plan'))}",
        f"  workflow:       {ref(message.get('workflow'))}",
        f"  started:        {message.get('started_at') or '-'}",
        f"  duration:       {message['duration_seconds']} s" if message.get("duration_seconds") is not None
        else "  duration:       -",
    ]
    if message.get("error"):
        lines.append(f"  error:          {message['error'].get('message')}")
    lines += ["", f"Look at it: {message['inspect']}", "", json.dumps(message, sort_keys=True)]
    return "\n".join(lines)


def attributes(message: dict[str, Any], kind: str, email: list[str] | None = None) -> dict[str, Any]:
    """SNS message attributes that subscription filter policies route on."""
    values = {"phase": message["phase"], "project": message["project"], "domain": message["domain"], "kind": kind}
    out: dict[str, Any] = {k: {"DataType": "String", "StringValue": str(v)} for k, v in values.items()}
    if email is not None:
        out["email"] = {"DataType": "String.Array", "StringValue": json.dumps(email)}
    return out
