"""Time to first render of a 1,000-node execution graph in the console, in headless Chromium, and the bytes
the page transfers.

    python bench/console_render.py               # 40 layers x 25 nodes; needs /usr/bin/chromium and playwright
    python bench/console_render.py --layers 80   # 2,000 nodes

An in-process sandbox registers a layered workflow (each node reads two nodes of the layer before it, so the
layout has crossings to reduce) and starts it; the execution is terminated at once and every node is then
given a finished node record through the execution store, as a run of that size would leave them (running
1,000 task processes is not what is measured here). Each run opens the execution page in a fresh browser
context (an empty cache) and reads the page's own marks: `execution-drawn` (the answer parsed, laid out,
drawn into the DOM) and `execution-painted` (after the next frame). Goal: painted within 1 s.
"""

from __future__ import annotations

import argparse
import statistics
from datetime import UTC, datetime, timedelta

from _sandbox import start_sandbox, write_module

from chalicelib.data import execution_key
from chalicelib.spec import Identifier
from slipstream.cli.register import build_registration

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WORKLOAD = '''
from slipstream import task, workflow


@task
def seed(x: int) -> int:
    return x


@task
def add(a: int, b: int) -> int:
    return a + b


@workflow
def layered(x: int = 0) -> int:
    layer = [seed(x=i) for i in range({width})]
    for depth in range(1, {layers}):
        layer = [add(a=layer[j], b=layer[(j * 7 + depth) % {width}]) for j in range({width})]
    return layer[0]
'''


def seed_nodes(sandbox, name: str) -> int:
    """Give every node of the execution a finished record, as a completed run would."""
    services = sandbox.services
    graph = services.executions.get("default", "development", name)
    spec = services.registration.get("workflow", Identifier.from_dict(graph["workflow"]))["spec"]
    x = execution_key("default", "development", name)
    start = datetime.now(UTC)
    for i, node in enumerate(spec["nodes"]):
        began = start + timedelta(milliseconds=20 * i)
        phase = "FAILED" if i == len(spec["nodes"]) // 2 else "SUCCEEDED"
        services.executions.store.update_node(x, node["id"], phase, started_at=began,
                                              ended_at=began + timedelta(milliseconds=300), attempts=1,
                                              task={"name": node["task"]["name"], "version": node["task"]["version"],
                                                    "task_type": "python"})
    return len(spec["nodes"])


def measure(page_url: str, runs: int, nodes: int, replay: bytes | None = None) -> list[dict[str, float]]:
    """Open the page `runs` times; with `replay`, the /graph answer comes from memory (the console's own cost)."""
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(runs + 1):  # the first warms the browser process, not counted
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            if replay is not None:
                page.route("**/api/v1/executions/**/graph", lambda route: route.fulfill(
                    body=replay, status=200, content_type="application/json"))
            page.goto(page_url)
            page.wait_for_function("performance.getEntriesByName('execution-painted').length > 0", timeout=60_000)
            shown = page.locator("#graph g[data-node]").count()
            if shown != nodes:
                raise SystemExit(f"the page drew {shown} nodes, expected {nodes}")
            results.append(page.evaluate("""() => {
                const mark = (n) => performance.getEntriesByName(n)[0].startTime;
                const nav = performance.getEntriesByType('navigation')[0];
                const resources = performance.getEntriesByType('resource');
                const graph = resources.find((r) => r.name.includes('/api/v1/executions/'));
                return { drawn: mark('execution-drawn'), painted: mark('execution-painted'),
                         transferred: nav.transferSize + resources.reduce((s, r) => s + r.transferSize, 0),
                         graph_bytes: graph ? graph.transferSize : 0,
                         graph_ms: graph ? graph.responseEnd - graph.requestStart : 0,
                         requests: 1 + resources.length };
            }"""))
            context.close()
        browser.close()
    return results[1:]


def time_api(url: str, calls: int = 5) -> tuple[float, bytes]:
    """The aggregate read by itself, without the browser: how much of the render is the control plane's."""
    import time
    import urllib.request

    times, body = [], b""
    for _ in range(calls):
        start = time.perf_counter()
        with urllib.request.urlopen(url) as answer:
            body = answer.read()
        times.append(time.perf_counter() - start)
    return statistics.median(times), body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layers", type=int, default=40)
    parser.add_argument("--width", type=int, default=25)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    module = write_module("console_bench", WORKLOAD.format(layers=args.layers, width=args.width))
    sandbox, client = start_sandbox()
    try:
        specs, version = build_registration(client, [str(module)], "default", "development", "bench")
        client.register(specs)
        # In process, not over HTTP: creating a 1,000-state machine on a busy machine can outlast the client's wait.
        started, _ = sandbox.services.executions.create({
            "project": "default", "domain": "development", "inputs": {},
            "workflow": {"name": "console_bench.layered", "version": version}})
        name = started["id"]["name"]
        sandbox.services.executions.terminate("default", "development", name)
        nodes = seed_nodes(sandbox, name)
        url = f"{sandbox.api_url}/console/index.html#/p/default/development/x/{name}"
        answer, body = time_api(f"{sandbox.api_url}/api/v1/executions/default/development/{name}/graph")
        results = {"through the sandbox": measure(url, args.runs, nodes),
                   "the /graph answer replayed from memory": measure(url, args.runs, nodes, body)}
    finally:
        sandbox.stop()
    print(f"the /graph answer alone (urllib, 5 calls): median {answer * 1000:.0f} ms, {len(body)} bytes")
    for title, runs in results.items():
        print(f"{nodes} nodes, {title}: {args.runs} runs (fresh context each), median / worst")
        for key, label in (("painted", "first render (navigation start -> painted), ms"),
                           ("drawn", "drawn into the DOM, ms"), ("graph_ms", "the /graph request, ms")):
            values = [r[key] for r in runs]
            print(f"  {label:<48}{statistics.median(values):>8.0f}{max(values):>8.0f}")
    r = results["through the sandbox"][-1]
    print(f"bytes transferred (page, scripts, style, /graph): {r['transferred']} in {r['requests']} requests, "
          f"of which the /graph answer {r['graph_bytes']}")


if __name__ == "__main__":
    main()
