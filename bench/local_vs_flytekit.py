"""slipstream's SDK and local engine beside flytekit's, measured the same way in the same run.

    python bench/local_vs_flytekit.py [--flytekit-python PATH]

flytekit is not a dependency of the project: unless --flytekit-python names an interpreter that has it,
the bench creates bench/.venv-flytekit and installs flytekit there (once). Each side runs in its own
interpreter: (a) import time, median of fresh processes; (b) one call of the seed example after warm-up;
(c) per-node overhead of a 100-task chain and of a 100-wide fan-out into a sum; (d) a map task over
1,000 items. Targets: import ≤ 1/5 of flytekit's, per-node local overhead ≤ 1/10 of flytekit's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-flytekit"


def flytekit_python(given: str | None) -> str:
    if given:
        return given
    python = VENV / "bin" / "python"
    if not python.exists():
        print("creating bench/.venv-flytekit and installing flytekit (once)...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "flytekit"], check=True)
    return str(python)


def import_time(python: str, module: str, runs: int = 7) -> float:
    times = []
    env = {**os.environ, "FLYTE_SDK_LOGGING_LEVEL": "40"}
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([python, "-c", f"import {module}"], check=True, env=env, capture_output=True)
        times.append(time.perf_counter() - start)
    baseline = statistics.median(
        [_time([python, "-c", "pass"]) for _ in range(runs)])
    return statistics.median(times) - baseline


def _time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def measure(python: str, which: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        out = Path(home) / "out.json"
        env = {**os.environ, "SLIPSTREAM_HOME": home, "FLYTE_SDK_LOGGING_LEVEL": "40", "PYTHONWARNINGS": "ignore"}
        subprocess.run([python, str(HERE / "_measure.py"), which, str(out)], check=True, env=env, cwd=home,
                       stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flytekit-python", default=os.environ.get("FLYTEKIT_PYTHON"))
    args = parser.parse_args()
    flyte = flytekit_python(args.flytekit_python)
    rows = []
    ours, theirs = import_time(sys.executable, "slipstream"), import_time(flyte, "flytekit")
    rows.append(("(a) SDK import (ms)", ours * 1000, theirs * 1000))
    mine, peer = measure(sys.executable, "slipstream"), measure(flyte, "flytekit")
    rows.append(("(b) seed example call (ms)", mine["seed_call_s"] * 1000, peer["seed_call_s"] * 1000))
    rows.append(("(c) 100-task chain, per node (ms)", mine["chain_100_s"] * 10, peer["chain_100_s"] * 10))
    rows.append(("(c) 100-wide fan-out + sum, per node (ms)", mine["fanout_100_s"] * 1000 / 101,
                 peer["fanout_100_s"] * 1000 / 101))
    rows.append(("(d) map task over 1,000 items (ms)", mine["map_1000_s"] * 1000, peer["map_1000_s"] * 1000))
    print(f"{'measure':<44}{'slipstream':>12}{'flytekit':>12}{'ratio':>9}")
    for name, a, b in rows:
        print(f"{name:<44}{a:>12.3f}{b:>12.3f}{b / a:>8.1f}x")
    import_ok = rows[0][1] <= rows[0][2] / 5
    node_ok = all(r[1] <= r[2] / 10 for r in rows[2:4])
    print(f"targets: import <= 1/5 of flytekit's: {'met' if import_ok else 'MISSED'}; "
          f"per-node overhead <= 1/10 of flytekit's: {'met' if node_ok else 'MISSED'}")


if __name__ == "__main__":
    main()
