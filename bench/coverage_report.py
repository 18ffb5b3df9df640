"""Line coverage of chalicelib/ and slipstream/ over the test suite, subprocesses included.

    python bench/coverage_report.py                        # the whole suite (several minutes)
    python bench/coverage_report.py tests/e2e -k remote    # any pytest arguments

Prints the total and the 15 least-covered modules, and leaves the combined data, a JSON and an HTML report
in a scratch folder it names (`coverage html` reads the data again).

Much of the code runs outside pytest's process: the CLI tests run `python -m slipstream`, some tests start
the sandbox as a process of its own, and the sandbox runs every task as a process whose environment is
trimmed to what a pod gets (PATH, HOME, TMPDIR…), so COVERAGE_PROCESS_START cannot reach it. Every one of
them is measured: for the run, this script puts a start-up hook (a .pth file) into the virtual
environment's site-packages that starts coverage in any interpreter whose TMPDIR holds this run's
coverage configuration, and runs pytest with TMPDIR pointing there. Other interpreters of the environment
find no configuration and measure nothing; the hook is removed when the run ends. Each process writes its
own data file (parallel mode, also on SIGTERM), combined at the end. The sandbox's warm task runner starts
under the hook like any interpreter and forks every task; `patch = fork` restarts coverage in each child
with a data file of its own, and the child's exit runs atexit handlers, which save it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("chalicelib", "slipstream")
RC_NAME = "slipstream-coverage.rc"
SHOWN = 15


def _rc(work: Path) -> str:
    sources = ", ".join(str(ROOT / p) for p in PACKAGES)
    return (f"[run]\nsource = {sources}\nparallel = true\nsigterm = true\npatch = fork\n"
            f"data_file = {work / '.coverage'}\n"
            f"[report]\nskip_empty = true\n")


def _hook(work: Path) -> Path:
    """The .pth that starts coverage at interpreter start-up when TMPDIR holds the configuration. It sorts
    before coverage's own a1_coverage.pth, which then finds coverage started."""
    line = (f"import os; _rc = os.path.join(os.environ.get('TMPDIR') or '/nonexistent', {RC_NAME!r}); "
            "os.path.isfile(_rc) and os.environ.setdefault('COVERAGE_PROCESS_START', _rc) and "
            "__import__('coverage').process_startup()\n")
    hook = Path(sysconfig.get_paths()["purelib"]) / f"a0_slipstream_coverage_{os.getpid()}.pth"
    hook.write_text(line)
    return hook


def _coverage(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coverage", *args, f"--rcfile={work / RC_NAME}"], cwd=work,
                          capture_output=True, text=True, check=True)


def _least_covered(report: dict, count: int) -> list[tuple[str, int, int, float]]:
    rows = []
    for path, data in report["files"].items():
        summary = data["summary"]
        module = Path(path).resolve().relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
        rows.append((module, summary["num_statements"], summary["missing_lines"], summary["percent_covered"]))
    return sorted(rows, key=lambda r: (r[3], -r[2]))[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest (default: tests)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="slipstream-coverage-"))
    (work / RC_NAME).write_text(_rc(work))
    hook = _hook(work)
    env = {**os.environ, "TMPDIR": str(work), "COVERAGE_PROCESS_START": str(work / RC_NAME)}
    try:
        tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                *(args.pytest_args or ["tests"])], cwd=ROOT, env=env)
    finally:
        hook.unlink()
    processes = len(list(work.glob(".coverage.*")))
    _coverage(work, "combine")
    _coverage(work, "json", "-o", str(work / "coverage.json"))
    _coverage(work, "html", "-d", str(work / "html"))
    report = json.loads((work / "coverage.json").read_text())
    totals = report["totals"]
    print(f"\nline coverage of {', '.join(PACKAGES)}: {totals['percent_covered']:.1f}% "
          f"({totals['covered_lines']} of {totals['num_statements']} statements, {processes} processes measured)")
    print(f"{SHOWN} least covered:  statements  missing  covered")
    for module, statements, missing, percent in _least_covered(report, SHOWN):
        print(f"  {module:<40} {statements:>6} {missing:>8} {percent:>7.1f}%")
    print(f"data and reports: {work} (pytest exited {tests.returncode})")
    return tests.returncode


if __name__ == "__main__":
    sys.exit(main())
