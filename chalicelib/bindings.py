"""Resolving bindings to JSON values at run time, with the reads of node outputs passed in (pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

OutputsReader = Callable[[str], dict[str, Any]]  # node id → its outputs literal map


def resolve(binding: dict[str, Any], inputs: dict[str, Any], outputs_of: OutputsReader) -> Any:
    if "value" in binding:
        return binding["value"]
    if "input" in binding:
        return inputs[binding["input"]]
    if "promise" in binding:
        return outputs_of(binding["promise"]["node"])[binding["promise"]["output"]]
    if "list" in binding:
        return [resolve(b, inputs, outputs_of) for b in binding["list"]]
    return {k: resolve(b, inputs, outputs_of) for k, b in binding["map"].items()}


def memoized(reader: OutputsReader) -> OutputsReader:
    """Read each node's outputs once per resolution."""
    cache: dict[str, dict[str, Any]] = {}

    def read(node: str) -> dict[str, Any]:
        if node not in cache:
            cache[node] = reader(node)
        return cache[node]

    return read
