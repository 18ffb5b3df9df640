"""Per-node overhead of a no-op chain through the sandbox: warm and fresh task runners beside moto's floor.

    python bench/node_overhead.py [--size 50] [--repeats 3]

Three rows, measured in one sandbox and interleaved per repeat (so that load from elsewhere falls on all):
- floor: moto's own callback chain without slipstream: a state machine of N Task states, each
  `sqs:sendMessage.waitForTaskToken`, answered by a minimal poller (receive, SendTaskSuccess, delete). What
  moto's interpreter and SQS cost per node before any control plane or task process.
- warm: the chain of N no-op tasks of `bench/sandbox_overhead.py`, each task forked from a warm task runner
  (SLIPSTREAM_SANDBOX_TASK_RUNNER=warm, the default; slipstream/sandbox/runners.py).
- fresh: the same chain, each task a new `python -m slipstream.entrypoint` process.
Each row prints the median wall time of an execution, per node, and per node net of the floor; then the CPU
time per node of the task processes (fresh: this process's waited-for children; warm: each child's, which
its runner reports from wait4) and of this process (moto, the control plane, the launcher). On a loaded
machine the wall times grow with the load, the CPU times far less. Goal (issue 11): at most 150 ms per
node warm; the script exits 1 when it is missed.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
import uuid
from typing import Any

from _sandbox import median, start_sandbox, workload, write_module

from slipstream.cli.register import build_registration
from slipstream.sandbox.runners import WarmProcess

GOAL_MS = 150.0
POLL_SECONDS = 0.1  # ≤ 2 ms per node of a chain of 50 late; polling faster costs the sandbox CPU it measures
CALLBACK = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


class Floor:
    """The callback chain alone, on the sandbox's moto: one state machine, one queue, one poller thread."""

    def __init__(self, sandbox: Any, size: int) -> None:
        self.sqs, self.sfn = sandbox.client("sqs"), sandbox.client("stepfunctions")
        self.queue = self.sqs.create_queue(QueueName="bench-floor")["QueueUrl"]
        states = {f"S{i}": {"Type": "Task", "Resource": CALLBACK,
                            "Parameters": {"QueueUrl": self.queue, "MessageBody": {"token.$": "$$.Task.Token"}},
                            **({"Next": f"S{i + 1}"} if i < size - 1 else {"End": True})} for i in range(size)}
        self.machine = self.sfn.create_state_machine(
            name="bench-floor", definition=json.dumps({"StartAt": "S0", "States": states}),
            roleArn="arn:aws:iam::123456789012:role/bench-floor")["stateMachineArn"]
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._answer, daemon=True, name="bench-floor-poller")
        self._poller.start()

    def _answer(self) -> None:
        while not self._stop.is_set():
            messages = self.sqs.receive_message(QueueUrl=self.queue, WaitTimeSeconds=1,
                                                MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                self.sfn.send_task_success(taskToken=json.loads(message["Body"])["token"], output="{}")
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])

    def run_once(self) -> float:
        start = time.perf_counter()
        arn = self.sfn.start_execution(stateMachineArn=self.machine, name=uuid.uuid4().hex,
                                       input="{}")["executionArn"]
        while (status := self.sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
            time.sleep(POLL_SECONDS)
        if status != "SUCCEEDED":
            raise SystemExit(f"the floor's chain ended {status}")
        return time.perf_counter() - start

    def stop(self) -> None:
        self._stop.set()
        self._poller.join()


def run_chain(client: Any, sandbox: Any, workflow: str) -> tuple[float, float, float]:
    """(wall, task CPU, sandbox CPU) seconds of one execution of `workflow`."""
    before = (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    start = time.perf_counter()
    name = client.create_execution({"project": "default", "domain": "development",
                                    "workflow": {"name": workflow, "version": "bench"}, "inputs": {}})["id"]["name"]
    while (execution := client.get_execution("default", "development", name))["phase"] not in (
            "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"):
        time.sleep(POLL_SECONDS)
    wall = time.perf_counter() - start
    if execution["phase"] != "SUCCEEDED":
        raise SystemExit(f"{workflow} {execution['phase']}: {execution['error']}")
    own, children = (_cpu(resource.getrusage(resource.RUSAGE_SELF)) - _cpu(before[0]),
                     _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - _cpu(before[1]))
    warm = [process.cpu_seconds or 0.0 for process, request in sandbox.launcher.processes.values()
            if isinstance(process, WarmProcess) and request.execution.endswith(f"/{name}")]
    return wall, children + sum(warm), own


def _cpu(usage: Any) -> float:
    return float(usage.ru_utime + usage.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    path = write_module("bench_node_overhead", workload(chain=args.size, fanout=args.size))
    workflow = "bench_node_overhead.chain"
    sandbox, client = start_sandbox()
    floor = Floor(sandbox, args.size)
    rows: dict[str, list[tuple[float, float, float]]] = {"floor": [], "warm": [], "fresh": []}
    try:
        specs, _ = build_registration(client, [str(path)], "default", "development", "bench")
        client.register(specs)
        floor.run_once()
        for runner in ("warm", "fresh"):  # warm-up: the state machine created, the zygote's imports, file caches
            sandbox.launcher.set_task_runner(runner)
            run_chain(client, sandbox, workflow)
        for _ in range(args.repeats):
            own = resource.getrusage(resource.RUSAGE_SELF)
            wall = floor.run_once()
            rows["floor"].append((wall, 0.0, _cpu(resource.getrusage(resource.RUSAGE_SELF)) - _cpu(own)))
            for runner in ("warm", "fresh"):
                sandbox.launcher.set_task_runner(runner)
                rows[runner].append(run_chain(client, sandbox, workflow))
    finally:
        floor.stop()
        sandbox.stop()
    _print(rows, args.size, args.repeats)
    return 0 if 1000 * median([r[0] for r in rows["warm"]]) / args.size <= GOAL_MS else 1


def _print(rows: dict[str, list[tuple[float, float, float]]], size: int, repeats: int) -> None:
    def per_node(row: str, column: int) -> float:
        return 1000 * median([r[column] for r in rows[row]]) / size

    print(f"no-op chain of {size}, median of {repeats}; CPU in ms per node")
    print(f"{'row':<8}{'wall s':>8}{'per node ms':>13}{'net of floor':>14}{'task CPU':>10}{'sandbox CPU':>13}  goal")
    for row in rows:
        goal = ""
        if row == "warm":
            goal = f"≤ {GOAL_MS:g} ms/node: {'met' if per_node(row, 0) <= GOAL_MS else 'MISSED'}"
        print(f"{row:<8}{per_node(row, 0) * size / 1000:>8.2f}{per_node(row, 0):>13.1f}"
              f"{per_node(row, 0) - per_node('floor', 0):>14.1f}{per_node(row, 1):>10.1f}{per_node(row, 2):>13.1f}"
              f"  {goal}")


if __name__ == "__main__":
    sys.exit(main())
