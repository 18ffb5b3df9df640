"""Resolving bindings to JSON values at run time, with the reads of node outputs passed in (pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.errors import ExecutionError

OutputsReader = Callable[[str], dict[str, Any]]  # node id → its outputs literal map


def resolve(binding: dict[str, Any], inputs: dict[str, Any], outputs_of: OutputsReader) -> Any:
    if "value" in binding:
        return binding["value"]
    if "input" in binding:
        return inputs[binding["input"]]
    if "promise" in binding:
        return outputs_of(binding["promise"]["node"])[binding["promise"]["output"]]
    if "attr" in binding:
        return follow(resolve(binding["attr"]["of"], inputs, outputs_of), binding["attr"]["path"])
    if "list" in binding:
        return [resolve(b, inputs, outputs_of) for b in binding["list"]]
    return {k: resolve(b, inputs, outputs_of) for k, b in binding["map"].items()}


def follow(value: Any, path: list[Any]) -> Any:
    """The part of a JSON value an attribute path names ({"attr": {"of": ..., "path": ["box", 2]}}): the
    control plane reads `box.tags[2]` between nodes from the JSON alone, never by running user code."""
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise ExecutionError(f"cannot read [{step!r}] of {shown}: the attribute path {path} does not exist "
                                 "in this value") from None
    return value


def memoized(reader: OutputsReader) -> OutputsReader:
    """Read each node's outputs once per resolution."""
    cache: dict[str, dict[str, Any]] = {}

    def read(node: str) -> dict[str, Any]:
        if node not in cache:
            cache[node] = reader(node)
        return cache[node]

    return read
