"""How much of Flyte's public example code runs on slipstream with a change of imports (issue 10, part 3).

    python bench/flyte_examples.py /tmp/flytesnacks/examples [--timeout 60] [--jobs 2] [--json FILE] [--all]
    python bench/flyte_examples.py /tmp/flytesnacks/examples --pythonpath /tmp/flyte-libs   # after
        pip install --target /tmp/flyte-libs pandas numpy scikit-learn joblib dataclasses_json

Given a directory of Flyte examples (flytesnacks' `examples/`, checked out anywhere outside this repository),
the bench copies every Python file into a scratch folder, rewriting its flytekit imports to slipstream
(`from flytekit import …` → `from slipstream import …`, `import flytekit` → `import slipstream as flytekit`,
`FlyteFile` / `FlyteDirectory` → `File` / `Directory`). A name imported from a flytekit submodule
(`from flytekit.core.task import task`, `from flytekit.extras.tasks.shell import ShellTask`) comes from
`slipstream` when slipstream exports it — slipstream keeps one public module, so the change of imports a user
makes is to `from slipstream import …`; names it does not export stay on `slipstream.x.y`, which fails: that
is measured).
Files that define a @task, @workflow or @dynamic are then sorted by what they import: a flytekit plugin
(`flytekitplugins.*`: "needs a plugin"), a third-party library this interpreter cannot import ("needs a
library"), or only the standard library, flytekit and their own project's modules ("core-only").

Each core-only file is loaded in a fresh interpreter (`bench/_flyte_example_run.py`); each workflow it defines
is run locally in another: called with no arguments when every input has a default, else through the file's
`if __name__ == "__main__":` block when that block calls it; other workflows are counted but not run. Every
subprocess has a timeout. Failures are grouped by their normalised error message, most frequent first.
"""

from __future__ import annotations

import argparse
import ast
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_flyte_example_run.py"
EXTRA_PATH = "FLYTE_EXAMPLES_EXTRA_PATH"
DECORATORS = {"task", "workflow", "dynamic"}
RENAMES = {"FlyteFile": "File", "FlyteDirectory": "Directory"}  # in any flytekit module
ATTRIBUTE_RENAMES = {"flytekit.types.file.FlyteFile": "flytekit.File",
                     "flytekit.types.directory.FlyteDirectory": "flytekit.Directory"}


@dataclass
class Example:
    path: Path  # in the scratch copy
    rel: str
    category: str = "core-only"  # or "needs a plugin", "needs a library"
    missing: list[str] = field(default_factory=list)
    lacks: list[str] = field(default_factory=list)  # flytekit names/modules slipstream has no equivalent of
    main_calls: set[str] = field(default_factory=set)
    load_error: dict[str, str] | None = None
    workflows: list[dict[str, Any]] = field(default_factory=list)


def rewrite_imports(source: str) -> str:
    """The source with flytekit's imports turned into slipstream's, line numbers kept."""
    lines = source.splitlines(keepends=True)
    for node in sorted(_flytekit_imports(ast.parse(source)), key=lambda n: n.lineno, reverse=True):
        indent = lines[node.lineno - 1][: node.col_offset]
        span = node.end_lineno - node.lineno + 1  # type: ignore[operator]
        rewritten = _rewritten(node)
        text = "; ".join(ast.unparse(n) for n in (rewritten if isinstance(rewritten, list) else [rewritten]))
        lines[node.lineno - 1: node.end_lineno] = [indent + text + "\n"] + ["\n"] * (span - 1)
    text = "".join(lines)
    for old, new in ATTRIBUTE_RENAMES.items():
        text = text.replace(old, new)
    return text


def _flytekit_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in ast.walk(tree):
        from_flytekit = isinstance(node, ast.ImportFrom) and node.level == 0 and _is_flytekit(node.module or "")
        if from_flytekit or isinstance(node, ast.Import) and any(_is_flytekit(a.name) for a in node.names):
            found.append(node)
    return found


def _is_flytekit(module: str) -> bool:
    return module == "flytekit" or module.startswith("flytekit.")


def _rewritten(node: ast.Import | ast.ImportFrom) -> ast.stmt | list[ast.stmt]:
    if isinstance(node, ast.Import):
        names = [ast.alias("slipstream", a.asname or "flytekit") if _is_flytekit(a.name) else a for a in node.names]
        return ast.Import(names=names)
    module = node.module or ""
    exported = [a for a in node.names if _exported(a.name)]
    renamed = [ast.alias(RENAMES.get(a.name, a.name), a.asname or (a.name if a.name in RENAMES else None))
               for a in exported]
    rest = [a for a in node.names if not _exported(a.name)]
    statements: list[ast.stmt] = []
    if renamed:
        statements.append(ast.ImportFrom(module="slipstream", names=renamed, level=0))
    if rest:
        statements.append(ast.ImportFrom(module="slipstream" + module[len("flytekit"):], names=rest, level=0))
    return statements


def _exported(name: str) -> bool:
    import slipstream

    return name != "*" and hasattr(slipstream, RENAMES.get(name, name))


def classify(tree: ast.AST, project_root: Path) -> tuple[str, list[str]]:
    """("core-only" | "needs a plugin" | "needs a library", the modules that put it there)."""
    plugins, libraries = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top == "flytekitplugins":
                plugins.add(module)
            elif top == "flytekit" or top in sys.stdlib_module_names or _is_local(top, project_root):
                continue
            elif not _importable(top):
                libraries.add(top)
    if plugins:
        return "needs a plugin", sorted(plugins)
    if libraries:
        return "needs a library", sorted(libraries)
    return "core-only", []


def _importable(top: str) -> bool:
    try:
        return find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def missing_names(tree: ast.AST) -> list[str]:
    """Names imported from flytekit (any module) that slipstream does not export; `flytekit.x.y` for a
    star import of a submodule."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _is_flytekit(node.module or ""):
            names += [a.name if a.name != "*" else node.module or "" for a in node.names if not _exported(a.name)]
    return names


def _is_local(top: str, project_root: Path) -> bool:
    return (project_root / top).is_dir() or (project_root / f"{top}.py").is_file()


def defines_entities(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name in DECORATORS:
                    return True
    return False


def main_block_calls(tree: ast.Module) -> set[str]:
    """Names called inside the module's `if __name__ == "__main__":` blocks."""
    calls: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            calls.update(n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name))
    return calls


def project_root_of(path: Path) -> Path:
    root = path.parent
    while (root / "__init__.py").exists():
        root = root.parent
    return root


def prepare(source_dir: Path, scratch: Path) -> list[Example]:
    """Copy the examples into `scratch` (flytekit imports rewritten) and the files that define tasks or workflows."""
    shutil.copytree(source_dir, scratch, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git", "*.ipynb"))
    examples = []
    for path in sorted(scratch.rglob("*.py")):
        source = path.read_text(errors="replace")
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        path.write_text(rewrite_imports(source))
        if not defines_entities(tree):
            continue
        example = Example(path, str(path.relative_to(scratch)))
        example.category, example.missing = classify(tree, project_root_of(path))
        example.main_calls = main_block_calls(tree)
        example.lacks = missing_names(tree)
        examples.append(example)
    return examples


def _worker(args: list[str], cwd: Path, home: Path, timeout: float) -> dict[str, Any]:
    fd, out = tempfile.mkstemp(suffix=".json", dir=home)
    os.close(fd)
    env = {**os.environ, "SLIPSTREAM_HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        subprocess.run([sys.executable, str(WORKER), *args, out], cwd=cwd, env=env, timeout=timeout,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        text = Path(out).read_text()
        return json.loads(text) if text else {"ok": False, "error": {"type": "Crash", "message": "no result"}}
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": {"type": "Timeout", "message": f"no result within {timeout:g} s"}}
    finally:
        Path(out).unlink(missing_ok=True)


def measure(example: Example, home: Path, timeout: float) -> None:
    cwd = project_root_of(example.path)
    found = _worker(["discover", str(example.path)], cwd, home, timeout)
    if not found["ok"]:
        example.load_error = found["error"]
        return
    example.workflows = found["workflows"]
    via_main = [w for w in example.workflows if not w["defaulted"] and w["attr"] in example.main_calls]
    for wf in example.workflows:
        if wf["defaulted"]:
            wf["how"], wf["outcome"] = "defaults", _worker(["run", str(example.path), wf["attr"]], cwd, home, timeout)
    if via_main:
        ran = _worker(["main", str(example.path)], cwd, home, timeout)
        for wf in via_main:
            wf["how"] = "__main__"
            if not ran["ok"]:
                wf["outcome"] = ran
            else:
                wf["outcome"] = ran["outcomes"].get(wf["name"]) or {
                    "ok": False, "error": (ran["statement_errors"] or [{"type": "NotCalled", "message":
                                                                         "the __main__ block did not call it"}])[0]}


def reason(error: dict[str, str]) -> str:
    """An error message with what is specific to one example (paths, names in brackets, numbers) taken out."""
    message = re.sub(r"cannot load \[[^\]]*\]: ", "", error.get("message", ""))
    message = re.sub(r"(/[\w.\-]+)+", "<path>", message)
    message = re.sub(r"\[[^\]]*\]", "[…]", message)
    message = re.sub(r"\b0x[0-9a-f]+\b|\b\d+(\.\d+)?\b", "N", message)
    return f"{error.get('type', '?')}: {message}"[:160]


def report(examples: list[Example], show_all: bool) -> dict[str, Any]:
    categories = collections.Counter(e.category for e in examples)
    core = [e for e in examples if e.category == "core-only"]
    loaded = [e for e in core if e.load_error is None]
    workflows = [w for e in loaded for w in e.workflows]
    ran = [w for w in workflows if "outcome" in w]
    ok = [w for w in ran if w["outcome"]["ok"]]
    figures = {
        "files found (define @task/@workflow/@dynamic)": len(examples),
        "needs a plugin (flytekitplugins)": categories["needs a plugin"],
        "needs a library not installed here": categories["needs a library"],
        "files core-only": len(core),
        "core-only files imported OK": len(loaded),
        "workflows found (in those files)": len(workflows),
        "workflows runnable (defaults or __main__)": len(ran),
        "workflows run OK": len(ok),
    }
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value:>5}")
    libraries = collections.Counter(m.split(".")[0] for e in examples if e.category == "needs a library"
                                    for m in e.missing)
    print("\nlibraries missing (files):", ", ".join(f"{k} {v}" for k, v in libraries.most_common(10)))
    lacking = collections.Counter(n for e in examples for n in set(e.lacks))
    print(f"flytekit names and modules slipstream lacks, in all {len(examples)} files (files):",
          ", ".join(f"{k} {v}" for k, v in lacking.most_common(20)))
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for e in core:
        if e.load_error is not None:
            groups["import: " + reason(e.load_error)].append(f"{e.rel} ({e.load_error.get('where', '')})")
    for e in loaded:
        for w in e.workflows:
            if "outcome" in w and not w["outcome"]["ok"]:
                groups["run: " + reason(w["outcome"]["error"])].append(f"{e.rel}::{w['attr']} via {w['how']} "
                                                                       f"({w['outcome']['error'].get('where', '')})")
    print("\nfailures by reason (count, reason, one example):")
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    for key, where in ranked if show_all else ranked[:15]:
        print(f"{len(where):>4}  {key}\n      e.g. {where[0]}")
    return {"figures": figures, "failures": {k: v for k, v in ranked},
            "examples": [{"file": e.rel, "category": e.category, "missing": e.missing, "load_error": e.load_error,
                          "workflows": e.workflows} for e in examples]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("examples", type=Path, help="a folder of Flyte examples, e.g. flytesnacks' examples/")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per subprocess (load, or one run)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write every file's and workflow's outcome here")
    parser.add_argument("--all", action="store_true", help="print every failure group, not the top 15")
    parser.add_argument("--pythonpath", type=Path, help="a folder of extra libraries (pip install --target DIR "
                        "pandas …) that the examples may import: appended to sys.path here and in every subprocess")
    args = parser.parse_args()
    if not args.examples.is_dir():
        parser.error(f"examples folder [{args.examples}] does not exist; give a checkout of flytesnacks' examples/")
    if args.pythonpath:  # after site-packages, so that the venv's own packages win over the folder's copies
        sys.path.append(str(args.pythonpath.resolve()))
        os.environ[EXTRA_PATH] = str(args.pythonpath.resolve())
    with tempfile.TemporaryDirectory(prefix="flyte-examples-") as tmp:
        scratch, home = Path(tmp) / "examples", Path(tmp) / "home"
        home.mkdir()
        examples = prepare(args.examples.resolve(), scratch)
        core = [e for e in examples if e.category == "core-only"]
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            list(pool.map(lambda e: measure(e, home, args.timeout), core))
        data = report(examples, args.all)
    if args.json:
        args.json.write_text(json.dumps(data, indent=1, default=str))


if __name__ == "__main__":
    main()
