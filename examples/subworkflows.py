"""Workflows calling workflows, named outputs, ordering with `>>`, and lists of promises."""

from typing import NamedTuple

from slipstream import task, workflow


class Fit(NamedTuple):
    slope: float
    intercept: float


@task
def fit(xs: list[float], ys: list[float]) -> Fit:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    return Fit(slope, my - slope * mx)


@task
def predict(slope: float, intercept: float, x: float) -> float:
    return slope * x + intercept


@task
def announce() -> None:
    print("predicting")


@task
def join(words: list[str]) -> str:
    return " ".join(words)


@task
def shout(word: str) -> str:
    return word.upper()


@workflow
def line(xs: list[float], ys: list[float], x: float = 10.0) -> float:
    r = fit(xs=xs, ys=ys)
    start = announce()
    y = predict(slope=r.slope, intercept=r.intercept, x=x)
    start >> y
    return y


@workflow
def outer(x: float = 3.0) -> tuple[float, str]:
    y = line(xs=[0.0, 1.0, 2.0], ys=[1.0, 3.0, 5.0], x=x)
    words = join(words=[shout(word="hello"), shout(word="flyte"), "users"])
    return y, words
