"""Reading the task image's Dockerfile without a Docker engine: its instructions, and the build context its
`.dockerignore` admits (so a test can install that context as `docker build` would)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "infra" / "image" / "Dockerfile"
DOCKERIGNORE = DOCKERFILE.with_name("Dockerfile.dockerignore")
_FLAG = re.compile(r"--([a-z-]+)(?:=(\S+))?")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # FROM, RUN, USER, … (upper case)
    flags: dict[str, str]  # --mount=…, --from=…, --chown=…
    value: str  # the rest, continuation lines joined
    line: int


def instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """The Dockerfile's instructions in order; comments and parser directives dropped, `\\` continuations
    joined (comment lines inside a continuation are skipped, as Docker does)."""
    found: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = pending + stripped
        pending = ""
        keyword, _, rest = text.partition(" ")
        flags: dict[str, str] = {}
        rest = rest.strip()
        while rest.startswith("--"):
            token, _, rest = rest.partition(" ")
            match = _FLAG.fullmatch(token)
            assert match, f"line {start}: cannot read flag {token!r}"
            flags[match.group(1)] = match.group(2) or ""
            rest = rest.strip()
        found.append(Instruction(keyword.upper(), flags, rest, start))
    assert not pending, f"{path}: ends inside a line continuation"
    return found


def shell_commands(run: Instruction) -> list[list[str]]:
    """A RUN's shell form split into its `&&` / `;` separated commands, each as argv."""
    commands: list[list[str]] = [[]]
    for word in shlex.split(run.value, posix=True):
        if word in ("&&", ";", "||"):
            commands.append([])
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


def _pattern(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


@dataclass(frozen=True)
class IgnoreRule:
    excludes: bool  # False for a `!` line, which lets paths back in
    text: str
    pattern: re.Pattern[str]


def ignore_rules(path: Path = DOCKERIGNORE) -> list[IgnoreRule]:
    """The rules, in order: the last rule that matches a path or one of its parents decides."""
    rules = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        cleaned = line.lstrip("!").strip().strip("/")
        rules.append(IgnoreRule(not negated, cleaned, _pattern(cleaned)))
    return rules


def admitted(relative: str, rules: list[IgnoreRule]) -> bool:
    """Whether `relative` (a POSIX path under the context root) reaches the build, by Docker's rules."""
    parts = relative.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for rule in rules:
        if any(rule.pattern.fullmatch(c) for c in candidates):
            excluded = rule.excludes
    return not excluded


def _may_let_back(directory: str, rules: list[IgnoreRule]) -> bool:
    """Whether a `!` rule could admit something under an excluded `directory` (else the walk skips it)."""
    for rule in rules:
        if rule.excludes:
            continue
        prefix = re.split(r"[*?\[]", rule.text)[0]
        if not prefix or prefix.startswith(directory + "/") or directory.startswith(prefix):
            return True
    return False


def context_files(root: Path = ROOT, dockerignore: Path = DOCKERIGNORE) -> list[str]:
    """Every file (or link) of the repository tree that the build context holds, as POSIX paths."""
    rules = ignore_rules(dockerignore)
    found = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix()
        base = "" if base == "." else base + "/"
        dirs[:] = sorted(d for d in dirs if admitted(base + d, rules) or _may_let_back(base + d, rules))
        for name in files + [d for d in dirs if (Path(folder) / d).is_symlink()]:
            if admitted(base + name, rules):
                found.append(base + name)
    return sorted(found)


def copy_context(target: Path, root: Path = ROOT, dockerignore: Path = DOCKERIGNORE) -> list[str]:
    """Lay out the build context under `target` as the Docker client would send it (links kept as links)."""
    files = context_files(root, dockerignore)
    for relative in files:
        source, destination = root / relative, target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            destination.symlink_to(source.readlink())
        else:
            shutil.copy2(source, destination)
    return files
