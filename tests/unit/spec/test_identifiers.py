"""Identifiers: every part is checked before it can reach an S3 key, a DynamoDB key or a namespace."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import ValidationError
from chalicelib.spec import DEFAULT_DOMAINS, Identifier, check_name, ref_key
from chalicelib.spec.identifiers import DOMAIN_PATTERN, NAME_PATTERN, PROJECT_PATTERN, VERSION_PATTERN


@pytest.mark.parametrize("kind, value", [
    ("project", "ml-team"), ("project", "a"), ("project", "a" * 40), ("domain", "development"), ("domain", "x" * 20),
    ("name", "pkg.module.task_1"), ("name", "_private"), ("name", "n" * 200), ("version", "abc123-dirty-1f"),
    ("version", "1.0"), ("version", "v" * 128), ("node id", "n0"), ("node id", "n1-else"), ("node id", "n" * 63),
])
def test_valid_names_are_returned_unchanged(kind, value):
    assert check_name(kind, value) == value


@pytest.mark.parametrize("kind, value", [
    ("project", "Bad_Name"), ("project", "-x"), ("project", "x-"), ("project", "a" * 41), ("project", None),
    ("domain", "dev/../x"), ("domain", "d" * 21), ("domain", ""),
    ("name", "1starts-with-digit"), ("name", "has space"), ("name", "n" * 201), ("name", "a/b"),
    ("version", "v/1"), ("version", ""), ("version", ".hidden"), ("version", "v" * 129), ("version", 1),
    ("node id", "N0"), ("node id", "0n"), ("node id", "n_0"), ("node id", "n" * 64),
])
def test_invalid_names_are_named_with_what_is_allowed(kind, value):
    with pytest.raises(ValidationError, match=rf"^{kind} \[.*\] is not valid: use "):
        check_name(kind, value)


def test_the_longest_project_and_domain_still_make_a_kubernetes_namespace():
    namespace = f"{'p' * 40}-{'d' * 20}"
    assert len(namespace) <= 63  # a DNS label
    for domain in DEFAULT_DOMAINS:
        assert check_name("domain", domain) == domain


@pytest.mark.parametrize("part", ["project", "domain", "name", "version"])
def test_identifier_checks_every_part_and_names_it(part):
    parts = {"project": "p", "domain": "development", "name": "n", "version": "v1", part: "has space"}
    with pytest.raises(ValidationError, match=rf"^{part} \[has space\]"):
        Identifier(**parts)


def test_identifier_reads_and_writes_plain_dicts():
    ident = Identifier("p", "development", "pkg.wf", "v1")
    assert Identifier.from_dict(ident.to_dict()) == ident
    assert str(ident) == ref_key(ident) == ref_key(ident.to_dict()) == "p/development/pkg.wf@v1"


@pytest.mark.parametrize("data, message", [
    ("p/development/n@v1", r"identifier \[p/development/n@v1\] must be an object"),
    ({"project": "p", "name": "n"}, r"lacks domain, version"),
    (None, r"identifier \[None\] must be an object"),
])
def test_identifier_from_something_else_says_what_is_missing(data, message):
    with pytest.raises(ValidationError, match=message):
        Identifier.from_dict(data)


def test_identifiers_are_immutable_hashable_and_ordered():
    a, b = Identifier("p", "development", "a", "2"), Identifier("p", "development", "b", "1")
    assert sorted([b, a]) == [a, b]
    assert len({a, Identifier("p", "development", "a", "2")}) == 1
    with pytest.raises(AttributeError):
        a.version = "3"  # type: ignore[misc]


@given(
    project=st.from_regex(PROJECT_PATTERN, fullmatch=True),
    domain=st.from_regex(DOMAIN_PATTERN, fullmatch=True),
    name=st.from_regex(NAME_PATTERN, fullmatch=True),
    version=st.from_regex(VERSION_PATTERN, fullmatch=True),
)
def test_any_valid_identifier_round_trips(project, domain, name, version):
    ident = Identifier(project, domain, name, version)
    assert Identifier.from_dict(ident.to_dict()) == ident
    assert ref_key(ident.to_dict()) == str(ident)


@pytest.mark.parametrize("kind, value", [
    ("project", "team\n"), ("domain", "development\n"), ("name", "wf\n"), ("version", "v1\n"), ("node id", "n0\n"),
])
def test_a_trailing_newline_is_not_part_of_a_valid_name(kind, value):
    # `$` in Python's re also matches before a final newline: "team\n" would become the namespace
    # "team\n-development" and part of S3 and DynamoDB keys.
    with pytest.raises(ValidationError, match=rf"^{kind} \["):
        check_name(kind, value)
