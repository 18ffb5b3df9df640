"""Lambda cold start: the wall time of fresh interpreters doing what each function's first invocation does.

    python bench/cold_start.py [--runs 15]

Every function of the app (API, dispatcher, status handler, reconciler) imports the same app.py, so what
app.py imports at module level is paid by all of them. The rows:

    baseline      python -c pass
    boto3         import boto3: the floor of any Python Lambda that talks to AWS
    api import    import app
    api ready     import app, then build the services of an EKS stage (what the first request does)
    dispatcher    … then build the Kubernetes launcher (import the client, mint the EKS token), as the
                  dispatcher's first pod launch does
    eager app     import app plus what app.py used to import at module level (kubernetes, Powertools' batch
                  utility): the cost the lazy imports save every function but the dispatcher
    task pod      the entrypoint's imports and its two boto3 clients (what a task pod does before any I/O)

Nothing touches the network: the stage's settings name resources that are never called, and the EKS token
is a presigned URL made locally with throwaway credentials. Rounds interleave the rows, so drift in the
machine's load hits them alike. Goal: `import app` within 300 ms (bare `import boto3` beside it).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.config import Settings  # noqa: E402

GOAL_MS = 300.0
SERVICES = "import app\nservices = app.services()\nassert not services.launcher.built\n"
ROWS = {
    "baseline": "pass",
    "boto3": "import boto3",
    "api import": "import app",
    "api ready": SERVICES,
    "dispatcher": SERVICES + "core = services.launcher.pods.core\nassert 'kubernetes' in __import__('sys').modules\n",
    "eager app": "import app, kubernetes.client, aws_lambda_powertools.utilities.batch",
    "task pod": ("import slipstream.entrypoint, slipstream.engine, slipstream.bundle, slipstream.type_engine\n"
                 "import chalicelib.spec.types, slipstream.serialization, boto3\n"
                 "session = boto3.session.Session(region_name='us-east-1')\n"
                 "s3, sfn = session.client('s3'), session.client('stepfunctions')\n"),
}


def stage_env() -> dict[str, str]:
    """A Chalice stage's environment for an EKS cluster, with throwaway credentials and no AWS config files."""
    settings = dataclasses.replace(Settings.for_stack("coldstart"), eks_cluster_name="bench",
                                   eks_endpoint="https://eks.invalid", eks_ca_data="Zm9v")
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env.update({f"SLIPSTREAM_{k.upper()}": str(v) for k, v in dataclasses.asdict(settings).items() if v is not None})
    env.update(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    return env


def run_once(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{code!r} failed:\n{done.stderr.decode(errors='replace')}")
    return elapsed


def measure(runs: int) -> dict[str, list[float]]:
    env = stage_env()
    for code in ROWS.values():  # warm the file system cache and the bytecode caches first
        run_once(code, env)
    samples: dict[str, list[float]] = {name: [] for name in ROWS}
    for _ in range(runs):
        for name, code in ROWS.items():
            samples[name].append(run_once(code, env))
    return samples


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else values[0]


def report(samples: dict[str, list[float]]) -> bool:
    base = statistics.median(samples["baseline"])
    print(f"{'row':<12} {'median ms':>10} {'p90 ms':>8} {'net ms':>8}   (net: median less the baseline's)")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<12} {median * 1000:>10.0f} {p90(values) * 1000:>8.0f} {(median - base) * 1000:>8.0f}")
    api, boto3 = statistics.median(samples["api import"]) * 1000, statistics.median(samples["boto3"]) * 1000
    ok = api <= GOAL_MS
    print(f"\ngoal: import app <= {GOAL_MS:.0f} ms: {api:.0f} ms (bare import boto3: {boto3:.0f} ms) -> "
          f"{'met' if ok else 'MISSED'}")
    saved = (statistics.median(samples["eager app"]) - statistics.median(samples["api import"])) * 1000
    print(f"lazy imports save {saved:.0f} ms of every cold start but the dispatcher's first launch")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per row")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {args.runs} runs per row, interleaved", file=sys.stderr)
    if not report(measure(args.runs)):
        sys.exit(1)


if __name__ == "__main__":
    main()
