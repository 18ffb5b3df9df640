"""Identifiers, the JSON Schema of the IR, and deterministic serialization."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chalicelib.errors import ValidationError
from chalicelib.spec import Identifier, canonical_json, check_name, check_spec_shape, content_hash, ir_schema
from slipstream.collect import collect_specs
from tests.conftest import EXAMPLES, ROOT


@pytest.mark.parametrize("kind, value", [
    ("project", "ml-team"), ("domain", "development"), ("name", "pkg.module.task_1"), ("version", "abc123-dirty-1f"),
])
def test_valid_names(kind, value):
    assert check_name(kind, value) == value


@pytest.mark.parametrize("kind, value", [
    ("project", "Bad_Name"), ("project", "-x"), ("project", "a" * 41), ("domain", "dev/../x"),
    ("name", "1starts-with-digit"), ("name", "has space"), ("version", "v/1"), ("version", ""),
    ("node id", "N0"), ("project", None),
])
def test_invalid_names_say_what_is_allowed(kind, value):
    with pytest.raises(ValidationError, match=rf"{kind} \[.*\] is not valid: use"):
        check_name(kind, value)


def test_identifier_validates_every_part():
    with pytest.raises(ValidationError, match="version"):
        Identifier("p", "development", "n", "has space")
    assert str(Identifier("p", "development", "n", "v1")) == "p/development/n@v1"


def test_every_example_spec_follows_the_published_schema():
    specs = collect_specs([str(EXAMPLES)], project="p", domain="development", version="v1")
    assert {s["kind"] for s in specs} == {"task", "workflow", "launch_plan"}
    for spec in specs:
        check_spec_shape(spec)
    assert ir_schema()["$defs"]["workflow"]["properties"]["kind"]["const"] == "workflow"


@pytest.mark.parametrize("mutate, where", [
    (lambda s: s.pop("interface"), "(top level)"),
    (lambda s: s["metadata"].update(retries=-1), "metadata/retries"),
    (lambda s: s["interface"]["inputs"][0].update(type={"simple": "complex"}), "interface/inputs/0/type/simple"),
    (lambda s: s.update(kind="thing"), None),
])
def test_malformed_specs_name_the_misplaced_field(mutate, where):
    spec = collect_specs([str(EXAMPLES / "hello.py")], project="p", domain="development", version="v1")[0]
    mutate(spec)
    with pytest.raises(ValidationError) as info:
        check_spec_shape(spec)
    if where:
        assert f"[{where}]" in str(info.value)


def test_serialization_is_deterministic_across_processes():
    code = ("import json,sys; from slipstream.collect import collect_specs; "
            "from chalicelib.spec import canonical_json; "
            f"sys.stdout.buffer.write(canonical_json(collect_specs([{str(EXAMPLES)!r}], project='p', "
            "domain='development', version='v1')))")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, cwd=ROOT).stdout
            for _ in range(2)]
    assert runs[0] == runs[1]
    assert content_hash({"b": 1, "a": [1, 2]}) == content_hash({"a": [1, 2], "b": 1})
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


@pytest.mark.parametrize("kind", ["project", "domain", "name", "version", "node id"])
def test_a_trailing_newline_never_passes(kind):
    with pytest.raises(ValidationError):
        check_name(kind, "abc\n")
