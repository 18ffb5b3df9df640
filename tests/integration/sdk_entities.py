"""SDK objects the integration tests register: two tasks, a workflow over them, a workflow that calls it
as a subworkflow, and a launch plan with a fixed input. Their names are `tests.integration.sdk_entities.*`."""

from __future__ import annotations

import copy

from slipstream import LaunchPlan, task, workflow
from slipstream.serialization import SerializationSettings, serialize

MODULE = __name__


@task
def double(n: int) -> int:
    return n * 2


@task
def label(n: int, prefix: str) -> str:
    return f"{prefix}{n}"


@task
def shout(text: str) -> str:
    return text.upper()


@workflow
def pipeline(n: int, prefix: str = "#") -> str:
    doubled = double(n=n)
    return label(n=doubled, prefix=prefix)


@workflow
def outer(n: int) -> str:
    return shout(text=pipeline(n=n, prefix="n="))


fixed_pipeline = LaunchPlan.get_or_create(pipeline, name="fixed_pipeline", fixed_inputs={"prefix": "!"})

DOUBLE = f"{MODULE}.double"
LABEL = f"{MODULE}.label"
SHOUT = f"{MODULE}.shout"
PIPELINE = f"{MODULE}.pipeline"
OUTER = f"{MODULE}.outer"
FIXED = "fixed_pipeline"


def specs(project: str, version: str = "v1", entities: list | None = None) -> list[dict]:
    """Specs of `entities` (default: the pipeline and its fixed launch plan) and all they call."""
    chosen = [pipeline, fixed_pipeline] if entities is None else entities
    # deep copies: the tests edit specs, and the SDK's specs share dicts with its workflow graphs
    return copy.deepcopy(serialize(chosen, SerializationSettings(project, "development", version)))


def one(specs_: list[dict], kind: str, name: str) -> dict:
    return next(s for s in specs_ if s["kind"] == kind and s["id"]["name"] == name)
