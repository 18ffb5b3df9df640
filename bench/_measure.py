"""Runs inside one interpreter (slipstream's, or flytekit's venv) and writes timings as JSON to OUT.json.

    python bench/_measure.py slipstream|flytekit OUT.json [--min-seconds 1.0]

Both SDKs get the same workloads (workloads_slipstream.py / workloads_flytekit.py) and the same timing loop:
check the results, warm up, then time single calls with time.perf_counter until at least `--min-seconds`
have passed and at least 3 calls were made, and report the median. Nothing is printed to stdout: the
caller reads OUT.json, so whatever an SDK logs cannot spoil the results.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

MAP_ITEMS = 1000


def timed(fn: Callable[[], Any], min_seconds: float, min_runs: int = 3, max_runs: int = 200_000,
          warmup: int = 2) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < min_seconds and len(times) < max_runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sdk", choices=["slipstream", "flytekit"])
    parser.add_argument("out")
    parser.add_argument("--min-seconds", type=float, default=1.0)
    args = parser.parse_args()
    if args.sdk == "slipstream":
        import workloads_slipstream as w
        sdk = sys.modules["slipstream"]
    else:
        import workloads_flytekit as w
        sdk = sys.modules["flytekit"]

    # The workloads must compute the right thing before their timings mean anything.
    xs = list(range(MAP_ITEMS))
    checks = {
        "seed": tuple(w.my_wf(a=50, b="hello")) == (52, "helloworld"),
        "chain": w.chain(x=0) == 100,
        "fanout": w.fanout(x=0) == sum(range(1, 101)),
        "map": list(w.mapped(xs=xs)) == [x + 1 for x in xs],
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        raise SystemExit(f"{args.sdk}: wrong results from {failed}")

    results: dict[str, Any] = {
        "sdk_version": getattr(sdk, "__version__", "?"),
        "python": platform.python_version(),
        "seed": timed(lambda: w.my_wf(a=50, b="hello"), args.min_seconds),
        "chain_100": timed(lambda: w.chain(x=0), args.min_seconds),
        "fanout_100": timed(lambda: w.fanout(x=0), args.min_seconds),
        "map_1000": timed(lambda: w.mapped(xs=xs), args.min_seconds),
    }
    if args.sdk == "slipstream":  # how many nodes the local engine actually ran (flytekit has no such record)
        from slipstream.local import execute_locally

        results["nodes_run"] = {
            "seed": len(execute_locally(w.my_wf, {"a": 50, "b": "hello"}).records),
            "chain_100": len(execute_locally(w.chain, {"x": 0}).records),
            "fanout_100": len(execute_locally(w.fanout, {"x": 0}).records),
            "map_1000": len(execute_locally(w.mapped, {"xs": xs}).records),
        }
    Path(args.out).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
