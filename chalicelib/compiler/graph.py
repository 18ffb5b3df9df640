"""Dependencies between a workflow's nodes and their order; cycles are reported with their path."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import CycleError, UnknownReferenceError
from chalicelib.spec.entities import node_sources


def dependencies(workflow_name: str, nodes: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Node id → ids of the top-level nodes it waits for (data and `>>`)."""
    ids = {node["id"] for node in nodes}
    deps: dict[str, set[str]] = {}
    for node in nodes:
        sources = node_sources(node)
        unknown = sorted(sources - ids)
        if unknown:
            raise UnknownReferenceError(
                f"workflow [{workflow_name}] node [{node['id']}] depends on node {unknown}, "
                "which is not a node of this workflow; bind the input to an existing node's output"
            )
        deps[node["id"]] = sources
    return deps


def topological_order(workflow_name: str, deps: dict[str, set[str]]) -> list[str]:
    """Nodes in an order where each comes after all it depends on (stable: ties keep spec order)."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in deps:
        if state.get(start) == 2:
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(deps[start]))]
        state[start] = 1
        while stack:
            node, pending = stack[-1]
            if pending:
                nxt = pending.pop()
                if state.get(nxt) == 1:
                    path = [n for n, _ in stack]
                    cycle = path[path.index(nxt):] + [nxt]
                    raise CycleError(
                        f"workflow [{workflow_name}] has a cycle: nodes [{' -> '.join(reversed(cycle))}] "
                        "depend on each other; remove one of these dependencies"
                    )
                if state.get(nxt) != 2:
                    state[nxt] = 1
                    stack.append((nxt, sorted(deps[nxt])))
            else:
                stack.pop()
                state[node] = 2
                order.append(node)
    return order
