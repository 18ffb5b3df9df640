"""@task: the interface read from the signature, options recorded in the spec, calls outside a
workflow, JSON in and out, and every definition-time error."""

from __future__ import annotations

import datetime as dt
import typing
from typing import NamedTuple, Optional

import pytest

from chalicelib.errors import TaskFailedError, ValidationError
from chalicelib.spec import check_spec_shape
from slipstream import PythonTask, Resources, Secret, task
from slipstream.serialization import LOCAL, SerializationSettings


@task
def add(a: int, b: int = 1) -> int:
    """Add two numbers."""
    return a + b


@task()
def pair(x: int) -> tuple[int, str]:
    return x, str(x)


class Fit(NamedTuple):
    slope: float
    intercept: float


@task
def fit(n: int) -> Fit:
    return Fit(float(n), 1.0)


@task
def functional_named(n: int) -> typing.NamedTuple("Named", [("total", int), ("label", str)]):
    return n, "n"


@task
def nothing(note: Optional[str] = None) -> None:
    pass


@task(cache=True, cache_version="2", retries=3, timeout=dt.timedelta(minutes=2), interruptible=True,
      requests=Resources(cpu="1", mem="1Gi", gpu=1), limits=Resources(mem="2Gi", ephemeral_storage="1Gi"),
      container_image="img:1", environment={"A": "b"}, secret_requests=[Secret("db", "password"), "api"])
def configured(x: int) -> int:
    return x


@task
def liar(x: int) -> int:
    return str(x)  # type: ignore[return-value]


@task
def short(x: int) -> tuple[int, int]:
    return (x,)  # type: ignore[return-value]


def test_decorating_with_or_without_parentheses_gives_a_task():
    assert isinstance(add, PythonTask) and isinstance(pair, PythonTask)
    assert add.name == "tests.unit.sdk.test_task.add"
    assert repr(add) == "PythonTask(tests.unit.sdk.test_task.add)"
    assert add.__doc__ == "Add two numbers."
    assert add.__name__ == "add"


def test_tasks_defined_in_functions_are_named_without_locals():
    @task
    def inner(x: int) -> int:
        return x

    assert inner.name == "tests.unit.sdk.test_task.test_tasks_defined_in_functions_are_named_without_locals.inner"


def test_the_interface_comes_from_the_signature():
    assert add.interface.inputs == {"a": int, "b": int}
    assert add.interface.defaults == {"b": 1}
    assert add.interface.outputs == {"o0": int}
    assert pair.interface.outputs == {"o0": int, "o1": str}
    assert nothing.interface.outputs == {}
    assert nothing.interface.inputs == {"note": Optional[str]}


def test_named_tuple_outputs_in_both_forms_keep_their_field_names():
    assert fit.interface.outputs == {"slope": float, "intercept": float}
    assert fit.interface.output_tuple is Fit
    assert list(functional_named.interface.outputs) == ["total", "label"]


def test_called_outside_a_workflow_a_task_runs_its_function():
    assert add(a=2) == 3
    assert add(a=2, b=3) == 5
    assert fit(n=2) == Fit(2.0, 1.0)
    assert nothing() is None


def test_a_positional_call_is_refused_with_the_fix():
    with pytest.raises(ValidationError, match=r"^task \[tests.unit.sdk.test_task.add\] takes keyword arguments "
                                              r"only: call it as add\(a=\.\.\., b=\.\.\.\)$"):
        add(2, 3)


def test_options_are_recorded_in_the_spec():
    spec = configured.to_spec(LOCAL)
    check_spec_shape(spec)
    assert spec["task_type"] == "python"
    assert spec["function"] == {"module": "tests.unit.sdk.test_task", "name": "configured"}
    assert spec["metadata"] == {"cache": True, "cache_version": "2", "retries": 3, "timeout_seconds": 120,
                                "interruptible": True}
    assert spec["container"] == {
        "image": "img:1", "requests": {"cpu": "1", "mem": "1Gi", "gpu": "1"},
        "limits": {"mem": "2Gi", "ephemeral_storage": "1Gi"}, "environment": {"A": "b"},
        "secrets": [{"group": "db", "key": "password"}, {"group": "api", "key": None}],
    }


def test_the_spec_carries_the_interface_with_defaults_and_the_identifier():
    spec = add.to_spec(SerializationSettings("proj", "staging", "abc"))
    assert spec["id"] == {"project": "proj", "domain": "staging", "name": "tests.unit.sdk.test_task.add",
                          "version": "abc"}
    assert spec["interface"] == {
        "inputs": [{"name": "a", "type": {"simple": "integer"}},
                   {"name": "b", "type": {"simple": "integer"}, "default": 1}],
        "outputs": [{"name": "o0", "type": {"simple": "integer"}}],
    }
    check_spec_shape(spec)


def test_a_spec_is_a_copy_that_later_changes_do_not_reach():
    spec = configured.to_spec(LOCAL)
    spec["metadata"]["retries"] = 99
    spec["container"]["environment"]["B"] = "c"
    again = configured.to_spec(LOCAL)
    assert again["metadata"]["retries"] == 3
    assert again["container"]["environment"] == {"A": "b"}


@pytest.mark.parametrize("timeout, seconds", [(None, None), (1, 1), (90.5, 90), (dt.timedelta(hours=1), 3600)])
def test_timeouts_in_seconds_or_as_a_timedelta(timeout, seconds):
    def fn(x: int) -> int:
        return x

    assert task(timeout=timeout)(fn).metadata["timeout_seconds"] == seconds


@pytest.mark.parametrize("options, message", [
    ({"retries": -1}, r"retries \[-1\] must be a whole number from 0 to 100"),
    ({"retries": 101}, r"retries \[101\]"),
    ({"retries": "3"}, r"retries \['3'\]"),
    ({"retries": True}, r"retries \[True\]"),
    ({"timeout": 0}, r"timeout \[0\] must be at least 1 second"),
    ({"timeout": dt.timedelta(milliseconds=10)}, r"timeout \[datetime.timedelta"),
    ({"timeout": "10"}, r"timeout \['10'\]"),
    ({"timeout": True}, r"timeout \[True\]"),
    ({"cache_version": 2}, r"cache_version \[2\] must be a string"),
    ({"environment": {"A": 1}}, r"environment must map strings to strings"),
    ({"requests": Resources(cpu="")}, r"Resources\(cpu=\[''\]\) must be a quantity"),
    ({"limits": Resources(gpu=True)}, r"Resources\(gpu=\[True\]\)"),
])
def test_bad_options_are_refused_naming_the_task_and_option(options, message):
    def identity(x: int) -> int:
        return x

    with pytest.raises(ValidationError, match=message) as info:
        task(**options)(identity)
    if "Resources" not in message:
        assert str(info.value).startswith("task [tests.unit.sdk.test_task.")


def fn_without_annotation(x) -> int:  # type: ignore[no-untyped-def]
    return 1


def fn_with_args(*xs: int) -> int:
    return 1


def fn_with_kwargs(**xs: int) -> int:
    return 1


def fn_positional_only(x: int, /) -> int:
    return x


def fn_with_set(x: tuple) -> int:
    return 1


def fn_with_open_tuple(x: int) -> tuple[int, ...]:
    return (x,)


def fn_with_unresolved(x: Nope) -> int:  # type: ignore[name-defined]  # noqa: F821
    return 1


def fn_with_int_keys(x: dict[int, str]) -> int:
    return 1


def fn_with_bad_output(x: int) -> list:
    return []


def fn_with_bad_named_output(x: int) -> typing.NamedTuple("Out", [("blob", tuple)]):
    return ((),)


@pytest.mark.parametrize("fn, message", [
    (fn_without_annotation, r"input \[x\] has no type annotation; add one, e.g\. x: int"),
    (fn_with_args, r"parameter \[xs\] must be a plain named parameter \(no \*args, \*\*kwargs or /\)"),
    (fn_with_kwargs, r"parameter \[xs\] must be a plain named parameter"),
    (fn_positional_only, r"parameter \[x\] must be a plain named parameter"),
    (fn_with_set, r"input \[x\]: unsupported annotation \[<class 'tuple'>\]; supported types are int, float"),
    (fn_with_open_tuple, r"return type \[tuple\[int, \.\.\.\]\] must list each element's type"),
    (fn_with_unresolved, r"cannot read its type annotations \(name 'Nope' is not defined\); import the types"),
    (fn_with_int_keys, r"input \[x\]: dict keys must be str"),
    (fn_with_bad_output, r"output \[o0\]: unsupported annotation \[<class 'list'>\]"),
    (fn_with_bad_named_output, r"output \[blob\]: unsupported annotation"),
])
def test_signatures_the_ir_cannot_carry_are_refused_naming_the_parameter(fn, message):
    with pytest.raises(ValidationError, match=rf"^task \[tests\.unit\.sdk\.test_task\.{fn.__name__}\]: {message}"):
        task(fn)


def test_execute_takes_and_gives_json():
    assert add.execute({"a": 1}) == {"o0": 2}
    assert fit.execute({"n": 3}) == {"slope": 3.0, "intercept": 1.0}
    assert pair.execute({"x": 4}) == {"o0": 4, "o1": "4"}
    assert nothing.execute({}) == {}


def test_an_output_of_the_wrong_type_is_a_task_failure_naming_the_output():
    with pytest.raises(TaskFailedError, match=r"task \[tests.unit.sdk.test_task.liar\] output \[o0\]: expected int, "
                                              r"got '1'") as info:
        liar.execute({"x": 1})
    assert info.value.kind == "user"


def test_the_wrong_number_of_outputs_is_a_task_failure():
    with pytest.raises(TaskFailedError, match=r"short\] must return 2 values \(o0, o1\), got \(1,\)"):
        short.execute({"x": 1})


def test_a_default_of_the_wrong_type_is_refused_when_the_spec_is_made():
    @task
    def bad_default(x: int = "a") -> int:  # type: ignore[assignment]
        return x

    with pytest.raises(ValidationError, match=r"bad_default\] default of \[x\]: expected int, got 'a'"):
        bad_default.to_spec(LOCAL)
