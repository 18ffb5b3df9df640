"""chalicelib.scope: a request's body stays inside its path's project and domain. Its walk over specs must
visit every identifier the IR can hold, or a reference to another tenant's entity would slip through."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.errors import ValidationError
from chalicelib.scope import _identifiers, check_specs_in_scope, path_scope, scoped_body
from slipstream.collect import collect_specs
from tests.conftest import EXAMPLES

SCHEMA = Path(__file__).resolve().parents[2] / "chalicelib" / "spec" / "ir.schema.json"
# Where the IR holds an identifier, as chalicelib.scope._identifiers walks them. A new place in the schema
# fails this test: teach the walk about it.
WALKED = {"$defs/task/properties/id", "$defs/workflow/properties/id", "$defs/launch_plan/properties/id",
          "$defs/launch_plan/properties/workflow", "$defs/node/allOf/0/then/properties/task",
          "$defs/node/allOf/1/then/properties/workflow", "$defs/node/allOf/2/then/properties/task"}


def _refs(node: Any, path: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("$ref") == "#/$defs/identifier":
            yield path.strip("/")
        for key, value in node.items():
            yield from _refs(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _refs(value, f"{path}/{i}")


def _identifier_shaped(node: Any) -> Iterator[dict[str, Any]]:
    """Every object of the four identifier keys anywhere in `node`."""
    if isinstance(node, dict):
        if set(node) == {"project", "domain", "name", "version"}:
            yield node
        for value in node.values():
            yield from _identifier_shaped(value)
    elif isinstance(node, list):
        for value in node:
            yield from _identifier_shaped(value)


@pytest.fixture(scope="module")
def example_specs() -> list[dict[str, Any]]:
    return collect_specs([str(p) for p in sorted(EXAMPLES.glob("*.py"))], project="ml", domain="development",
                         version="v1")


def test_the_walk_knows_every_place_the_ir_holds_an_identifier():
    assert set(_refs(json.loads(SCHEMA.read_text()))) == WALKED


def test_the_walk_visits_every_identifier_of_the_examples(example_specs):
    kinds = {s["kind"] for s in example_specs}
    assert kinds == {"task", "workflow", "launch_plan"}
    for spec in example_specs:
        walked = sorted(json.dumps(ref, sort_keys=True) for _, ref in _identifiers(spec))
        assert walked == sorted(json.dumps(ref, sort_keys=True) for ref in _identifier_shaped(spec)), spec["id"]
    check_specs_in_scope(example_specs, "ml", "development")


@pytest.mark.parametrize("field, value", [("project", "other"), ("domain", "production")])
def test_any_identifier_outside_the_scope_is_400(example_specs, field, value):
    refused = 0
    for spec in example_specs:
        for where, ref in list(_identifiers(spec)):
            changed = copy.deepcopy(spec)
            target = next(r for w, r in _identifiers(changed) if w == where and r == ref)
            target[field] = value
            with pytest.raises(ValidationError, match=rf"names {field} \[{value}\] but the path is /ml/development"):
                check_specs_in_scope([changed], "ml", "development")
            refused += 1
    assert refused > len(example_specs)


@pytest.mark.parametrize("specs", [None, "x", [1, None, "s"], [{"kind": "workflow", "nodes": "n"}],
                                   [{"kind": "workflow", "nodes": [{"kind": "branch", "cases": 5, "else": 7}]}],
                                   [{"kind": "launch_plan", "workflow": []}], [{"id": "not an object"}]])
def test_malformed_specs_are_left_to_the_schema_check(specs):
    check_specs_in_scope(specs, "ml", "development")  # no exception: the JSON Schema check names these


def test_a_body_gets_the_paths_scope_and_may_not_name_another():
    assert scoped_body({"digest": "x"}, "ml", "development") == {"digest": "x", "project": "ml",
                                                                  "domain": "development"}
    assert scoped_body({"project": "ml"}, "ml", "development")["domain"] == "development"
    assert scoped_body([1], "ml", "development") == [1]
    with pytest.raises(ValidationError, match=r"the body names domain \[staging\] but the path is /ml/development"):
        scoped_body({"domain": "staging"}, "ml", "development")


@pytest.mark.parametrize("project, domain", [("ML", "development"), ("ml", "dev elopment"), ("ml", "x" * 21)])
def test_path_scopes_are_checked_names(project, domain):
    with pytest.raises(ValidationError, match="is not valid"):
        path_scope(project, domain)
