"""Fast feedback for a new user: `slipstream sandbox start` and `stop` as typed, and (with --install) the
README's first command on a fresh virtual environment, each beside its goal (issue 11).

    python bench/fast_feedback.py                 # sandbox start and stop, 3 rounds (~1 minute)
    python bench/fast_feedback.py --install       # and the README's first command in a fresh venv (minutes)
    python bench/fast_feedback.py --suite         # and the README's test command's pytest run (minutes)

Start is the wall time of `slipstream sandbox start` (a new process: the CLI, then the sandbox process until
its API answers), with the CPU seconds the sandbox process spent until then (load-independent: on a loaded
machine wall time grows, CPU time does not). Stop is the wall time of `slipstream sandbox stop`, which returns
only once the process is gone (checked). Each round uses a scratch `SLIPSTREAM_HOME`, so a sandbox the user
runs is left alone. The 1-minute load average is printed: the machine's other work shows in every figure.

--install runs the first command of README.md's first bash block, as written, with its `.venv` replaced by a
scratch venv and the sandbox in a scratch home, from the repository root (`pip install -e .` writes its
`slipstream.egg-info` there, as any editable install does). pip's cache is whatever the machine has: run it
twice for the warm-cache figure the goal names. The command runs in three parts (the venv, pip, the rest),
so the packages in the venv are counted before and after the install and the install is timed apart; the
whole command's time is the three together.

--suite runs the pytest command that ends the README's second bash block, as written, in this interpreter's
environment (installed as that block installs it), and prints its wall time beside the 5-minute goal, with
the CPU seconds it used and the 1-min load average before it began.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START_GOAL = 3.0
STOP_GOAL = 3.0
INSTALL_GOAL = 90.0
SUITE_GOAL = 300.0


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLIPSTREAM_")}
    env["SLIPSTREAM_HOME"] = str(home)
    return env


def _cli(home: Path, *args: str, python: str = sys.executable) -> tuple[float, str]:
    began = time.perf_counter()
    done = subprocess.run([python, "-m", "slipstream", *args], cwd=ROOT, env=_env(home), capture_output=True,
                          text=True)
    took = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"`slipstream {' '.join(args)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return took, done.stdout


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def sandbox_round() -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="slipstream-bench-ff-"))
    try:
        start, _ = _cli(home, "sandbox", "start")
        state = json.loads((home / "sandbox" / "state.json").read_text())
        pid = int(state["pid"])
        cpu = _cpu_seconds(pid)
        stop, _ = _cli(home, "sandbox", "stop")
        if _alive(pid):
            raise SystemExit(f"`slipstream sandbox stop` returned while the sandbox process {pid} lived")
        log = (home / "sandbox" / "sandbox.log").read_text().splitlines()
        logged = [json.loads(line) for line in log if line.startswith("{")]
        started = next((line for line in logged if line.get("message", "").startswith("sandbox started")), {})
        return {"start": start, "start_cpu": cpu, "in_process": float(started.get("seconds", "nan")),
                "stop": stop}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _row(name: str, value: float, goal: float | None, note: str = "") -> None:
    verdict = "" if goal is None else ("ok" if value <= goal else "OVER")
    goal_text = f"≤ {goal:g} s" if goal is not None else ""
    print(f"  {name:<34} {value:8.2f} s   {goal_text:<8} {verdict:<4} {note}")


def bench_sandbox(rounds: int) -> None:
    results = [sandbox_round() for _ in range(rounds)]

    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    print(f"sandbox, median of {rounds} rounds (1-min load average {os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} cores)")
    _row("slipstream sandbox start", med("start"), START_GOAL,
         "rounds: " + ", ".join(f"{r['start']:.2f}" for r in results))
    _row("  of which the sandbox process", med("in_process"), None, "(its own start, from its log)")
    _row("  its CPU time until ready", med("start_cpu"), None, "(load-independent)")
    _row("slipstream sandbox stop", med("stop"), STOP_GOAL,
         "process gone on return: yes; rounds: " + ", ".join(f"{r['stop']:.2f}" for r in results))


def readme_command(block: int) -> str:
    """The first line of README.md's `block`-th (0-based) ```bash block."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    if len(blocks) <= block:
        raise SystemExit(f"README.md has fewer than {block + 1} ```bash blocks")
    return str(blocks[block]).strip().splitlines()[0]


def readme_first_command() -> str:
    return readme_command(0)


def _packages(venv: Path) -> int:
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
                          capture_output=True, text=True, check=True)
    return len(json.loads(done.stdout))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_install() -> None:
    command = readme_first_command()
    if ".venv" not in command or "pip install" not in command:
        raise SystemExit(f"README's first command no longer creates .venv and pip-installs: {command}")
    scratch = Path(tempfile.mkdtemp(prefix="slipstream-bench-install-"))
    venv, home = scratch / "venv", scratch / "home"
    # split where pip ends, to count the packages and time the install apart from the rest
    before_pip, _, after = command.partition("pip install")
    install_args, _, rest = after.partition(" && ")
    steps = [before_pip.rstrip(" &").replace(".venv", str(venv)),
             f"{venv}/bin/pip install{install_args}",
             ". " + str(venv / "bin" / "activate") + " && " + rest]
    try:
        began = time.perf_counter()
        subprocess.run(["bash", "-c", steps[0]], cwd=ROOT, env=_env(home), check=True)
        count_before = _packages(venv)
        installing, cpu_before = time.perf_counter(), _children_cpu()
        pip = subprocess.run(["bash", "-c", steps[1]], cwd=ROOT, env=_env(home), capture_output=True, text=True)
        installed, install_cpu = time.perf_counter() - installing, _children_cpu() - cpu_before
        if pip.returncode != 0:
            raise SystemExit(f"`{steps[1]}` failed ({pip.returncode}):\n{pip.stdout[-3000:]}{pip.stderr[-3000:]}")
        count_after = _packages(venv)
        done = subprocess.run(["bash", "-c", steps[2]], cwd=ROOT, env=_env(home), capture_output=True, text=True)
        total = time.perf_counter() - began
        if done.returncode != 0 or "helloworld" not in done.stdout:
            raise SystemExit(f"the README's first command failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        print(f"README's first command, fresh venv (1-min load average {os.getloadavg()[0]:.1f}):")
        print(f"  {command}")
        print(f"  packages in the venv: {count_before} before the install, {count_after} after")
        _row("pip install", installed, None, f"(CPU {install_cpu:.1f} s: load-independent)")
        _row("the whole command", total, INSTALL_GOAL, "(install, local run, sandbox start, register, remote run)")
    finally:
        if (venv / "bin" / "python").exists():
            subprocess.run([str(venv / "bin" / "python"), "-m", "slipstream", "sandbox", "stop"], cwd=ROOT,
                           env=_env(home), capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


def bench_suite() -> None:
    command = readme_command(1)
    pytest = command[command.rfind("python -m pytest"):]
    if not pytest.startswith("python -m pytest"):
        raise SystemExit(f"README's test command no longer ends with a pytest run: {command}")
    load = os.getloadavg()[0]
    began, cpu_before = time.perf_counter(), _children_cpu()
    done = subprocess.run(["bash", "-c", pytest.replace("python", sys.executable, 1)], cwd=ROOT,
                          capture_output=True, text=True)
    took, cpu = time.perf_counter() - began, _children_cpu() - cpu_before
    summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    if done.returncode != 0:
        raise SystemExit(f"the test suite failed ({done.returncode}): {summary}\n{done.stdout[-3000:]}")
    print(f"test suite, README's command (1-min load average {load:.1f} before it, {os.cpu_count()} cores):")
    print(f"  {pytest}")
    _row("the whole run", took, SUITE_GOAL, f"{summary}; CPU {cpu:.0f} s")


def main(argv: list[str] | None = None) -> Any:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="sandbox start/stop rounds (median printed)")
    parser.add_argument("--install", action="store_true", help="also the README's first command (minutes)")
    parser.add_argument("--suite", action="store_true", help="also the README's test command (minutes)")
    args = parser.parse_args(argv)
    bench_sandbox(args.rounds)
    if args.install:
        bench_install()
    if args.suite:
        bench_suite()


if __name__ == "__main__":
    main()
