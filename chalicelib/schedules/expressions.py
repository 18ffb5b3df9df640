"""Schedule expressions: a launch plan's 5-field cron or fixed rate → EventBridge Scheduler's syntax (pure).

AWS cron has six fields, `cron(minutes hours day-of-month month day-of-week year)`, and differs from the
5-field cron users write (and croniter evaluates) in three ways that this module absorbs:

- one of day-of-month and day-of-week must be `?`. Classic cron ORs the two when both are restricted
  ("the 1st, and every Monday"); AWS cannot say that, so such an expression is refused with a 400.
- day-of-week counts 1-7 from Sunday (SUN=1), not 0-6 (0 and 7 both Sunday). Weekdays are rewritten
  as an explicit list of AWS numbers, which also settles wrapping ranges (FRI-SUN) and steps (*/2).
- steps (`*/15`, `a-b/n`) are expanded to the explicit list they select, which AWS reads the same way
  whatever its own step rules.

`rate(...)` takes a whole number of minutes, hours or days (singular unit for 1).
"""

from __future__ import annotations

import re

from chalicelib.errors import ValidationError

ALIASES = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
           "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *"}
_DAY_NAMES = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
_MONTH_NAMES = {name: i + 1 for i, name in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG",
                                                      "SEP", "OCT", "NOV", "DEC"))}
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_PART = re.compile(r"^(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/([0-9]+))?$")


def _number(token: str, index: int, cron: str) -> int:
    names = _DAY_NAMES if index == 4 else _MONTH_NAMES if index == 3 else {}
    value = names.get(token.upper()) if not token.isdigit() else int(token)
    low, high = _BOUNDS[index]
    if value is None or not low <= value <= high:
        raise ValidationError(f"cron [{cron}]: {_FIELDS[index]} value [{token}] must be {low}-{high}"
                              + (" or a name" if names else ""))
    return value


def _values(field: str, index: int, cron: str) -> list[int]:
    """Every value a field selects (ascending), for fields that must be rewritten."""
    low, high = _BOUNDS[index]
    found: set[int] = set()
    for part in field.split(","):
        match = _PART.match(part)
        if not match:
            raise ValidationError(f"cron [{cron}]: {_FIELDS[index]} part [{part}] is not `*`, N, N-M or a step "
                                  "of one (*/N, N-M/S)")
        span, step = match.group(1), int(match.group(2) or 1)
        if step < 1:
            raise ValidationError(f"cron [{cron}]: step [{part}] must be at least 1")
        if span == "*":
            start, end = low, high if index != 4 else 6
        elif "-" in span:
            start, end = (_number(t, index, cron) for t in span.split("-"))
            if end < start and index != 4:
                raise ValidationError(f"cron [{cron}]: range [{span}] runs backwards")
        else:
            start = _number(span, index, cron)
            end = (6 if index == 4 else high) if match.group(2) else start  # croniter: N/S weekdays stop at SAT
        if index == 4 and end < start:  # FRI-SUN style: wrap through Saturday
            found.update(d % 7 for d in range(start, end + 8, step))
        else:
            found.update(range(start, end + 1, step))
    return sorted(found)


def _plain(field: str, index: int, cron: str) -> str:
    """A minute, hour, day-of-month or month field in AWS syntax."""
    if field == "*":
        return "*"
    if "/" in field:
        return ",".join(str(v) for v in _values(field, index, cron))
    _values(field, index, cron)  # validates every value
    return field.upper()


def to_aws_cron(expression: str) -> str:
    """`cron(...)` for a 5-field cron expression or an alias; ValidationError naming the problem."""
    cron = ALIASES.get(expression.strip().lower(), expression.strip())
    fields = cron.split()
    if len(fields) != 5:
        raise ValidationError(f"cron [{expression}] must have 5 fields (minute hour day month weekday) or be one of "
                              f"{sorted(ALIASES)}")
    minute, hour, dom, month, dow = fields
    if dom != "*" and dow != "*":
        raise ValidationError(f"cron [{expression}] restricts both day-of-month and day-of-week, which cron ORs "
                              "and AWS cannot express; use two launch plans, one for each")
    aws_dow = "?"
    if dow != "*":
        aws_dow = ",".join(str(d % 7 + 1) for d in sorted({d % 7 for d in _values(dow, 4, cron)}))
        if aws_dow == "1,2,3,4,5,6,7":
            aws_dow = "*"
    aws_dom = _plain(dom, 2, cron) if aws_dow == "?" else "?"
    parts = [_plain(minute, 0, cron), _plain(hour, 1, cron), aws_dom, _plain(month, 3, cron), aws_dow, "*"]
    return f"cron({' '.join(parts)})"


def to_aws_rate(seconds: int) -> str:
    """`rate(N unit)` for a whole number of minutes, in the largest unit that divides it."""
    if seconds < 60 or seconds % 60:
        raise ValidationError(f"rate [{seconds}s] must be a whole number of minutes, at least one")
    minutes = seconds // 60
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            count = minutes // size
            return f"rate({count} {unit}{'' if count == 1 else 's'})"
    raise AssertionError("unreachable: minutes divide by 1")


def schedule_expression(schedule: dict) -> str:
    """The AWS expression of a launch plan spec's `schedule` ({"cron"} or {"rate_seconds"})."""
    if schedule.get("cron"):
        return to_aws_cron(schedule["cron"])
    return to_aws_rate(int(schedule["rate_seconds"]))


def croniter_expression(schedule: dict) -> str | None:
    """The 5-field form the sandbox evaluates with croniter, or None for a rate (evaluated by arithmetic)."""
    if schedule.get("cron"):
        cron = schedule["cron"].strip()
        return ALIASES.get(cron.lower(), cron)
    return None
