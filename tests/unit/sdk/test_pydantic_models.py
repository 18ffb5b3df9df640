"""pydantic v2 models travel like dataclasses, as in flytekit, when the user's code has pydantic (never a
dependency of slipstream: the test skips without it)."""

import pytest

from slipstream import task, workflow

pydantic = pytest.importorskip("pydantic")


class Box(pydantic.BaseModel):
    width: float
    tags: list[str] = []


@task
def widen(box: Box, by: float) -> Box:
    return Box(width=box.width + by, tags=[*box.tags, "wider"])


@workflow
def widen_twice(box: Box) -> Box:
    return widen(box=widen(box=box, by=1.0), by=2.5)


def test_a_pydantic_model_travels_like_a_dataclass():
    # flytekit 1.16: Box(width=4.5, tags=['a', 'wider', 'wider'])
    assert widen_twice(box=Box(width=1, tags=["a"])) == Box(width=4.5, tags=["a", "wider", "wider"])
    assert widen.interface.to_spec("t")["inputs"][0]["type"]["struct"]["fields"] == [
        {"name": "width", "type": {"simple": "float"}},
        {"name": "tags", "type": {"list": {"simple": "string"}}, "required": False},
    ]
