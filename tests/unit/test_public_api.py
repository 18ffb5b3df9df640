"""The public surface: everything in `__all__` exists, and every public name a user needs is exported
from the top-level package: the SDK's classes and functions, the errors it raises, and what the README
and the examples import."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys

import pytest

import slipstream
from chalicelib import errors
from tests.conftest import EXAMPLES, ROOT

PACKAGES = ["slipstream", "chalicelib.spec", "chalicelib.compiler", "chalicelib.store"]
USER_MODULES = ["slipstream.task", "slipstream.workflow", "slipstream.conditional", "slipstream.map_task",
                "slipstream.dynamic", "slipstream.launch_plan", "slipstream.files", "slipstream.resources"]
# modules whose errors reach users while they define and run workflows
RAISING_MODULES = USER_MODULES + ["slipstream.builder", "slipstream.promise", "slipstream.interface",
                                  "slipstream.type_engine", "slipstream.engine", "slipstream.local",
                                  "chalicelib.compiler.workflows", "chalicelib.compiler.graph",
                                  "chalicelib.compiler.launch_plans", "chalicelib.spec.types"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_name_in_all_exists_once(name):
    module = importlib.import_module(name)
    assert [n for n in module.__all__ if not hasattr(module, n)] == []
    assert len(module.__all__) == len(set(module.__all__))


@pytest.mark.parametrize("module_name", USER_MODULES)
def test_every_public_class_and_function_of_the_sdk_is_exported(module_name):
    module = importlib.import_module(module_name)
    public = {name for name, value in vars(module).items()
              if not name.startswith("_") and getattr(value, "__module__", None) == module_name
              and (inspect.isclass(value) or inspect.isfunction(value))}
    assert public, f"{module_name} defines nothing public"
    assert public - set(slipstream.__all__) == set()
    for name in public:
        assert getattr(slipstream, name) is getattr(module, name)


def test_every_error_a_user_can_meet_is_exported():
    raised = set()
    for module_name in RAISING_MODULES:
        module = importlib.import_module(module_name)
        raised |= {name for name, value in vars(module).items()
                   if inspect.isclass(value) and issubclass(value, errors.SlipstreamError)}
    raised |= {"SlipstreamError", "UserError", "CycleError", "UnknownReferenceError"}
    assert raised - set(slipstream.__all__) == set()
    for name in raised:
        assert getattr(slipstream, name) is getattr(errors, name)


def test_flytekit_names_are_kept():
    for name in ("task", "workflow", "dynamic", "map_task", "conditional", "LaunchPlan", "CronSchedule",
                 "FixedRate", "Email", "Resources", "Secret", "WorkflowExecutionPhase"):
        assert name in slipstream.__all__


def _imported_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a README snippet need not be a whole program: read its import lines alone
        lines = [line for line in source.splitlines() if line.startswith("from slipstream import ")]
        tree = ast.parse("\n".join(line.split("#")[0] for line in lines if "(" not in line))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "slipstream":
            names |= {alias.name for alias in node.names}
    return names


def test_what_the_readme_and_examples_import_is_exported():
    sources = [p.read_text() for p in sorted(EXAMPLES.glob("*.py"))]
    readme = (ROOT / "README.md").read_text()
    blocks = readme.split("```python")[1:]
    sources += [block.split("```")[0] for block in blocks]
    imported = set().union(*(_imported_names(s) for s in sources if "from slipstream import" in s))
    assert imported, "no `from slipstream import ...` found in the README or the examples"
    assert imported - set(slipstream.__all__) == set()


def test_importing_the_sdk_pulls_in_no_cloud_clients():
    code = ("import slipstream, sys; print(sorted(m for m in ('boto3', 'botocore', 'kubernetes', 'pynamodb', "
            "'chalice', 'jsonschema') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
