"""The shapes of task, workflow and launch plan specs (the IR), and small helpers to read them.

Specs are plain JSON objects so that any language can produce them; `ir.schema.json` beside this file is
their JSON Schema. A workflow spec:

    {"kind": "workflow", "schema_version": 1, "id": {project, domain, name, version},
     "interface": {"inputs": [{"name", "type", "default"?}], "outputs": [{"name", "type"}]},
     "nodes": [node, ...], "outputs": {"o0": binding}}

A node is one of

    {"id": "n0", "kind": "task",     "task": id,     "inputs": {name: binding}, "upstream": [node ids]}
    {"id": "n1", "kind": "workflow", "workflow": id, "inputs": {...}, "upstream": [...]}
    {"id": "n2", "kind": "map", "task": id, "inputs": {...}, "mapped_inputs": ["x"],
     "concurrency": null, "min_success_ratio": 1.0, "upstream": [...]}
    {"id": "n3", "kind": "branch", "name": "sign", "upstream": [...],
     "cases": [{"condition": condition, "then": node}], "else": node | null, "else_fail": "message" | null}
    {"id": "n4", "kind": "gate", "gate": "sleep" | "signal" | "approve", "name": "deploy", "seconds": 3600,
     "type": literal type | null, "inputs": {"value": binding} (approve only), "upstream": [...]}

A gate's `seconds` is a sleep's duration, else its timeout; `type` is its output `o0`'s (none for a sleep).
A branch case's `then` (or its `else`) may be a branch itself: a conditional written inside a case.

A binding says where an input's value comes from:

    {"value": json}  {"input": "a"}  {"promise": {"node": "n0", "output": "o0"}}
    {"list": [binding, ...]}  {"map": {"key": binding}}

A condition: {"compare": {"op": "<", "left": binding, "right": binding}}, {"and": [c, c]}, {"or": [c, c]},
{"is_none": binding}.
"""

from __future__ import annotations

from typing import Any, Iterator

from chalicelib.spec.identifiers import Identifier

SCHEMA_VERSION = 1
NODE_KINDS = ("task", "workflow", "map", "branch", "gate")
COMPARISON_OPS = ("<", "<=", "==", "!=", ">", ">=")

Spec = dict[str, Any]


def spec_id(spec: Spec) -> Identifier:
    return Identifier.from_dict(spec["id"])


def ref_key(ref: dict[str, str] | Identifier) -> str:
    """The key a closure uses for an entity: `project/domain/name@version`."""
    if isinstance(ref, Identifier):
        return str(ref)
    return f"{ref['project']}/{ref['domain']}/{ref['name']}@{ref['version']}"  # hot path: shapes checked upstream


def inputs_of(spec: Spec) -> list[dict[str, Any]]:
    return list(spec["interface"]["inputs"])


def outputs_of(spec: Spec) -> list[dict[str, Any]]:
    return list(spec["interface"]["outputs"])


def iter_nodes(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every node, including the ones nested in branches, parents first."""
    for node in nodes:
        yield node
        if node["kind"] == "branch":
            nested = [case["then"] for case in node["cases"]]
            if node.get("else"):
                nested.append(node["else"])
            yield from iter_nodes(nested)


def binding_sources(binding: Any) -> Iterator[str]:
    """Node ids a binding reads from."""
    if "promise" in binding:
        yield binding["promise"]["node"]
    elif "attr" in binding:
        yield from binding_sources(binding["attr"]["of"])
    elif "list" in binding:
        for item in binding["list"]:
            yield from binding_sources(item)
    elif "map" in binding:
        for item in binding["map"].values():
            yield from binding_sources(item)


def condition_bindings(condition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "compare" in condition:
        yield condition["compare"]["left"]
        yield condition["compare"]["right"]
    elif "is_none" in condition:
        yield condition["is_none"]
    else:
        for part in condition.get("and") or condition.get("or") or []:
            yield from condition_bindings(part)


def node_sources(node: dict[str, Any]) -> set[str]:
    """Node ids this node must wait for: data it reads (also in branch conditions and cases) and `>>` order."""
    sources = set(node.get("upstream", []))
    for binding in node.get("inputs", {}).values():
        sources.update(binding_sources(binding))
    if node["kind"] == "branch":
        for case in node["cases"]:
            for binding in condition_bindings(case["condition"]):
                sources.update(binding_sources(binding))
            sources.update(node_sources(case["then"]))
        if node.get("else"):
            sources.update(node_sources(node["else"]))
    return sources


def referenced_entities(workflow: Spec) -> Iterator[tuple[str, dict[str, str]]]:
    """("task" | "workflow", identifier dict) for every entity a workflow's nodes call."""
    for node in iter_nodes(workflow["nodes"]):
        if node["kind"] in ("task", "map"):
            yield "task", node["task"]
        elif node["kind"] == "workflow":
            yield "workflow", node["workflow"]
