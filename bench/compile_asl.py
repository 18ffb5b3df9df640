"""Compile time and definition size of large workflows: IR → closure → plan → Amazon States Language.

    python bench/compile_asl.py            # 1,000- and 5,000-node chains and fan-outs

Targets: compiling 5,000 nodes within 2 s; every definition under Step Functions' 1 MB limit.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from chalicelib.compiler import compile_workflow
from chalicelib.compiler.asl import MAX_DEFINITION_BYTES, compile_asl
from chalicelib.compiler.plan import build_plan

TASK = {
    "kind": "task", "schema_version": 1, "task_type": "python",
    "id": {"project": "bench", "domain": "development", "name": "bench.inc", "version": "v1"},
    "interface": {"inputs": [{"name": "x", "type": {"simple": "integer"}}],
                  "outputs": [{"name": "o0", "type": {"simple": "integer"}}]},
    "function": {"module": "bench", "name": "inc"},
    "metadata": {"cache": False, "cache_version": "", "retries": 1, "timeout_seconds": 600, "interruptible": False},
    "container": {"image": None, "requests": {}, "limits": {}, "environment": {}, "secrets": []},
}
TASK_KEY = "bench/development/bench.inc@v1"


def workflow(shape: str, size: int) -> dict[str, Any]:
    """A chain (each node feeds the next) or a fan-out (all from the input, then one sum-like join)."""
    nodes = []
    for i in range(size):
        if shape == "chain":
            source = {"input": "x"} if i == 0 else {"promise": {"node": f"n{i - 1}", "output": "o0"}}
        else:
            source = {"input": "x"}
        nodes.append({"id": f"n{i}", "kind": "task", "task": TASK["id"], "inputs": {"x": source}, "upstream": []})
    return {
        "kind": "workflow", "schema_version": 1,
        "id": {"project": "bench", "domain": "development", "name": f"bench.{shape}{size}", "version": "v1"},
        "interface": {"inputs": [{"name": "x", "type": {"simple": "integer"}}],
                      "outputs": [{"name": "o0", "type": {"simple": "integer"}}]},
        "nodes": nodes, "outputs": {"o0": {"promise": {"node": f"n{size - 1}", "output": "o0"}}},
    }


def measure(shape: str, size: int, repeats: int) -> dict[str, Any]:
    spec = workflow(shape, size)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        compiled = compile_workflow(spec, {TASK_KEY: TASK})
        machines = compile_asl(build_plan(compiled))
        times.append(time.perf_counter() - start)
    sizes = machines.sizes()
    return {"shape": shape, "nodes": size, "seconds": statistics.median(times), "machines": len(sizes),
            "largest_bytes": max(sizes.values()), "total_bytes": sum(sizes.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'shape':<8}{'nodes':>7}{'compile s':>11}{'machines':>10}{'largest KB':>12}{'total KB':>10}  limit ok")
    for size in (int(s) for s in args.sizes.split(",")):
        for shape in ("chain", "fanout"):
            r = measure(shape, size, args.repeats)
            ok = r["largest_bytes"] < MAX_DEFINITION_BYTES
            print(f"{r['shape']:<8}{r['nodes']:>7}{r['seconds']:>11.3f}{r['machines']:>10}"
                  f"{r['largest_bytes'] / 1024:>12.1f}{r['total_bytes'] / 1024:>10.1f}  {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
