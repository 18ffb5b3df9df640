"""Per-node control-plane overhead through the sandbox, and Step Functions state transitions per task node.

    python bench/sandbox_overhead.py [--size 50] [--repeats 3]

No-op tasks in a chain of N and a fan-out of N (into one sum). Each task node pays: callback messages
through SQS, the dispatcher, a process started from its pod spec (forked from a warm task runner by
default; SLIPSTREAM_SANDBOX_TASK_RUNNER=fresh starts Python and imports boto3 per task, as a pod does, minus
the image pull; bench/node_overhead.py compares the two), S3 reads and writes, and status updates.
State transitions are counted from the execution history (every *StateEntered event), and turned into
a cost per 1,000 task nodes with AWS's published prices (us-east-1, Standard workflows: $0.025 per
1,000 state transitions; SQS standard: $0.40 per million requests).
"""

from __future__ import annotations

import argparse
import time

from _sandbox import median, start_sandbox, write_module

from slipstream.cli.register import build_registration

SFN_PER_TRANSITION = 0.025 / 1000
SQS_PER_REQUEST = 0.40 / 1_000_000
SQS_REQUESTS_PER_TASK_NODE = 9  # ≤3 sends (wait, run, done), their receives and deletes, batched by up to 10


def run_once(client, sandbox, workflow: str) -> tuple[float, int, int]:
    start = time.perf_counter()
    name = client.create_execution({"project": "default", "domain": "development",
                                    "workflow": {"name": workflow, "version": "bench"}, "inputs": {}})["id"]["name"]
    while True:
        execution = client.get_execution("default", "development", name)
        if execution["phase"] in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"):
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    if execution["phase"] != "SUCCEEDED":
        raise SystemExit(f"{workflow} {execution['phase']}: {execution['error']}")
    sfn = sandbox.client("stepfunctions")
    arn = sandbox.services.executions.store.get("default", "development", name).sfn_execution_arn
    events = [e for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
              for e in page["events"]]
    transitions = sum(1 for e in events if e["type"].endswith("StateEntered"))
    task_nodes = len(client.node_executions("default", "development", name))
    return elapsed, transitions, task_nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from _sandbox import workload

    path = write_module("bench_overhead", workload(chain=args.size, fanout=args.size))
    sandbox, client = start_sandbox()
    try:
        specs, _ = build_registration(client, [str(path)], "default", "development", "bench")
        client.register(specs)
        run_once(client, sandbox, "bench_overhead.chain")  # warm-up: machines created, imports cached
        print(f"{'workflow':<10}{'task nodes':>11}{'wall s':>9}{'per node ms':>13}{'transitions':>13}"
              f"{'per node':>10}{'$ per 1k nodes':>16}")
        for shape in ("chain", "fanout"):
            results = [run_once(client, sandbox, f"bench_overhead.{shape}") for _ in range(args.repeats)]
            wall = median([r[0] for r in results])
            _, transitions, nodes = results[0]
            per_node = transitions / nodes
            cost = 1000 * (per_node * SFN_PER_TRANSITION + SQS_REQUESTS_PER_TASK_NODE * SQS_PER_REQUEST)
            print(f"{shape:<10}{nodes:>11}{wall:>9.2f}{1000 * wall / nodes:>13.1f}{transitions:>13}"
                  f"{per_node:>10.2f}{cost:>16.4f}")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
