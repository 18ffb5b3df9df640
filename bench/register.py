"""Registration through the sandbox: 200 tasks and 50 workflows, and listing a name with 1,000 versions.

    python bench/register.py

Prints wall time and HTTP requests for the registration (the CLI batches specs into as few requests as
the body limit allows), an identical re-registration (all unchanged), and the latency of listing
versions newest first (first page of 100, and walking all 10 pages).
"""

from __future__ import annotations

import time

from _sandbox import median, start_sandbox, write_module

from slipstream.cli.register import build_registration

TASKS, WORKFLOWS, VERSIONS = 200, 50, 1000


def workload() -> str:
    lines = ["from slipstream import task, workflow", ""]
    for i in range(TASKS):
        lines += ["@task", f"def t{i}(x: int) -> int:", f"    return x + {i}", ""]
    for w in range(WORKFLOWS):
        calls = [f"t{(w * 4 + k) % TASKS}" for k in range(4)]
        lines += ["@workflow", f"def wf{w}(x: int = 0) -> int:"]
        lines += [f"    x = {call}(x=x)" for call in calls]
        lines += ["    return x", ""]
    return "\n".join(lines)


def main() -> None:
    path = write_module("bench_register", workload())
    sandbox, client = start_sandbox()
    try:
        start = time.perf_counter()
        specs, _ = build_registration(client, [str(path)], "default", "development", "v1")
        results = client.register(specs)
        first = time.perf_counter() - start
        requests_first = client.requests_sent
        start = time.perf_counter()
        again = client.register(specs)
        second = time.perf_counter() - start
        created = sum(r["status"] == "created" for r in results)
        unchanged = sum(r["status"] == "unchanged" for r in again)
        print(f"register {len(specs)} specs ({TASKS} tasks, {WORKFLOWS} workflows, {WORKFLOWS} launch plans "
              f"added by the server: {len(results)} entities, {created} created)")
        print(f"  first registration  {first:7.2f} s  {requests_first} HTTP requests (bundle upload included)")
        print(f"  identical again     {second:7.2f} s  {client.requests_sent - requests_first} HTTP requests, "
              f"{unchanged} unchanged")

        task = next(s for s in specs if s["kind"] == "task")
        versions = []
        for v in range(VERSIONS):
            spec = {**task, "id": {**task["id"], "version": f"v{v:04d}"}}
            versions.append(spec)
        start = time.perf_counter()
        for chunk in range(0, VERSIONS, 500):
            client.register(versions[chunk:chunk + 500])
        print(f"register {VERSIONS} versions of one task: {time.perf_counter() - start:.2f} s")
        name = task["id"]["name"]
        first_page = []
        for _ in range(20):
            start = time.perf_counter()
            page = client.list_versions("task", "default", "development", name, limit=100)
            first_page.append(time.perf_counter() - start)
        walks = []
        for _ in range(3):
            start = time.perf_counter()
            token, seen = None, 0
            while True:
                page = client.list_versions("task", "default", "development", name, limit=100, token=token)
                seen += len(page["entities"])
                token = page["token"]
                if not token:
                    break
            walks.append(time.perf_counter() - start)
        print(f"list versions of a name with {seen} versions, newest first:")
        print(f"  first page of 100   {1000 * median(first_page):7.1f} ms (median of 20)")
        print(f"  all pages           {1000 * median(walks):7.1f} ms (median of 3)")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
