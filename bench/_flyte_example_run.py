"""Runs inside a fresh interpreter for `bench/flyte_examples.py` and writes its result as JSON to OUT.

    python bench/_flyte_example_run.py discover FILE OUT          # load the module, list its workflows
    python bench/_flyte_example_run.py run FILE ATTR OUT          # call the workflow ATTR with its defaults
    python bench/_flyte_example_run.py main FILE OUT              # run the file's `if __name__ == "__main__":` blocks

FILE is an example already rewritten to import slipstream. `main` runs each top-level statement of each main
block on its own in the module's namespace (so one failing call does not hide the next) and records the outcome
of each workflow called outside a workflow body. Nothing is printed for the caller: the example's own output
and logs cannot spoil the JSON.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any


def _error(exc: BaseException) -> dict[str, str]:
    tb = traceback.extract_tb(exc.__traceback__)
    where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb) if not any(
                  part in f.filename for part in ("slipstream", "chalicelib", "_flyte_example_run"))), "")
    return {"type": type(exc).__name__, "message": str(exc).strip().splitlines()[0] if str(exc).strip() else "",
            "where": where}


def _own_workflows(module: Any) -> list[dict[str, Any]]:
    from slipstream.workflow import Workflow

    found = []
    for attr, value in vars(module).items():
        if isinstance(value, Workflow) and value.name.startswith(module.__name__ + "."):
            interface = getattr(value, "interface", None)
            inputs = list(interface.inputs) if interface is not None else []
            defaulted = interface is not None and all(n in interface.defaults for n in inputs)
            found.append({"attr": attr, "name": value.name, "defaulted": defaulted})
    return found


def _discover(file: str) -> dict[str, Any]:
    from slipstream.loader import load_file

    module = load_file(file)
    return {"ok": True, "workflows": _own_workflows(module)}


def _run(file: str, attr: str) -> dict[str, Any]:
    from slipstream.loader import load_file

    result = getattr(load_file(file), attr)()
    return {"ok": True, "result": repr(result)[:200]}


def _main_blocks(source: str) -> list[ast.stmt]:
    statements: list[ast.stmt] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) and "__name__" in ast.unparse(node.test):
            statements.extend(node.body)
    return statements


def _main(file: str) -> dict[str, Any]:
    from slipstream.builder import current_builder
    from slipstream.loader import load_file
    from slipstream.workflow import Workflow

    module = load_file(file)
    outcomes: dict[str, dict[str, Any]] = {}
    original = Workflow.__call__
    depth = [0]

    def recording_call(self: Workflow, *args: Any, **kwargs: Any) -> Any:
        if current_builder() is not None or depth[0]:
            return original(self, *args, **kwargs)
        depth[0] += 1
        try:
            value = original(self, *args, **kwargs)
        except BaseException as exc:
            outcomes.setdefault(self.name, {"ok": False, "error": _error(exc)})
            raise
        finally:
            depth[0] -= 1
        outcomes.setdefault(self.name, {"ok": True, "result": repr(value)[:200]})
        return value

    Workflow.__call__ = recording_call  # type: ignore[method-assign]
    namespace = vars(module)
    statement_errors = []
    for statement in _main_blocks(Path(file).read_text()):
        code = compile(ast.Module(body=[statement], type_ignores=[]), file, "exec")
        try:
            exec(code, namespace)  # the example's own __main__ code, as `python FILE` would run it
        except Exception as exc:
            statement_errors.append(_error(exc))
    return {"ok": True, "outcomes": outcomes, "statement_errors": statement_errors}


def main() -> None:
    mode, file, *rest = sys.argv[1:]
    if os.environ.get("FLYTE_EXAMPLES_EXTRA_PATH"):  # extra libraries, after site-packages (see --pythonpath)
        sys.path.append(os.environ["FLYTE_EXAMPLES_EXTRA_PATH"])
    out = Path(rest[-1])
    try:
        if mode == "discover":
            result = _discover(file)
        elif mode == "run":
            result = _run(file, rest[0])
        else:
            result = _main(file)
    except BaseException as exc:  # the example's failure is the measurement
        cause = exc.__cause__ if exc.__cause__ is not None and mode == "discover" else exc
        result = {"ok": False, "error": _error(cause)}
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
