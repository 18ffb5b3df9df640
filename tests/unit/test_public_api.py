"""The public surface: everything in `__all__` exists, and every public SDK class and function a user
needs is exported from the top-level package."""

from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = ["slipstream", "chalicelib.spec", "chalicelib.compiler", "chalicelib.store"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist(name):
    module = importlib.import_module(name)
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert missing == []


def test_sdk_exports_every_public_user_facing_name():
    import slipstream

    expected = set()
    for module_name in ("slipstream.task", "slipstream.workflow", "slipstream.conditional", "slipstream.map_task",
                        "slipstream.dynamic", "slipstream.launch_plan", "slipstream.files", "slipstream.resources"):
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if not name.startswith("_") and getattr(value, "__module__", None) == module_name and \
                    (inspect.isclass(value) or inspect.isfunction(value)):
                expected.add(name)
    assert expected - set(slipstream.__all__) == set()


def test_importing_the_sdk_pulls_in_no_cloud_clients():
    import subprocess
    import sys

    code = "import slipstream, sys; print(sorted(m for m in ('boto3', 'botocore', 'kubernetes', 'pynamodb', " \
           "'chalice', 'jsonschema') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
