"""The OpenAPI document kept in the repo describes exactly the routes the app serves, and is valid."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chalice.test import Client
from openapi_spec_validator import validate

import app

PUBLIC = {"/api/v1/health", "/api/v1/openapi.json"}
ERROR_STATUSES = {"400", "404", "409", "413"}


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
