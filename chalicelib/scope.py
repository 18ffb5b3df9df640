"""The project-domain a request acts in, and the rule that its body stays inside it.

Every route that touches a project's data carries `{project}/{domain}` in its path, because API Gateway's
IAM authorization sees only the method ARN (`arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/
<path>`), never the body: a policy that allows `.../tasks/ml/development/*` scopes a caller to one tenant only if
nothing in the body can name another. So a body that names another project or domain than its path is refused
(400), and so is a spec that references a task or workflow of another project-domain (a workflow calling
`other/development`'s task would read that tenant's spec and run its code under this tenant's role).

The walk over specs is defensive (it runs before the JSON Schema check, which names shape errors better):
anything not shaped as expected is left for that check.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.errors import ValidationError
from chalicelib.spec import check_name


def path_scope(project: str, domain: str) -> tuple[str, str]:
    """The path's (project, domain), each checked against the identifier patterns (400 otherwise)."""
    return check_name("project", project), check_name("domain", domain)


def scoped_body(body: Any, project: str, domain: str) -> Any:
    """`body` with the path's project and domain filled in; 400 if it names others. Non-objects pass
    through unchanged, for the service to refuse with its own message."""
    if not isinstance(body, dict):
        return body
    _check_same("the body", body, project, domain, "send it to that path, or omit it from the body")
    return {**body, "project": project, "domain": domain}


def check_specs_in_scope(specs: Any, project: str, domain: str) -> None:
    """400 if a spec's id or an entity it references lies outside the path's project and domain."""
    for spec in specs if isinstance(specs, list) else []:
        if not isinstance(spec, dict):
            continue
        for where, ref in _identifiers(spec):
            if isinstance(ref, dict):
                _check_same(f"{spec.get('kind', 'spec')} {where}", ref, project, domain,
                            "a batch registers and references entities of its path's project and domain only")


def _check_same(what: str, named: dict[str, Any], project: str, domain: str, fix: str) -> None:
    for key, expected in (("project", project), ("domain", domain)):
        if key in named and named[key] != expected:
            raise ValidationError(f"{what} names {key} [{named[key]}] but the path is /{project}/{domain}; {fix}")


def _identifiers(spec: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """("where", identifier-ish value) for the spec's id and every entity it references."""
    yield "[id]", spec.get("id")
    kind = spec.get("kind")
    if kind == "launch_plan":
        yield "[workflow]", spec.get("workflow")
    if kind != "workflow":
        return
    pending = list(_as_list(spec.get("nodes")))
    while pending:
        node = pending.pop()
        if not isinstance(node, dict):
            continue
        for key in ("task", "workflow"):
            if key in node:
                yield f"node [{node.get('id')}] {key}", node[key]
        pending.extend(case.get("then") for case in _as_list(node.get("cases")) if isinstance(case, dict))
        pending.append(node.get("else"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
