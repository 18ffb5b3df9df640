"""The OpenAPI document kept in the repo describes exactly the routes the app serves, and is valid."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
from chalice.test import Client
from openapi_spec_validator import validate

import app
from chalicelib.executions import EXECUTION_NAME
from chalicelib.gates import SIGNAL_NAME
from chalicelib.spec import identifiers as ids

PUBLIC = {"/api/v1/health", "/api/v1/openapi.json", "/console", "/console/{asset}"}  # console files: no data
ERROR_STATUSES = {"400", "404", "409", "413"}
# Routes that act on no project's data, or on a whole project: an administrator's (see the README's policy).
UNSCOPED = PUBLIC | {"/api/v1/projects", "/api/v1/projects/{project}", "/api/v1/projects/{project}/provision"}
# What the server enforces (chalicelib.spec.identifiers, chalicelib.executions, app.NODE_PATH), as documented.
NAMES = {"project": (ids.PROJECT_PATTERN, 40), "domain": (ids.DOMAIN_PATTERN, 20), "name": (ids.NAME_PATTERN, 200),
         "version": (ids.VERSION_PATTERN, 128), "execution": (EXECUTION_NAME, 40), "node": (app.NODE_PATH, 1024),
         "signal": (SIGNAL_NAME, 64)}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(app.OPENAPI_PATH.read_text())


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = document["components"][section][name]
    return node


def test_documented_routes_are_the_served_routes(document):
    documented = {(path, method.upper()) for path, method, _ in _operations(document)}
    served = {(path, method) for path, methods in app.app.routes.items() for method in methods}
    assert documented == served


def test_operation_ids_are_the_view_names(document):
    documented = {(path, method.upper()): op["operationId"] for path, method, op in _operations(document)}
    served = {(path, method): entry.view_name for path, methods in app.app.routes.items()
              for method, entry in methods.items()}
    assert documented == served


def test_document_is_valid_openapi_3(document):
    assert document["openapi"].startswith("3.0.")
    validate(document)


def test_every_route_but_health_and_the_document_requires_sigv4(document):
    assert document["components"]["securitySchemes"]["sigv4"] == {
        "type": "apiKey", "name": "Authorization", "in": "header",
        "description": "AWS Signature Version 4 (IAM authorization)", "x-amazon-apigateway-authtype": "awsSigv4"}
    for path, method, op in _operations(document):
        expected = [] if path in PUBLIC else [{"sigv4": []}]
        assert op.get("security", []) == expected, f"{method.upper()} {path}"
        served = app.app.routes[path][method.upper()]
        assert (served.authorizer is not None) == (path not in PUBLIC), f"{method.upper()} {path}"


def test_path_parameters_match_the_path_templates(document):
    for path, method, op in _operations(document):
        declared = {p["name"] for p in (_resolve(document, p) for p in op.get("parameters", []))
                    if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), f"{method.upper()} {path}"


def test_list_routes_take_limit_and_token(document):
    """Routes answering a page (a `token` beside the items) take ?limit= and ?token=, and no others do."""
    paged = set()
    for path, method, op in _operations(document):
        ok = _resolve(document, op["responses"].get("200", {}))
        schema = _resolve(document, ok.get("content", {}).get("application/json", {}).get("schema", {}))
        query = {p["name"] for p in (_resolve(document, p) for p in op.get("parameters", [])) if p["in"] == "query"}
        if "token" in schema.get("properties", {}):
            paged.add((path, method))
        assert ({"limit", "token"} <= query) == ((path, method) in paged), f"{method.upper()} {path}"
    served_lists = {(path, "get") for path in app.app.routes
                    if re.fullmatch(r"/api/v1/((task|workflow|launch_plan)_ids/{project}/{domain}"
                                    r"|(tasks|workflows|launch_plans)/{project}/{domain}/{name}"
                                    r"|executions/{project}/{domain})", path)}
    assert paged == served_lists and len(paged) == 7  # names and versions of 3 kinds, executions


def test_errors_have_one_shape(document):
    """The app's errors are {"error": {"code", "message"}}; only the framework's 415 (a Content-Type other
    than JSON, answered before a route runs) has its own shape, and every POST route documents it."""
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert error["properties"]["error"]["required"] == ["code", "message"]
    seen = set()
    for path, method, op in _operations(document):
        where = f"{method.upper()} {path}"
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                schema = _resolve(document, response)["content"]["application/json"]["schema"]
                shape = "ChaliceError" if status == "415" else "Error"
                assert schema == {"$ref": f"#/components/schemas/{shape}"}, f"{where} {status}"
                seen.add(status)
        assert "500" in op["responses"], where
        assert ("415" in op["responses"]) == (method == "post"), where
        if "requestBody" in op:
            assert {"400", "413"} <= set(op["responses"]), where
            assert list(op["requestBody"]["content"]) == ["application/json"], where
    assert seen >= ERROR_STATUSES | {"415", "500"}


def test_specs_point_at_the_ir_schema(document):
    spec = document["components"]["schemas"]["Spec"]
    assert spec["type"] == "object" and "chalicelib/spec/ir.schema.json" in spec["description"]
    assert set(spec["properties"]["kind"]["enum"]) == {"task", "workflow", "launch_plan"}


def test_the_app_serves_this_document_without_authorization(document):
    with Client(app.app) as client:
        served = client.http.get("/api/v1/openapi.json")
        assert served.status_code == 200
        assert json.loads(served.body) == document
        assert json.loads(client.http.get("/api/v1/health").body) == {"status": "ok"}


def test_a_body_that_is_not_json_gets_the_documented_415(document):
    with Client(app.app) as client:
        answered = client.http.post("/api/v1/projects", body=b"name=demo",
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answered.status_code == 415
    schema = document["components"]["schemas"]["ChaliceError"]
    assert set(json.loads(answered.body)) == set(schema["required"]) == set(schema["properties"])


def _named(kind: str) -> dict[str, Any]:
    pattern, length = NAMES[kind]
    return {"type": "string", "pattern": pattern.pattern, "maxLength": length}


def test_every_route_of_a_projects_data_has_project_and_domain_in_its_path():
    """IAM sees the path, never the body: this is what lets a policy scope a caller to one project-domain."""
    for path in app.app.routes:
        if path not in UNSCOPED:
            assert re.match(r"/api/v1/(\w+/)?({project}/{domain}|projects/{project}/domains/{domain})(/|$)", path), path


def test_path_parameters_state_the_name_patterns_the_server_enforces(document):
    kinds = {"project": "project", "domain": "domain", "version": "version", "signal": "signal"}
    for path, method, op in _operations(document):
        for parameter in (_resolve(document, p) for p in op.get("parameters", [])):
            if parameter["in"] == "path":
                kind = kinds.get(parameter["name"]) or ("execution" if path.startswith("/api/v1/executions/")
                                                        else "name")
                assert parameter["schema"] == _named(kind), f"{method.upper()} {path} {parameter['name']}"
    logs = document["paths"]["/api/v1/executions/{project}/{domain}/{name}/logs"]["get"]["parameters"]
    assert next(p for p in logs if p.get("name") == "node")["schema"] == _named("node")


def test_body_fields_state_the_name_patterns_the_server_enforces(document):
    schemas = document["components"]["schemas"]
    for schema in ("Identifier", "NullableIdentifier"):
        assert schemas[schema]["properties"] == {k: _named(k) for k in ("project", "domain", "name", "version")}
    assert schemas["ProjectCreate"]["properties"]["name"] == _named("project")
    for schema in ("ExecutionRequest", "UploadLocationRequest"):
        fields = schemas[schema]["properties"]
        assert {k: {**fields[k], "description": None} for k in ("project", "domain")} == {
            k: {**_named(k), "description": None} for k in ("project", "domain")}
        assert not {"project", "domain"} & set(schemas[schema].get("required", [])), schema
    execution_name = schemas["ExecutionRequest"]["properties"]["name"]
    assert {**execution_name, "description": None} == {**_named("execution"), "description": None}
    assert schemas["RelaunchRequest"]["properties"]["name"] == _named("execution")
    assert schemas["EntityRef"]["properties"]["name"] == _named("name")
    assert {**schemas["EntityRef"]["properties"]["version"], "description": None} == {**_named("version"),
                                                                                    "description": None}


def test_the_documented_patterns_mean_in_ecmascript_what_the_server_means():
    """OpenAPI patterns are ECMA-262 regular expressions (clients and fuzzers read them so); the server uses
    Python's `fullmatch`. Node's RegExp must accept and refuse exactly what the server does."""
    probes = ["a", "a" * 20, "a" * 21, "a" * 40, "a" * 41, "a" * 128, "a" * 129, "a" * 200, "a" * 201, "ab\n", "ab\n\n",
              "\nab", "", "-a", "a-", "a-b", "A", "_a", "9a", "a.b", "a/b", "a//b", "a/", "a b", "é", "a.3/b-c"]
    cases = {kind: pattern.pattern for kind, (pattern, _) in NAMES.items()}
    script = ("const [cases, probes] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "const out = {}; for (const [k, p] of Object.entries(cases)) {"
              "const re = new RegExp(p, 'u'); out[k] = probes.map(s => re.test(s)); }"
              "process.stdout.write(JSON.stringify(out));")
    node = subprocess.run(["node", "-e", script], input=json.dumps([cases, probes]), capture_output=True, text=True,
                          check=True)
    ecmascript = json.loads(node.stdout)
    for kind, (pattern, _) in NAMES.items():
        python = [pattern.fullmatch(probe) is not None for probe in probes]
        assert ecmascript[kind] == python, kind
        assert any(python) and not all(python), kind
