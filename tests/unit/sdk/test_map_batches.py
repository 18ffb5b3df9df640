"""map_task(batch_size=...): the knob is checked where it is written, and batches change no result."""

from __future__ import annotations

import pytest

from chalicelib.errors import ValidationError
from slipstream import map_task, task, workflow


@task
def double(x: int) -> int:
    return 2 * x


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_a_batch_size_that_is_not_a_positive_integer_is_refused_naming_it(bad):
    with pytest.raises(ValidationError, match=r"batch_size \[.*\] must be an integer >= 1"):
        map_task(double, batch_size=bad)


def test_a_batched_map_gives_what_an_unbatched_one_gives():
    @workflow
    def doubled(xs: list[int]) -> list[int]:
        return map_task(double, batch_size=3)(x=xs)

    assert doubled(xs=list(range(7))) == [2 * x for x in range(7)]
