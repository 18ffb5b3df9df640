"""Load user code from a file path and find the tasks, workflows and launch plans in it.

A file's module name is its dotted path from the first folder upward that is not a package, as
flytekit names it, so tasks keep the same names locally, in specs, and inside a pod.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from chalicelib.errors import SlipstreamError, UserError


def module_name_for(path: Path) -> tuple[Path, str]:
    """(source root, dotted module name) of a Python file."""
    path = path.resolve()
    parts = [path.stem]
    root = path.parent
    while (root / "__init__.py").exists():
        parts.insert(0, root.name)
        root = root.parent
    return root, ".".join(parts)


def load_file(path: str | Path) -> ModuleType:
    file = Path(path)
    if not file.is_file() or file.suffix != ".py":
        raise UserError(f"file [{path}] is not a Python file; give the path of a .py file")
    root, name = module_name_for(file)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        return importlib.import_module(name)
    except SlipstreamError:
        raise
    except Exception as exc:
        raise UserError(f"cannot load [{path}]: {type(exc).__name__}: {exc}") from exc


def _entity_types() -> tuple[type, ...]:
    from slipstream.launch_plan import LaunchPlan
    from slipstream.task import PythonTask
    from slipstream.workflow import Workflow

    return (PythonTask, Workflow, LaunchPlan)


def entities_in(module: ModuleType) -> list[Any]:
    """Tasks, workflows and launch plans defined (or imported) at the top level of `module`."""
    return [v for v in vars(module).values() if isinstance(v, _entity_types())]


def find_entity(module: ModuleType, name: str) -> Any:
    """The task, workflow or launch plan bound to `name` in `module`."""
    value = getattr(module, name, None)
    if isinstance(value, _entity_types()):
        return value
    known = sorted(attr for attr, v in vars(module).items() if isinstance(v, _entity_types()))
    raise UserError(f"[{name}] is not a task, workflow or launch plan in [{module.__file__}]; "
                    f"it has {', '.join(known) or 'none'}")


def python_files(paths: list[str]) -> list[Path]:
    """Every .py file under `paths`, sorted, skipping hidden folders and virtual environments."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in sorted(path.rglob("*.py"))
                         if not any(part.startswith(".") or part in ("__pycache__", "site-packages")
                                    for part in p.relative_to(path).parts[:-1]))
        else:
            raise UserError(f"path [{given}] does not exist")
    return files
