"""Remote hello end to end: `slipstream run --remote --wait examples/hello.py my_wf` against a started sandbox.

    python bench/remote_hello.py [--repeats 5]

Starts a sandbox in this process (as bench/_sandbox.py does), then runs the command as a user does, a fresh
`python -m slipstream` process each time: once with the code new to the control plane (bundle upload,
registration, first state machines), then `--repeats` times with the file unchanged. Per run it prints the wall
time, the part the control plane recorded (execution created → ended) and the API requests that reached the
sandbox (counted by a Chalice middleware in this process; the bundle's upload goes to S3, not the API). The
median of the repeats is printed against the goal (2 s), beside the floor of any CLI command here: the
interpreter start and imports of `python -m slipstream --help`.

What an unchanged run sends: one POST to start the execution (the fast version is the digest of the code, so
the control plane either has it or answers 404, and only then are the bundle and specs sent), then one GET per
change of the execution or its nodes (long polls: the API answers at the next change, no client-side polling).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _sandbox import median, start_sandbox

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["run", "--remote", "--wait", "examples/hello.py", "my_wf", "--a", "50", "--b", "hello"]
GOAL_SECONDS = 2.0


class RequestCounter:
    """API requests the sandbox served, counted by a Chalice middleware (the app runs in this process)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def install(self) -> None:
        import app

        @app.app.middleware("http")
        def count(event: Any, get_response: Any) -> Any:
            with self._lock:
                self.count += 1
            return get_response(event)


def run_once(env: dict[str, str], counter: RequestCounter, client: Any) -> dict[str, Any]:
    before = counter.count
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "slipstream", *COMMAND], cwd=ROOT, env=env, capture_output=True,
                          text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the command failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    name = done.stderr.split("Execution ", 1)[1].split()[0]
    execution = client.get_execution("default", "development", name)
    recorded = (dt.datetime.fromisoformat(execution["ended_at"]) -
                dt.datetime.fromisoformat(execution["created_at"])).total_seconds()
    return {"wall": wall, "recorded": recorded, "requests": counter.count - before}


def cli_floor(env: dict[str, str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "slipstream", "--help"], cwd=ROOT, env=env, capture_output=True,
                       check=True)
        times.append(time.perf_counter() - start)
    return median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of the unchanged file (default 5)")
    args = parser.parse_args()
    counter = RequestCounter()
    counter.install()
    sandbox, client = start_sandbox()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLIPSTREAM_")}
    env.update(SLIPSTREAM_HOME=tempfile.mkdtemp(prefix="slipstream-bench-"), SLIPSTREAM_API_URL=sandbox.api_url,
               SLIPSTREAM_AUTH="none", COLUMNS="120")
    try:
        first = run_once(env, counter, client)
        repeats = [run_once(env, counter, client) for _ in range(args.repeats)]
        floor = cli_floor(env)
    finally:
        sandbox.stop()
    print("remote hello: slipstream run --remote --wait examples/hello.py my_wf (sandbox, fresh CLI process)")
    print(f"  {'run':<12} {'wall s':>7} {'recorded s':>11} {'API requests':>13}")
    for label, row in [("first", first), *((f"unchanged {i + 1}", r) for i, r in enumerate(repeats))]:
        print(f"  {label:<12} {row['wall']:7.3f} {row['recorded']:11.3f} {row['requests']:13d}")
    if repeats:
        wall = median([r["wall"] for r in repeats])
        print(f"  median unchanged: {wall:.3f} s   (goal: <= {GOAL_SECONDS:g} s: "
              f"{'met' if wall <= GOAL_SECONDS else 'MISSED'}); "
              f"requests: {median([r['requests'] for r in repeats])}; "
              f"control plane created->ended: {median([r['recorded'] for r in repeats]):.3f} s")
    print(f"  floor: `python -m slipstream --help` {floor:.3f} s (interpreter start and CLI imports)")


if __name__ == "__main__":
    main()
