"""The API, fuzzed from its OpenAPI document by schemathesis against the session's sandbox: no request,
valid or not, gets a 5xx, and every answer conforms to the document (status, content type, body schema).

The number of cases is bounded (`MAX_EXAMPLES` per operation and phase) so that the whole run stays short;
CI runs the same cases every time (a fixed seed), and a failure prints the curl command that reproduces it.
Each 5xx it found is kept as a plain regression test in tests/integration/test_fuzz_regressions.py.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

import app

pytestmark = pytest.mark.integration

# A deeper hunt: SLIPSTREAM_FUZZ_EXAMPLES=500 SLIPSTREAM_FUZZ_SEED=<n> python -m pytest <this file>
MAX_EXAMPLES = int(os.environ.get("SLIPSTREAM_FUZZ_EXAMPLES", "15"))
CONFIG = SchemathesisConfig.from_dict({
    "seed": int(os.environ.get("SLIPSTREAM_FUZZ_SEED", "20240611")),
    "generation": {"max-examples": MAX_EXAMPLES, "mode": "all", "database": "none"},
    # Methods a path does not declare never reach the app: API Gateway answers them on AWS, Chalice's local
    # server in the sandbox (501 for one it does not know, such as TRACE).
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True, "unexpected-methods": []},
               "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
    # A request the document allows may still be refused (400) for what a schema cannot say: a spec that does
    # not compile, a domain the project lacks, a page token the server never issued, a body naming another
    # project than its path. Requests the document refuses must be refused (negative_data_rejection, kept).
    "checks": {"unsupported_method": {"enabled": False}, "positive_data_acceptance": {"enabled": False}},
})


def sandbox_document() -> dict[str, Any]:
    """The API's document as the sandbox serves it: without IAM authorization, which is API Gateway's on AWS
    (tests/integration/test_iam_scoping.py evaluates it)."""
    document = json.loads(app.OPENAPI_PATH.read_text())
    document["components"].pop("securitySchemes")
    for operations in document["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
    return document


def import_schemathesis_eagerly() -> None:
    """pytest rewrites the modules of schemathesis, a pytest plugin, as it imports them; its checks import
    some lazily, deep in Hypothesis's stack, where CPython 3.11's `ast.parse` can fail ("AST constructor
    recursion depth mismatch", seen here on 3.11.7). Imported now, at collection, they are parsed shallow."""
    for module in pkgutil.walk_packages(schemathesis.__path__, "schemathesis."):
        if not module.name.startswith(("schemathesis.cli", "schemathesis.reporting")):  # not run by the checks
            importlib.import_module(module.name)


import_schemathesis_eagerly()
schema = schemathesis.openapi.from_dict(sandbox_document(), config=CONFIG)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,  # every case is an HTTP round trip to moto behind the API
          suppress_health_check=list(HealthCheck))  # patterns filter many draws; the checks are what count
def test_no_request_gets_a_5xx_and_every_answer_is_as_documented(case, sandbox):
    case.call_and_validate(base_url=sandbox.api_url)
