"""5-field cron → AWS 6-field cron, checked by next fire times: croniter on the 5-field form against a small,
independent evaluator of the AWS form (SUN=1 weekdays, `?`), over many expressions and start instants."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from croniter import croniter

from chalicelib.errors import ValidationError
from chalicelib.schedules import schedule_name, to_aws_cron, to_aws_rate
from chalicelib.schedules.expressions import ALIASES

MONTHS = {m: i + 1 for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                                           "NOV", "DEC"))}


def _aws_field(field: str, low: int, high: int) -> set[int] | None:
    """Values of one AWS field (None: any, for `*` and `?`)."""
    if field in ("*", "?"):
        return None
    values: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        if "-" in span:
            a, b = (MONTHS.get(t) or int(t) for t in span.split("-"))
        else:
            a = MONTHS.get(span) or int(span)
            b = high if step else a
        values.update(range(a, b + 1, int(step or 1)))
    return values


class AwsCron:
    """Evaluates `cron(min hour dom month dow year)` as EventBridge documents it (dow 1-7, SUN=1)."""

    def __init__(self, expression: str) -> None:
        assert expression.startswith("cron(") and expression.endswith(")")
        fields = expression[5:-1].split()
        assert len(fields) == 6 and fields[5] == "*"
        assert (fields[2] == "?") != (fields[4] == "?"), "exactly one of day-of-month and day-of-week is ?"
        bounds = ((0, 59), (0, 23), (1, 31), (1, 12), (1, 7))
        self.minute, self.hour, self.dom, self.month, self.dow = (
            _aws_field(f, lo, hi) for f, (lo, hi) in zip(fields[:5], bounds, strict=True))

    def _day(self, day: dt.date) -> bool:
        aws_weekday = (day.isoweekday() % 7) + 1  # Monday isoweekday 1 → 2, Sunday 7 → 1
        return ((self.dom is None or day.day in self.dom) and (self.month is None or day.month in self.month)
                and (self.dow is None or aws_weekday in self.dow))

    def next_after(self, start: dt.datetime) -> dt.datetime:
        day = start.date()
        for _ in range(366 * 8):
            if self._day(day):
                for hour in sorted(self.hour if self.hour is not None else range(24)):
                    for minute in sorted(self.minute if self.minute is not None else range(60)):
                        instant = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)
                        if instant > start:
                            return instant
            day += dt.timedelta(days=1)
        raise AssertionError("no fire in eight years")


FIXED = ["* * * * *", "*/15 * * * *", "0 * * * *", "5 4 * * *", "0 9 * * 1-5", "0 0 * * 0", "0 0 * * 7",
         "0 0 * * 5-7", "0 0 * * 6-0", "30 6 */2 * *", "0 0 1 JAN *", "0 12 * * SUN,SAT", "0 0 29 2 *",
         "15,45 8-17/3 * * MON-FRI", "0 0 31 * *", "0 22 * * */2", "10-20/5 * * 3,6,9 *", "0 0 1-7 * *",
         "59 23 31 12 *", "0 0 * * 1/2", *ALIASES]


def _random_expression(rng: random.Random) -> str:
    def field(low: int, high: int) -> str:
        kind = rng.choice(["*", "n", "range", "list", "step", "rangestep"])
        a, b = sorted(rng.sample(range(low, high + 1), 2))
        return {"*": "*", "n": str(a), "range": f"{a}-{b}", "list": f"{a},{b}", "step": f"*/{rng.randint(2, 9)}",
                "rangestep": f"{a}-{b}/{rng.randint(1, 4)}"}[kind]

    days = rng.choice(["dom", "dow", "neither"])
    return " ".join([field(0, 59), field(0, 23), field(1, 28) if days == "dom" else "*", field(1, 12),
                     field(0, 6) if days == "dow" else "*"])


EXPRESSIONS = FIXED + [_random_expression(random.Random(seed)) for seed in range(150)]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_aws_form_fires_when_croniter_does(expression: str) -> None:
    # GIVEN the AWS translation, WHEN both evaluators walk the next fires from several instants
    aws = AwsCron(to_aws_cron(expression))
    rng = random.Random(expression)
    for _ in range(4):
        start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randrange(4 * 365 * 1440))
        ours, theirs = start, croniter(ALIASES.get(expression, expression), start)
        # THEN they agree, fire after fire
        for _ in range(12):
            expected = theirs.get_next(dt.datetime)
            ours = aws.next_after(ours)
            assert ours == expected, (expression, to_aws_cron(expression), start)


def test_translation_examples() -> None:
    assert to_aws_cron("@hourly") == "cron(0 * * * ? *)"
    assert to_aws_cron("0 9 * * 1-5") == "cron(0 9 ? * 2,3,4,5,6 *)"
    assert to_aws_cron("0 0 * * 0") == to_aws_cron("0 0 * * 7") == "cron(0 0 ? * 1 *)"


@pytest.mark.parametrize("bad", ["0 0 1 * 1", "61 * * * *", "* * *", "0 0 * * 8", "0 0 * * MOON", "a b c d e",
                                 "0 0 L * *"])
def test_untranslatable_cron_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="cron"):
        to_aws_cron(bad)


def test_rates() -> None:
    assert to_aws_rate(60) == "rate(1 minute)"
    assert to_aws_rate(900) == "rate(15 minutes)"
    assert to_aws_rate(7200) == "rate(2 hours)"
    assert to_aws_rate(86400) == "rate(1 day)"
    assert to_aws_rate(90 * 60) == "rate(90 minutes)"
    with pytest.raises(ValidationError):
        to_aws_rate(90)


def test_schedule_names_fit_scheduler() -> None:
    assert schedule_name("slipstream", "p", "development", "nightly") == "slipstream-p-development-nightly"
    long = schedule_name("slipstream", "a" * 40, "development", "wf." + "x" * 150)
    other = schedule_name("slipstream", "a" * 40, "development", "wf." + "x" * 149)
    assert len(long) <= 64 and long != other
