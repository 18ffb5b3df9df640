"""Idioms of existing Flyte code that run here with a change of imports.

    slipstream run examples/flytekit_idioms.py stats_wf --xs '[3, -1.5, 2]'
    slipstream run examples/flytekit_idioms.py bounds --xs '[1, 4]'
    slipstream run examples/flytekit_idioms.py imperative_wf --in1 hello --in2 '[1, 2]'
    slipstream run examples/flytekit_idioms.py report --xs '[3, -1.5, 2]' --note 7

- a workflow may call a task defined further down the module (workflows build when first used);
- `-> (float, float)` and `typing.Tuple[...]` declare outputs o0, o1, …;
- a task declaring a one-field NamedTuple may return the bare value; read the field with `.total`;
- the imperative `Workflow(name=...)` builder;
- parts of promises (`summary.names[0]`, `summary.range["hi"]`), resolved between nodes from the JSON values;
- `typing.Union` inputs and outputs.
"""

import typing
from dataclasses import dataclass
from typing import NamedTuple, Union

from slipstream import Workflow, task, workflow


@workflow
def stats_wf(xs: list[float]) -> typing.Tuple[float, float, float]:
    lo, hi = bounds(xs=xs)  # bounds is defined below: fine, the workflow builds when first used
    return lo, hi, total(xs=xs).total


class Total(NamedTuple):
    total: float


@task
def bounds(xs: list[float]) -> (float, float):
    return min(xs), max(xs)


@task
def total(xs: list[float]) -> Total:
    return sum(xs)


@task
def shout(word: str) -> str:
    return word.upper() + "!"


imperative_wf = Workflow(name="flytekit_idioms.imperative_wf")
imperative_wf.add_workflow_input("in1", str)
imperative_wf.add_workflow_input("in2", list[float])
_shouted = imperative_wf.add_entity(shout, word=imperative_wf.inputs["in1"])
_summed = imperative_wf.add_entity(total, xs=imperative_wf.inputs["in2"])
imperative_wf.add_workflow_output("shouted", _shouted.outputs["o0"])
imperative_wf.add_workflow_output("total", _summed.outputs["total"])


@dataclass
class Summary:
    names: list[str]
    range: dict[str, float]


@task
def summarize(xs: list[float]) -> Summary:
    return Summary(names=["lo", "hi"], range={"lo": min(xs), "hi": max(xs)})


@task
def describe(name: str, value: float, note: Union[int, str]) -> str:
    return f"{name}={value} ({type(note).__name__} note: {note})"


@workflow
def report(xs: list[float], note: Union[int, str] = "none") -> str:
    summary = summarize(xs=xs)
    return describe(name=summary.names[1], value=summary.range["hi"], note=note)
