"""Runs inside one interpreter (slipstream's, or flytekit's venv) and writes timings as JSON to argv[2].

    python bench/_measure.py slipstream|flytekit OUT.json
"""

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def timed(fn, min_seconds: float = 1.0, min_runs: int = 3, max_runs: int = 1000) -> float:
    fn()  # warm-up
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < min_seconds and len(times) < max_runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    which, out = sys.argv[1], sys.argv[2]
    if which == "slipstream":
        import workloads_slipstream as w
    else:
        import workloads_flytekit as w
    assert tuple(w.my_wf(a=50, b="hello")) == (52, "helloworld")
    assert w.chain(x=0) == 100 and w.fanout(x=0) == sum(range(1, 101))
    xs = list(range(1000))
    assert list(w.mapped(xs=xs)) == [x + 1 for x in xs]
    results = {
        "seed_call_s": timed(lambda: w.my_wf(a=50, b="hello")),
        "chain_100_s": timed(lambda: w.chain(x=0)),
        "fanout_100_s": timed(lambda: w.fanout(x=0)),
        "map_1000_s": timed(lambda: w.mapped(xs=xs)),
    }
    Path(out).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
