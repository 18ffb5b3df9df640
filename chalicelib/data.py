"""Where an execution's data lives in S3 (pure key builders).

    <project>/<domain>/<execution>/inputs.json | outputs.json | context.json
    <project>/<domain>/<execution>/<node>/<attempt>/inputs.json | outputs.json | error.json | logs.txt
    <project>/<domain>/<execution>/<node>/outputs.json            the outputs of the attempt that succeeded

An execution key ("x") is `<project>/<domain>/<name>`; a dynamic node's child graph runs under
`<x>/<node>`, so its nodes and data nest under the node that built it.
"""

from __future__ import annotations


def execution_key(project: str, domain: str, name: str) -> str:
    return f"{project}/{domain}/{name}"


def split_key(x: str) -> tuple[str, str, str]:
    """(project, domain, root execution name) of an execution key."""
    project, domain, name = x.split("/")[:3]
    return project, domain, name


def attempt_prefix(x: str, node: str, attempt: int) -> str:
    return f"{x}/{node}/{attempt}"


def node_outputs(x: str, node: str) -> str:
    return f"{x}/{node}/outputs.json"

