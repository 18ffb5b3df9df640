"""Label selectors, field selectors and list pagination as the Kubernetes API server reads them, for the
emulator (`tests.support.kube_emulator`). Each error is a ValueError whose text is the API server's message;
the emulator answers it with 400 BadRequest, as the server does.

- Label selectors follow apimachinery `labels.Parse`: a lexer of identifiers and the operators `=`, `==`,
  `!=`, `in`, `notin`, `!key`, `key`, `>` and `<` (integers); keys must be qualified names and values label
  values, and a requirement that fails is reported as `unable to parse requirement: …`.
- Field selectors follow `fields.ParseSelector`: comma-separated `field=value`, `field==value` and
  `field!=value` terms (no set operators), `\\`, `\\,` and `\\=` escapes in values. Each kind selects on a few
  fields only (`FIELDS`); any other is refused with `field label not supported: <field>`.
- `limit`/`continue` follow the etcd3 store: objects in key order (namespace, name); a page holds at most
  `limit` matches and carries a continue token (base64url JSON with the list's resourceVersion and the key
  to start after) while any object remains after its last one, so a selective list may end on an empty
  page; `remainingItemCount` only when no selector narrows the list; a continue token that cannot be read,
  or one sent with a resourceVersion, is refused. Pages are read from the live store, not a snapshot.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any

from tests.support import kube_validation

_SPECIAL = "!=(),<>"
_TOKEN = re.compile(r"\s*(==|!=|[=(),!<>]|[^\s!=(),<>]+)")
_LABEL_OPS = ("in", "notin", "=", "==", "!=", ">", "<")
_CONTINUE_VERSION = "meta.k8s.io/v1"


def _pod_fields(obj: dict[str, Any]) -> dict[str, str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ips = status.get("podIPs") or []
    return {"spec.nodeName": spec.get("nodeName") or "", "spec.restartPolicy": spec.get("restartPolicy") or "Always",
            "spec.schedulerName": spec.get("schedulerName") or "default-scheduler",
            "spec.serviceAccountName": spec.get("serviceAccountName") or "",
            "spec.hostNetwork": "true" if spec.get("hostNetwork") else "false",
            "status.phase": status.get("phase") or "", "status.podIP": ips[0].get("ip", "") if ips else "",
            "status.nominatedNodeName": status.get("nominatedNodeName") or ""}


# Kind → what it selects on beside metadata.name and metadata.namespace (pkg/registry/core/*/strategy.go).
FIELDS: dict[str, Callable[[dict[str, Any]], dict[str, str]]] = {
    "pods": _pod_fields,
    "secrets": lambda obj: {"type": obj.get("type") or "Opaque"},
    "namespaces": lambda obj: {"status.phase": (obj.get("status") or {}).get("phase") or ""},
}
_POD_ALIASES = {"spec.host": "spec.nodeName", "status.podIPs": "status.podIP"}


class _Lexer:
    def __init__(self, text: str) -> None:
        self.tokens = [m.group(1) for m in _TOKEN.finditer(text)]
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.position += token is not None
        return token


def _is_identifier(token: str | None) -> bool:
    return token is not None and not (len(token) <= 2 and all(c in _SPECIAL for c in token))


def _shown(token: str | None) -> str:
    return "end of string" if token is None else token


def _key(lexer: _Lexer) -> tuple[str, str]:
    operator = "exists"
    if lexer.peek() == "!":
        lexer.take()
        operator = "!"
    key = lexer.take()
    if not _is_identifier(key) or key in ("in", "notin"):
        raise ValueError(f"found '{_shown(key)}', expected: identifier")
    errors = kube_validation.qualified_name(key or "")
    if errors:
        raise ValueError(f'key: Invalid value: "{key}": {"; ".join(errors)}')
    return key or "", operator


def _values(lexer: _Lexer, operator: str) -> list[str]:
    if operator in ("in", "notin"):
        if (token := lexer.take()) != "(":
            raise ValueError(f"found '{_shown(token)}', expected: '('")
        values: list[str] = []
        expect_value = True
        while (token := lexer.take()) != ")":
            if token == ",":
                values += [""] if expect_value else []
                expect_value = True
                continue
            if not expect_value or not _is_identifier(token):
                raise ValueError(f"found '{_shown(token)}', expected: ',', or identifier")
            values.append(token or "")
            expect_value = False
        return values + ([""] if expect_value and values else []) or [""]
    token = lexer.peek()
    if token is None or token == ",":
        return [""]
    if not _is_identifier(token):
        raise ValueError(f"found '{token}', expected: identifier")
    return [lexer.take() or ""]


def _check_values(operator: str, values: list[str]) -> None:
    if operator in (">", "<"):
        if not re.fullmatch(r"[+-]?[0-9]+", values[0]):
            raise ValueError(f"values[0]: Invalid value: \"{values[0]}\": for 'Gt', 'Lt' operators, the value "
                             "must be an integer")
        return
    for index, value in enumerate(values):
        errors = kube_validation.label_value(value)
        if errors:
            raise ValueError(f'values[{index}][{value}]: Invalid value: "{value}": {"; ".join(errors)}')


def _requirement(lexer: _Lexer) -> tuple[str, str, list[str]]:
    key, operator = _key(lexer)
    if lexer.peek() in (None, ",") or operator == "!":
        return key, operator, []
    operator = lexer.take() or ""
    if operator not in _LABEL_OPS:
        raise ValueError(f"found '{operator}', expected: in, notin, =, ==, !=, gt, lt")
    values = _values(lexer, operator)
    _check_values(operator, values)
    return key, operator, values


def parse_label_selector(selector: str) -> list[tuple[str, str, list[str]]]:
    """(key, operator, values) requirements of a label selector; ValueError in the API server's words."""
    lexer, requirements = _Lexer(selector), []
    while True:
        token = lexer.peek()
        if token is None:
            return requirements
        if token != "!" and not _is_identifier(token):
            raise ValueError(f"found '{token}', expected: !, identifier, or 'end of string'")
        try:
            requirements.append(_requirement(lexer))
        except ValueError as exc:
            raise ValueError(f"unable to parse requirement: {exc}") from None
        token = lexer.take()
        if token is None:
            return requirements
        if token != ",":
            raise ValueError(f"found '{token}', expected: ',' or 'end of string'")
        if lexer.peek() != "!" and not _is_identifier(lexer.peek()):
            raise ValueError(f"found '{_shown(lexer.peek())}', expected: identifier after ','")


def _label_ok(labels: dict[str, str], key: str, operator: str, values: list[str]) -> bool:
    value = labels.get(key)
    if operator in ("exists", "!"):
        return (value is not None) == (operator == "exists")
    if operator in ("=", "==", "in"):
        return value is not None and value in values
    if operator in ("!=", "notin"):
        return value is None or value not in values
    if value is None or not re.fullmatch(r"[+-]?[0-9]+", value):
        return False
    return int(value) > int(values[0]) if operator == ">" else int(value) < int(values[0])


def label_matcher(selector: str) -> Callable[[dict[str, str]], bool]:
    """A predicate over an object's labels; ValueError if the selector is malformed."""
    requirements = parse_label_selector(selector)
    return lambda labels: all(_label_ok(labels, *requirement) for requirement in requirements)


def _split_unescaped(text: str, separators: tuple[str, ...]) -> tuple[str, str, str] | None:
    index = 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        for separator in separators:
            if text.startswith(separator, index):
                return text[:index], separator, text[index + len(separator):]
        index += 1
    return None


def _terms(selector: str) -> list[str]:
    terms, rest = [], selector
    while (split := _split_unescaped(rest, (",",))) is not None:
        terms.append(split[0])
        rest = split[2]
    return [*terms, rest]


def _unescape(value: str) -> str:
    out, index = [], 0
    while index < len(value):
        char = value[index]
        if char == "\\":
            following = value[index + 1: index + 2]
            if following not in ("\\", ",", "="):
                raise ValueError(f"invalid field selector: invalid escape sequence: \\{following}")
            out.append(following)
            index += 2
            continue
        if char in ",=":
            raise ValueError(f"invalid field selector: unescaped character in value: {char}")
        out.append(char)
        index += 1
    return "".join(out)


def field_matcher(selector: str, kind: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over whole objects of `kind` (a plural); ValueError if the selector is malformed or names a
    field the kind does not select on."""
    terms: list[tuple[str, str, str]] = []
    for part in sorted(_terms(selector)):
        if part == "":
            continue
        split = _split_unescaped(part, ("!=", "==", "="))
        if split is None:
            raise ValueError(f"invalid selector: '{selector}'; can't understand '{part}'")
        field, operator, value = split
        field = _POD_ALIASES.get(field, field) if kind == "pods" else field
        if field not in ("metadata.name", "metadata.namespace") and field not in FIELDS.get(kind, dict)({}):
            raise ValueError(f"field label not supported: {field}")
        terms.append((field, operator, _unescape(value)))

    def matches(obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        fields = {"metadata.name": meta.get("name") or "", "metadata.namespace": meta.get("namespace") or "",
                  **FIELDS.get(kind, dict)(obj)}
        return all((fields.get(f, "") == v) == (op != "!=") for f, op, v in terms)

    return matches


def encode_continue(revision: int, key: str) -> str:
    """The etcd3 store's continue token: start after `key` at `revision`."""
    body = json.dumps({"v": _CONTINUE_VERSION, "rv": revision, "start": key + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    """(revision, key to start after) of a continue token; ValueError in the API server's words."""
    def invalid(detail: str) -> ValueError:
        return ValueError(f"invalid continue token: continue key is not valid: {detail}")

    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid(str(exc)) from None
    if not isinstance(data, dict) or data.get("v") != _CONTINUE_VERSION:
        raise invalid("server does not recognize this encoded version")
    if not isinstance(data.get("rv"), int) or data["rv"] <= 0:
        raise invalid(f"incorrect encoded start resourceVersion (version {_CONTINUE_VERSION})")
    start = data.get("start")
    if not isinstance(start, str) or not start.rstrip("\x00"):
        raise invalid(f"encoded start key empty (version {_CONTINUE_VERSION})")
    return data["rv"], start.rstrip("\x00")


def _object_key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def select_page(objects: list[dict[str, Any]], params: dict[str, str], kind: str,
                revision: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(items, list metadata) of one list request's page; ValueError (a 400) for bad parameters."""
    labels = label_matcher(params.get("labelSelector") or "")
    fields = field_matcher(params.get("fieldSelector") or "", kind)
    try:
        limit = int(params.get("limit") or 0)
    except ValueError:
        raise ValueError(f"limit: Invalid value: \"{params.get('limit')}\": must be an integer") from None
    ordered = sorted(objects, key=_object_key)
    if params.get("continue"):
        if params.get("resourceVersion") not in (None, "", "0"):
            raise ValueError("specifying resource version is not allowed when using continue")
        revision, start = decode_continue(params["continue"])
        ordered = [obj for obj in ordered if _object_key(obj) > start]
    page: list[dict[str, Any]] = []
    last = -1
    for index, obj in enumerate(ordered):
        if limit > 0 and len(page) == limit:
            break
        last = index
        if labels((obj.get("metadata") or {}).get("labels") or {}) and fields(obj):
            page.append(obj)
    metadata: dict[str, Any] = {"resourceVersion": str(revision)}
    remaining = len(ordered) - (last + 1)
    if limit > 0 and len(page) == limit and remaining > 0:
        metadata["continue"] = encode_continue(revision, _object_key(ordered[last]))
        if not params.get("labelSelector") and not params.get("fieldSelector"):
            metadata["remainingItemCount"] = remaining
    return page, metadata
