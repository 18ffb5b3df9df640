"""Conditionals: branch on a task's output; `.fail` stops the run with a message; a conditional inside a case."""

from slipstream import conditional, task, workflow


@task
def coin_toss(seed: int) -> bool:
    return seed % 2 == 0


@task
def heads() -> str:
    return "heads"


@task
def tails() -> str:
    return "tails"


@task
def double(x: float) -> float:
    return 2 * x


@task
def halve(x: float) -> float:
    return x / 2


@task
def describe(label: str, value: float) -> str:
    return f"{label}: {value}"


@workflow
def toss(seed: int = 4) -> str:
    result = coin_toss(seed=seed)
    return conditional("toss").if_(result.is_true()).then(heads()).else_().then(tails())


@workflow
def scale(x: float) -> str:
    """Double small numbers, halve large ones, refuse negatives."""
    scaled = (
        conditional("scale")
        .if_((x >= 0.0) & (x < 10.0)).then(double(x=x))
        .elif_(x >= 10.0).then(halve(x=x))
        .else_().fail("x must not be negative")
    )
    return describe(label="scaled", value=scaled)


@workflow
def nested(x: float) -> float:
    """A conditional inside a case, as flytekit's nested_conditions: small fractions double, larger ones halve,
    from 0.7 up to 1 the inner conditional fails; outside the fractions, halve from 10 on, else double."""
    return (
        conditional("range")
        .if_((x >= 0.1) & (x < 1.0)).then(
            conditional("fraction")
            .if_(x < 0.5).then(double(x=x))
            .elif_(x < 0.7).then(halve(x=x))
            .else_().fail("fractions of 0.7 and above are not allowed"))
        .elif_(x >= 10.0).then(halve(x=x))
        .else_().then(double(x=x))
    )
