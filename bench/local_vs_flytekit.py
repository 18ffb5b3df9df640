"""slipstream's SDK and local engine beside flytekit's, measured the same way in the same run.

    python bench/local_vs_flytekit.py [--flytekit-python PATH] [--import-runs 11] [--min-seconds 1.0]

flytekit is not a dependency of the project: unless --flytekit-python (or $FLYTEKIT_PYTHON) names an
interpreter that has it, the bench creates bench/.venv-flytekit from this interpreter and pip-installs
flytekit there (once). Each SDK is measured in its own subprocess, the same way:

  (a) SDK import time: median of fresh `python -c "import <sdk>"` processes, raw and net of `python -c "pass"`;
  (b) one call of the seed example (examples/hello.py's my_wf) after warm-up;
  (c) per-node overhead of a 100-task chain and of a 100-wide fan-out into a sum (101 nodes);
  (d) a map task over 1,000 items.

Targets: import <= 1/5 of flytekit's; per-node local overhead <= 1/10 of flytekit's.
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
from typing import Any

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-flytekit"
QUIET = {"FLYTE_SDK_LOGGING_LEVEL": "40", "PYTHONWARNINGS": "ignore"}
CHAIN_NODES, FANOUT_NODES, MAP_ITEMS = 100, 101, 1000  # the fan-out is 100 incs and one sum


def has_flytekit(python: str) -> bool:
    return subprocess.run([python, "-c", "import flytekit"], capture_output=True,
                          env={**os.environ, **QUIET}).returncode == 0


def flytekit_python(given: str | None, spec: str) -> str:
    """An interpreter with flytekit: the one given, else bench/.venv-flytekit (created and filled if need be)."""
    if given:
        if not has_flytekit(given):
            raise SystemExit(f"{given} cannot import flytekit")
        return given
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV.relative_to(HERE.parent)} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not has_flytekit(str(python)):
        print(f"installing {spec} into {VENV.relative_to(HERE.parent)} (once; takes a minute) ...", file=sys.stderr)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec],
                       check=True)
    return str(python)


def _run_once(argv: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{argv} failed:\n{done.stderr.decode(errors='replace')}")
    return elapsed


def import_times(pythons: dict[str, str], runs: int, env: dict[str, str], cwd: str) -> dict[str, dict[str, float]]:
    """Median wall time of fresh interpreters importing each SDK, and of `python -c pass` in the same
    interpreter. Rounds interleave the SDKs so that drift in machine load hits both alike."""
    samples: dict[str, dict[str, list[float]]] = {sdk: {"raw": [], "base": []} for sdk in pythons}
    for _ in range(runs):
        for sdk, python in pythons.items():
            samples[sdk]["raw"].append(_run_once([python, "-c", f"import {sdk}"], env, cwd))
            samples[sdk]["base"].append(_run_once([python, "-c", "pass"], env, cwd))
    out = {}
    for sdk, s in samples.items():
        raw, base = statistics.median(s["raw"]), statistics.median(s["base"])
        out[sdk] = {"raw": raw, "base": base, "net": raw - base}
    return out


def measure(python: str, sdk: str, min_seconds: float, env: dict[str, str], home: str) -> dict[str, Any]:
    out = Path(home) / f"{sdk}.json"
    done = subprocess.run([python, str(HERE / "_measure.py"), sdk, str(out), "--min-seconds", str(min_seconds)],
                          env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode:
        raise SystemExit(f"measuring {sdk} failed:\n{done.stderr.decode(errors='replace')}")
    return json.loads(out.read_text())


def rows(imports: dict[str, dict[str, float]], ours: dict[str, Any],
         theirs: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    """(label, slipstream, flytekit, runs) with times already in the label's unit."""
    ms, us = 1e3, 1e6

    def med(result: dict[str, Any], key: str) -> float:
        return result[key]["median_s"]

    def runs(key: str) -> str:
        return f"{ours[key]['runs']}/{theirs[key]['runs']}"

    s, f = imports["slipstream"], imports["flytekit"]
    return [
        ("(a) import, raw (ms)", s["raw"] * ms, f["raw"] * ms, ""),
        ("(a) python -c pass, baseline (ms)", s["base"] * ms, f["base"] * ms, ""),
        ("(a) import, net of baseline (ms)", s["net"] * ms, f["net"] * ms, ""),
        ("(b) seed example my_wf, per call (us)", med(ours, "seed") * us, med(theirs, "seed") * us, runs("seed")),
        ("(c) 100-task chain, per call (ms)", med(ours, "chain_100") * ms, med(theirs, "chain_100") * ms,
         runs("chain_100")),
        ("(c) 100-task chain, per node (us)", med(ours, "chain_100") * us / CHAIN_NODES,
         med(theirs, "chain_100") * us / CHAIN_NODES, ""),
        ("(c) 100-wide fan-out + sum, per call (ms)", med(ours, "fanout_100") * ms, med(theirs, "fanout_100") * ms,
         runs("fanout_100")),
        ("(c) 100-wide fan-out + sum, per node (us)", med(ours, "fanout_100") * us / FANOUT_NODES,
         med(theirs, "fanout_100") * us / FANOUT_NODES, ""),
        ("(d) map_task over 1,000 items, per call (ms)", med(ours, "map_1000") * ms, med(theirs, "map_1000") * ms,
         runs("map_1000")),
        ("(d) map_task over 1,000 items, per item (us)", med(ours, "map_1000") * us / MAP_ITEMS,
         med(theirs, "map_1000") * us / MAP_ITEMS, ""),
    ]


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def report(table: list[tuple[str, float, float, str]], ours: dict[str, Any], theirs: dict[str, Any],
           flyte: str) -> None:
    print(f"slipstream {ours['sdk_version']} (python {ours['python']}, {sys.executable})")
    print(f"flytekit   {theirs['sdk_version']} (python {theirs['python']}, {flyte})")
    print("medians; ratio = flytekit / slipstream; runs = timed calls slipstream/flytekit\n")
    print(f"{'measure':<46}{'slipstream':>12}{'flytekit':>12}{'ratio':>10}{'runs':>14}")
    print("-" * 94)
    for label, a, b, n in table:
        ratio = f"{b / a:.1f}x" if a > 0 else "n/a"
        print(f"{label:<46}{a:>12.3f}{b:>12.3f}{ratio:>10}{n:>14}")
    value = {label: (a, b) for label, a, b, _ in table}
    raw = value["(a) import, raw (ms)"]
    net = value["(a) import, net of baseline (ms)"]
    chain = value["(c) 100-task chain, per node (us)"]
    fan = value["(c) 100-wide fan-out + sum, per node (us)"]
    print("\ntargets:")
    print(f"  import <= 1/5 of flytekit's:   net {net[0]:.1f} ms vs limit {net[1] / 5:.1f} ms -> "
          f"{verdict(net[0] <= net[1] / 5)}; raw {raw[0]:.1f} ms vs limit {raw[1] / 5:.1f} ms -> "
          f"{verdict(raw[0] <= raw[1] / 5)}")
    for name, (a, b) in (("chain", chain), ("fan-out", fan)):
        print(f"  per-node overhead <= 1/10 ({name}): {a:.2f} us vs limit {b / 10:.2f} us -> "
              f"{verdict(a <= b / 10)}")
    nodes = ours.get("nodes_run")
    if nodes:
        print(f"\nslipstream nodes run per call: seed {nodes['seed']}, chain {nodes['chain_100']}, "
              f"fan-out {nodes['fanout_100']}, map items {nodes['map_1000']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flytekit-python", default=os.environ.get("FLYTEKIT_PYTHON") or None,
                        help="an interpreter that has flytekit (default: bench/.venv-flytekit, made if missing)")
    parser.add_argument("--flytekit-spec", default="flytekit",
                        help="what to pip-install into bench/.venv-flytekit (default: flytekit)")
    parser.add_argument("--import-runs", type=int, default=11, help="fresh processes per import measurement")
    parser.add_argument("--min-seconds", type=float, default=1.0,
                        help="time each workload for at least this long (and at least 3 calls)")
    args = parser.parse_args()
    flyte = flytekit_python(args.flytekit_python, args.flytekit_spec)
    with tempfile.TemporaryDirectory(prefix="slipstream-bench-") as home:
        # cwd and SLIPSTREAM_HOME are a scratch directory, so neither SDK picks up files from the repository.
        env = {**os.environ, **QUIET, "SLIPSTREAM_HOME": home}
        print("measuring import times ...", file=sys.stderr)
        imports = import_times({"slipstream": sys.executable, "flytekit": flyte}, args.import_runs, env, home)
        print("measuring slipstream workloads ...", file=sys.stderr)
        ours = measure(sys.executable, "slipstream", args.min_seconds, env, home)
        print("measuring flytekit workloads ...", file=sys.stderr)
        theirs = measure(flyte, "flytekit", args.min_seconds, env, home)
    report(rows(imports, ours, theirs), ours, theirs, flyte)


if __name__ == "__main__":
    main()
