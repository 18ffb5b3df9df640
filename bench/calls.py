"""AWS calls per task node, counted, and what they make of AWS's quotas and prices.

    python bench/calls.py [--chain 50] [--fanout 1000] [--map 1000] [--map-concurrency 0]
                          [--batched 10000 --batch-size 1000]       (a size of 0 skips that shape)

Runs three workflows of no-op tasks in an in-process sandbox and counts every AWS call each component makes:

- the control plane (API, dispatcher, status handler, the sandbox launcher that plays kubelet and reconciler)
  and moto's Step Functions interpreter (its `sqs:sendMessage.waitForTaskToken` integration): a botocore
  `before-call` handler added to `botocore.handlers.BUILTIN_HANDLERS` before the sandbox starts, so every
  session and client made afterwards (boto3's and pynamodb's) carries it; the component is read from the
  calling thread and stack;
- task processes: `bench/_calls_hook/sitecustomize.py` on the tasks' PYTHONPATH registers the same handler
  and appends one line per call to a file. It works with fresh processes and with the sandbox's warm task
  runner (the zygote imports it at start-up, its forks inherit it);
- Step Functions state transitions from each execution's history (every *StateEntered event).

Then the pure model (`bench/_calls_model.py`): calls per task node × published us-east-1 quotas → the
ceiling in task nodes per second and the quota that binds first; × published prices → $ per million task
nodes by service. Sources: bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import botocore.handlers
from _calls_model import ceiling, cost_per_million
from _sandbox import workload, write_module

from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from slipstream.config import ClientConfig
from slipstream.sandbox.server import Sandbox

HOOK_DIR = Path(__file__).resolve().parent / "_calls_hook"
# `--map-concurrency`: moto's interpreter runs a Map without MaxConcurrency as one thread per item, each item's
# run state waiting for a free task slot (four on two cores) with its token heartbeated; at 10,000 items that
# is 10,000 threads and heartbeats in this process, which starve the sandbox. AWS needs no bound.
BOUNDED_MAP = '''

@workflow
def mapped_bounded(xs: list[int] = list(range({map}))) -> list[int]:
    return map_task(noop, concurrency={concurrency})(x=xs)
'''
_counts: collections.Counter[tuple[str, str, str]] = collections.Counter()
_lock = threading.Lock()
_quiet = threading.local()


def _component() -> str:
    """Who made the call: the innermost project frame decides. Calls the sandbox's own workers make
    themselves (polling queues and executions where AWS would push events to Lambda) are `sandbox`, left out
    of the model."""
    frames = [f.filename for f in traceback.extract_stack(limit=80)]
    if any("/moto/" in f for f in frames):
        return "stepfunctions"  # moto's interpreter: Step Functions' own service integrations
    own = [f for f in frames if "site-packages" not in f and "/calls.py" not in f]
    innermost = own[-1] if own else ""
    if "sandbox/launcher.py" in innermost or "sandbox/runners.py" in innermost:
        return "launcher"  # plays the kubelet and the reconciler
    if "slipstream/sandbox/" in innermost:
        return "sandbox"
    if threading.current_thread().name.startswith("sandbox-dispatch") or any("chalicelib/dispatch" in f for f in own):
        return "dispatcher"
    if any("chalicelib/status" in f or "sandbox/workers.py" in f for f in own):
        return "status"
    return "api"


def _count(model: Any, **_: Any) -> None:
    if getattr(_quiet, "on", False):
        return
    key = (_component(), model.service_model.endpoint_prefix, model.name)
    with _lock:
        _counts[key] += 1


def _task_counts(path: Path) -> collections.Counter[tuple[str, str, str]]:
    found: collections.Counter[tuple[str, str, str]] = collections.Counter()
    if path.exists():
        for line in path.read_text().splitlines():
            service, operation = line.split()[1:3]
            found[("task", service, operation)] += 1
    return found


def run(client: Any, sandbox: Any, workflow: str, task_file: Path, nodes: int) -> dict[str, Any]:
    """One execution: its wall time, task nodes, transitions and the calls it caused."""
    task_file.write_text("")
    with _lock:
        _counts.clear()
    start = time.perf_counter()
    started = time.time()
    _quiet.on = True
    try:
        name = client.create_execution({"project": "default", "domain": "development",
                                        "workflow": {"name": workflow, "version": "bench"},
                                        "inputs": {}})["id"]["name"]
        record = _wait(sandbox.services.executions.store, name, start)
        wall = time.perf_counter() - start
        time.sleep(1.5)  # the status handler's last updates
        failed = "" if record.phase == "SUCCEEDED" else f"{record.phase}: {json.dumps(record.error)[:400]}"
        sfn = sandbox.client("stepfunctions")
        events = [e for arn in _executions_since(sfn, record.sfn_execution_arn, started)
                  for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
                  for e in page["events"]]
    finally:
        _quiet.on = False
    with _lock:
        calls = collections.Counter(_counts)
    calls.update(_task_counts(task_file))
    transitions = sum(1 for e in events if e["type"].endswith("StateEntered"))
    if failed:
        _print_failures(events)
    return {"wall": wall, "nodes": nodes, "transitions": transitions, "calls": calls, "failed": failed}


def _wait(store: Any, name: str, start: float) -> Any:
    """Poll the execution's record directly (through the API the polling would count) until it ends, saying
    every minute that it still runs. A read that times out is tried again: under a 10,000-item map moto's
    server, in this process, answers slowly, and the run must not die of its own poller."""
    said = time.perf_counter()
    while True:
        try:
            record = store.get("default", "development", name)
        except Exception as exc:  # pynamodb's GetError around a botocore read timeout
            print(f"  ({time.perf_counter() - start:.0f} s) reading the execution failed, trying again: {exc}")
            continue
        if record.phase in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"):
            return record
        if time.perf_counter() - said > 60:
            said = time.perf_counter()
            print(f"  ({said - start:.0f} s) {name}: {record.phase}", flush=True)
        time.sleep(0.5)


def _executions_since(sfn: Any, root: str, started: float) -> list[str]:
    """The run's execution and the child executions it started (the groups of a split workflow, dynamic
    tasks): their transitions are the run's too. The sandbox runs one workflow at a time."""
    found = [root]
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            if execution["executionArn"] != root and execution["startDate"].timestamp() >= started - 1:
                found.append(execution["executionArn"])
    return found


def _print_failures(events: list[dict[str, Any]]) -> None:
    """A failed run's first failures from its history: what failed first is the cause, the rest follows."""
    kinds = collections.Counter(e["type"] for e in events if "Fail" in e["type"] or "TimedOut" in e["type"])
    print(f"  failure events: {dict(kinds)}")
    for event in [e for e in events if e["type"] in ("TaskFailed", "TaskTimedOut", "ExecutionFailed")][:5]:
        details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        previous = next((e for e in events if e["id"] == event.get("previousEventId")), {})
        print(f"  {event['type']} at {event['timestamp']} (after {previous.get('type')} at "
              f"{previous.get('timestamp')}): {json.dumps(details)[:300]}")


def _report(shape: str, result: dict[str, Any]) -> dict[str, Any]:
    nodes = result["nodes"]
    per_node: dict[str, float] = collections.defaultdict(float)
    by_component: dict[str, float] = collections.defaultdict(float)
    for (component, service, operation), count in result["calls"].items():
        if component == "sandbox":
            continue
        per_node[f"{service}:{operation}"] += count / nodes
        by_component[f"{component}/{service}"] += count / nodes
    per_node["states:transition"] = result["transitions"] / nodes
    limit, binding = ceiling(per_node)
    dollars = cost_per_million(per_node)
    totals: collections.Counter[str] = collections.Counter()
    for (component, service, operation), count in result["calls"].items():
        if component != "sandbox":
            totals[f"{service}:{operation}"] += count
    print(f"\n== {shape}: {nodes} task nodes, {result['wall']:.1f} s in the sandbox "
          f"({nodes / result['wall']:,.0f} task nodes/s), {result['transitions']} state transitions")
    if result["failed"]:
        print(f"  FAILED (the counts below are of a failed execution): {result['failed']}")
    # three significant digits: a batched map's calls per item are thousandths
    print("  calls per task node by component/service: " + ", ".join(
        f"{k} {v:.3g}" for k, v in sorted(by_component.items())))
    print("  per operation: " + ", ".join(f"{k} {v:.3g}" for k, v in sorted(per_node.items()) if v >= 0.0005))
    print("  calls in all: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
    print(f"  ceiling: {limit:,.0f} task nodes/s, bound by {binding}")
    print("  $ per million task nodes: " + ", ".join(f"{k} {v:,.2f}" for k, v in dollars.items()))
    return {"shape": shape, "nodes": nodes, "failed": result["failed"], "wall_s": round(result["wall"], 1),
            "ceiling": round(limit) if limit != float("inf") else None,
            "binding": binding, "usd_per_million": {k: round(v, 2) for k, v in dollars.items()},
            "per_node": {k: round(v, 5) for k, v in per_node.items()}, "calls": dict(totals),
            "by_component": {k: round(v, 3) for k, v in by_component.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chain", type=int, default=50)
    parser.add_argument("--fanout", type=int, default=1000)
    parser.add_argument("--map", type=int, default=1000)
    parser.add_argument("--batched", type=int, default=10000, help="items of a map batched into pods (0: none)")
    parser.add_argument("--batch-size", type=int, default=1000, help="its items per pod (map_task batch_size)")
    parser.add_argument("--map-concurrency", type=int, default=0,
                        help="the unbatched map's map_task concurrency (0: unbounded, as compiled for AWS)")
    parser.add_argument("--heartbeat", type=int, default=300,
                        help="HeartbeatSeconds of run states: a deployment's default (the sandbox's own is 60)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    botocore.handlers.BUILTIN_HANDLERS.append(("before-call", _count))  # before any session exists
    task_file = Path(tempfile.mkdtemp(prefix="slipstream-calls-")) / "task-calls.txt"
    source = workload(chain=args.chain, fanout=args.fanout, map=args.map, batched=args.batched,
                      batch_size=args.batch_size)
    if args.map_concurrency:
        source += BOUNDED_MAP.format(map=args.map, concurrency=args.map_concurrency)
    path = write_module("bench_calls", source)
    # A deployment's heartbeat window, not the sandbox's 60 s (kept short so tests see lost pods soon): on two
    # shared cores the sandbox's dispatcher handles a few messages a second, so a 1,000-wide burst of run
    # messages waits in the queue longer than 60 s; on AWS the dispatcher Lambda scales out instead.
    sandbox = Sandbox(heartbeat_seconds=args.heartbeat).start()
    client = ApiClient(ClientConfig(sandbox.api_url, "default", "development", "none"))
    sandbox.launcher.env.update({"PYTHONPATH": str(HOOK_DIR), "SLIPSTREAM_BENCH_CALLS": str(task_file)})
    if sandbox.launcher.runner is not None:
        sandbox.launcher.runner.env.update(sandbox.launcher.env)
    rows = []
    try:
        _quiet.on = True
        specs, _ = build_registration(client, [str(path)], "default", "development", "bench")
        client.register(specs)
        _quiet.on = False
        print(f"task runner: {sandbox.launcher.task_runner}")
        for shape, workflow, nodes in (("chain", "chain", args.chain), ("fan-out + join", "fanout", args.fanout + 1),
                                       *([(f"map, concurrency {args.map_concurrency}", "mapped_bounded", args.map)]
                                         if args.map_concurrency else [("map", "mapped", args.map)]),
                                       (f"map, batches of {args.batch_size}", "batched", args.batched)):
            if nodes > 1:
                rows.append(_report(shape, run(client, sandbox, f"bench_calls.{workflow}", task_file, nodes)))
    finally:
        sandbox.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
