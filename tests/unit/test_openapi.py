"""The OpenAPI document kept in the repo describes exactly the routes the app serves, and is valid."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

import app


def test_documented_routes_are_the_served_routes():
    document = json.loads(app.OPENAPI_PATH.read_text())
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    served = {(path, method) for path, methods in app.app.routes.items() for method in methods}
    assert documented == served


def test_document_is_valid_openapi_and_secured_with_sigv4():
    document = json.loads(app.OPENAPI_PATH.read_text())
    validate(document)
    for path, ops in document["paths"].items():
        for op in ops.values():
            assert ("security" in op) == (path not in ("/api/v1/health", "/api/v1/openapi.json"))
