"""A burst of executions through the sandbox: N submitted at once, how many succeed and how long it takes.

    python bench/burst.py [--executions 100] [--slots 0]

Each execution is one no-op task (a process started from its pod spec). The sandbox runs at most
`max_running_tasks` task processes per project-domain (two per core by default; `--slots N` to change it)
and keeps the others Pending with their tokens alive, so an overload queues instead of failing. Printed:
executions succeeded / submitted, submit time, time until the last one ended, executions per second.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from slipstream.config import ClientConfig
from slipstream.sandbox.server import Sandbox, machine_task_slots

WORKLOAD = Path(__file__).resolve().parent.parent / "tests" / "e2e" / "workflows" / "burst.py"  # as the test
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=100)
    parser.add_argument("--slots", type=int, default=0, help="task processes at once (0: two per core)")
    args = parser.parse_args()
    slots = args.slots or machine_task_slots()
    sandbox = Sandbox(max_running_tasks=slots).start()
    try:
        client = ApiClient(ClientConfig(sandbox.api_url, "default", "development", "none"))
        client.register(build_registration(client, [str(WORKLOAD)], "default", "development", "bench")[0])
        start = time.perf_counter()
        body = {"project": "default", "domain": "development", "workflow": {"name": "burst.one", "version": "bench"}}
        with ThreadPoolExecutor(max_workers=16) as pool:
            names = list(pool.map(lambda i: client.create_execution({**body, "inputs": {"x": i}})["id"]["name"],
                                  range(args.executions)))
        submitted = time.perf_counter() - start
        ended: dict[str, dict] = {}
        while len(ended) < len(names):
            for name in names:
                if name not in ended:
                    execution = client.get_execution("default", "development", name)
                    if execution["phase"] in TERMINAL:
                        ended[name] = execution
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        correct = sum(1 for i, name in enumerate(names)
                      if ended[name]["phase"] == "SUCCEEDED" and ended[name]["outputs"] == {"o0": i + 1})
        print(f"burst of {args.executions} one-task executions, {slots} task slots")
        print(f"  succeeded with the right output: {correct}/{args.executions}   (goal: {args.executions}/"
              f"{args.executions})")
        print(f"  submitted in {submitted:.1f} s; all ended after {elapsed:.1f} s "
              f"({args.executions / elapsed:.1f} executions/s)")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
