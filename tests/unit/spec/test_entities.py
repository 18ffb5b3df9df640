"""Helpers that read specs: nested nodes, what a node waits for, what a workflow calls."""

from __future__ import annotations

from chalicelib.spec import inputs_of, iter_nodes, node_sources, outputs_of, referenced_entities, spec_id
from chalicelib.spec.identifiers import Identifier
from tests.unit.ir_builders import (
    INC,
    branch_node,
    compare,
    ident,
    map_node,
    promise,
    task_node,
    workflow_node,
    workflow_spec,
)

BRANCH = branch_node(
    "n3",
    [(compare(">", promise("n0"), {"value": 0}), task_node("n3-0", "inc", {"x": promise("n1")})),
     ({"and": [{"is_none": promise("n4")}, compare("<", {"input": "x"}, {"value": 1})]},
      workflow_node("n3-1", "sub", {"x": {"value": 1}}))],
    otherwise=map_node("n3-else", "inc", {"x": {"list": [promise("n2"), {"value": 1}]}}, ["x"]),
)


def test_iter_nodes_visits_nested_nodes_after_their_parent():
    nodes = [task_node("n0", "inc", {}), BRANCH]
    assert [n["id"] for n in iter_nodes(nodes)] == ["n0", "n3", "n3-0", "n3-1", "n3-else"]


def test_node_sources_cover_upstream_bindings_conditions_and_cases():
    assert node_sources(BRANCH) == {"n0", "n1", "n2", "n4"}
    node = task_node("n5", "inc", {"x": {"map": {"a": {"list": [promise("n1")]}}}}, upstream=["n2"])
    assert node_sources(node) == {"n1", "n2"}
    assert node_sources(task_node("n6", "inc", {"x": {"input": "x"}})) == set()


def test_referenced_entities_include_calls_inside_branches():
    spec = workflow_spec([task_node("n0", "inc", {"x": {"input": "x"}}), BRANCH])
    assert list(referenced_entities(spec)) == [
        ("task", ident("inc")), ("task", ident("inc")), ("workflow", ident("sub")), ("task", ident("inc"))]


def test_readers_of_a_spec():
    assert spec_id(INC) == Identifier("p", "development", "inc", "v1")
    assert [v["name"] for v in inputs_of(INC)] == ["x"]
    assert [v["name"] for v in outputs_of(INC)] == ["o0"]
    inputs_of(INC).clear()  # a copy: the spec is not changed
    assert inputs_of(INC)
