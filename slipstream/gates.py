"""Gates: nodes that wait for time or for a person, as flytekit's `sleep`, `wait_for_input` and `approve`.

    sleep(timedelta(minutes=5)) >> t2()               # no outputs; order it with `>>`
    n = wait_for_input("count", timeout=timedelta(hours=1), expected_type=int)
    x = approve(t1(), "deploy", timeout=timedelta(hours=2))   # t1's value, once someone says yes

A gate is a node of kind "gate" in the IR ({"gate": "sleep" | "signal" | "approve", "name", "seconds",
"type"}). Remotely a sleep is a Step Functions `Wait` state and a signal or approval a callback token that
the API answers (chalicelib.gates); a gate that gets no answer within its timeout fails the execution.
Locally (`slipstream run`), as in flytekit, a sleep is only announced, and signals are asked on the
terminal or given ahead of time with `--signal NAME=VALUE` (`GateAnswers`).
"""

from __future__ import annotations

import datetime
import json
import math
import sys
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.errors import ExecutionError, TypeMismatchError, ValidationError
from chalicelib.spec import types as lt
from slipstream import type_engine

DEFAULT_TIMEOUT = datetime.timedelta(hours=1)  # flytekit's
SLEEP_NAME = "sleep-gate"


class Gate:
    """What a gate node calls: not a registered entity, so it has no spec of its own."""

    kind = "gate"

    def __init__(self, name: str, gate: str, seconds: int, py_type: Any = None) -> None:
        self.name = name
        self.gate = gate
        self.seconds = seconds
        self.py_type = py_type

    def __repr__(self) -> str:
        return f"Gate({self.gate} {self.name})"

    def spec_fields(self) -> dict[str, Any]:
        """The node's gate fields in the IR."""
        literal = type_engine.literal_type_of(self.py_type) if self.py_type is not None else None
        return {"gate": self.gate, "name": self.name, "seconds": self.seconds, "type": literal}


def _seconds(value: Any, what: str) -> int:
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ValidationError(f"{what} must be a datetime.timedelta, got {value!r}")
    if seconds <= 0:
        raise ValidationError(f"{what} [{value}] must be longer than zero")
    return max(1, math.ceil(seconds))


def _builder(what: str) -> Any:
    from slipstream.builder import current_builder

    builder = current_builder()
    if builder is None:
        raise ValidationError(f"{what} is a workflow node: call it inside a @workflow body")
    return builder


def _add(gate: Gate, inputs: dict[str, Any]) -> Any:
    from slipstream.builder import Node

    builder = _builder(f"gate [{gate.name}]")
    node_id = builder.next_id()
    builder.add_node(Node(node_id, "gate", gate, inputs, extra=gate.spec_fields()))
    outputs = {} if gate.py_type is None else {"o0": gate.py_type}
    return builder.outputs_of(node_id, outputs, False)


def sleep(duration: datetime.timedelta) -> Any:
    """Wait `duration` before the nodes ordered after it (`sleep(...) >> t()`)."""
    return _add(Gate(SLEEP_NAME, "sleep", _seconds(duration, "sleep duration")), {})


def wait_for_input(name: str, timeout: datetime.timedelta = DEFAULT_TIMEOUT, expected_type: Any = str) -> Any:
    """A value of `expected_type` given while the execution runs (`slipstream execution signal ID NAME VALUE`);
    the execution fails if none comes within `timeout`."""
    type_engine.literal_type_of(expected_type)  # refuse a type the IR cannot carry now, not at run time
    return _add(Gate(name, "signal", _seconds(timeout, f"gate [{name}] timeout"), expected_type), {})


def approve(upstream_item: Any, name: str, timeout: datetime.timedelta = DEFAULT_TIMEOUT) -> Any:
    """`upstream_item` passed on once someone approves (`slipstream execution approve ID NAME`); a rejection
    or no answer within `timeout` fails the execution."""
    from slipstream.promise import Promise

    if not isinstance(upstream_item, Promise):
        raise ValidationError(f"approve [{name}] gates the output of a node: pass a task's output, not "
                              f"{upstream_item!r}")
    builder = _builder(f"approve [{name}]")
    gate = Gate(name, "approve", _seconds(timeout, f"gate [{name}] timeout"), upstream_item.py_type)
    binding = builder.binding(upstream_item, upstream_item.py_type, f"approve [{name}]")
    return _add(gate, {"value": binding})


# local answers

APPROVALS = {"y": True, "yes": True, "true": True, "n": False, "no": False, "false": False}


def parse_signal(text: str, literal_type: dict[str, Any], where: str) -> Any:
    """A signal typed on a terminal or given with --signal: strings as they are, anything else as JSON."""
    inner = literal_type.get("optional", literal_type)
    if inner.get("simple") == "string":
        value: Any = text
    else:
        try:
            value = json.loads(text)
        except ValueError:
            raise TypeMismatchError(f"{where}: [{text}] is not a {lt.describe(literal_type)}; use JSON") from None
    lt.validate_value(literal_type, value, where)
    return value


class GateAnswers:
    """Answers to a local run's gates: given ahead of time by name, else asked on the terminal."""

    def __init__(self, given: Mapping[str, str] | None = None, ask: Callable[[str], str] | None = None,
                 echo: Callable[[str], None] | None = None) -> None:
        self.given = dict(given or {})
        self.ask = ask if ask is not None else (_terminal_prompt if sys.stdin.isatty() else None)
        self.echo = echo or (lambda text: print(text, file=sys.stderr))

    def resolve(self, gate: dict[str, Any], upstream: Any, path: str) -> dict[str, Any]:
        """The gate's outputs, or ExecutionError for a rejection."""
        name = gate["name"]
        if gate["gate"] == "sleep":
            self.echo(f"[sleep gate] node [{path}]: sleeping {gate['seconds']}s (simulated locally, as in flytekit)")
            return {}
        if gate["gate"] == "signal":
            return {"o0": parse_signal(self._text(gate, f"[input gate] {name} ({lt.describe(gate['type'])})"),
                                       gate["type"], f"signal [{name}]")}
        answer = self._text(gate, f"[approval gate] approve {name} (value {json.dumps(upstream)})? [y/n]")
        approved = APPROVALS.get(answer.strip().lower())
        if approved is None:
            raise TypeMismatchError(f"approval [{name}]: [{answer}] is neither yes nor no; answer y or n")
        if not approved:
            raise ExecutionError(f"approval [{name}] (node [{path}]) was rejected; the execution stops here")
        return {"o0": upstream}

    def _text(self, gate: dict[str, Any], question: str) -> str:
        name = gate["name"]
        if name in self.given:
            return self.given[name]
        if self.ask is None:
            raise ValidationError(f"gate [{name}] waits for a signal and there is no terminal to ask on; pass "
                                  f"--signal {name}=VALUE to `slipstream run`")
        return self.ask(question)


def _terminal_prompt(question: str) -> str:
    import click

    return str(click.prompt(question))


def parse_signal_options(values: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`--signal NAME=VALUE` options by name."""
    found: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValidationError(f"--signal [{item}] must be NAME=VALUE, e.g. --signal approve-deploy=yes")
        found[name] = value
    return found
