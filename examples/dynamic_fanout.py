"""@dynamic: the body runs at execution time with real values, so it can loop over them."""

from slipstream import dynamic, task, workflow


@task
def square(x: int) -> int:
    return x * x


@task
def add_all(values: list[int]) -> int:
    return sum(values)


@dynamic
def sum_of_squares(n: int) -> int:
    return add_all(values=[square(x=i) for i in range(n)])


@workflow
def squares(n: int = 5) -> int:
    return sum_of_squares(n=n)
