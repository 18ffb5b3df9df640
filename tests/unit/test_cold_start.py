"""A light Lambda cold start: every function of the app imports app.py, so app.py imports only what the API
needs. The Kubernetes client (≈0.2 s) loads when the dispatcher first launches a pod, Powertools' batch
utility when the dispatch handler first runs; moto and Chalice's CLI and deploy code never.

Each check runs in a fresh interpreter: what a module imports is only visible from a clean `sys.modules`.
bench/cold_start.py measures the times."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

from chalicelib.config import Settings
from tests.conftest import ROOT

# top-level packages, and submodules of chalice, that the API function must not import
FORBIDDEN = ("kubernetes", "moto", "aws_lambda_powertools", "jsonschema", "pydantic", "slipstream", "click", "rich",
             "chalice.cli", "chalice.deploy", "chalice.local", "chalice.package", "chalice.awsclient",
             "chalice.config")


def loaded_after(code: str, env: dict[str, str] | None = None) -> list[str]:
    """The FORBIDDEN modules in sys.modules after running `code` in a fresh interpreter."""
    probe = (f"{code}\nimport sys, json\nprefixes = {FORBIDDEN!r}\n"
             "print(json.dumps(sorted(m for m in sys.modules if any(m == p or m.startswith(p + '.') "
             "for p in prefixes))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def stage_env(**extra: str) -> dict[str, str]:
    """What a Chalice stage sets (SLIPSTREAM_*), for an EKS cluster, with throwaway credentials."""
    settings = dataclasses.replace(Settings.for_stack("coldstart"), eks_cluster_name="prod",
                                   eks_endpoint="https://eks.invalid", eks_ca_data="Zm9v")
    env = {f"SLIPSTREAM_{k.upper()}": str(v) for k, v in dataclasses.asdict(settings).items() if v is not None}
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SLIPSTREAM_HOME")}
    return {**base, **env, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "fake",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/nonexistent", **extra}


def test_importing_the_app_loads_no_kubernetes_moto_powertools_or_chalice_cli():
    assert loaded_after("import app") == []


def test_the_services_of_an_eks_stage_are_built_without_kubernetes():
    code = ("import app\nservices = app.services()\n"
            "assert services.launcher is not None and not services.launcher.built, services.launcher")
    assert loaded_after(code, stage_env()) == []


def test_the_kubernetes_client_loads_when_the_launcher_is_first_used():
    code = ("import app\nlauncher = app.services().launcher\ncore = launcher.pods.core\n"
            "assert launcher.built and type(core).__name__ == 'CoreV1Api'")
    loaded = loaded_after(code, stage_env())
    assert "kubernetes" in loaded and "moto" not in loaded


def test_the_dispatch_handler_brings_its_batch_utility_with_it():
    record = {"messageId": "m1", "receiptHandle": "r1", "body": json.dumps({"t": "nonsense"}), "attributes": {},
              "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "us-east-1",
              "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:coldstart-dispatch"}
    # the handler runs Powertools' batch processing, which fails the batch whose only record it could not handle
    code = (f"import app\ntry:\n    app.dispatch({{'Records': [{record!r}]}}, None)\n"
            "except Exception as exc:\n    assert type(exc).__name__ == 'BatchProcessingError', exc\n"
            "else:\n    raise AssertionError('an unknown message type was accepted')")
    loaded = loaded_after(code, stage_env())
    assert "aws_lambda_powertools" in loaded and "kubernetes" not in loaded  # no pod launched, no client
