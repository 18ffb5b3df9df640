"""Shared by the control-plane benchmarks: an in-process sandbox and generated workloads."""

from __future__ import annotations

import importlib
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from slipstream.client import ApiClient
from slipstream.config import ClientConfig
from slipstream.sandbox.server import Sandbox

WORKLOAD = '''
from slipstream import map_task, task, workflow


@task
def noop(x: int) -> int:
    return x


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@workflow
def chain(x: int = 0) -> int:
    for _ in range({chain}):
        x = noop(x=x)
    return x


@workflow
def fanout(x: int = 0) -> int:
    return total(xs=[noop(x=i) for i in range({fanout})])


@workflow
def mapped(xs: list[int] = list(range({map}))) -> list[int]:
    return map_task(noop)(x=xs)


@workflow
def batched(xs: list[int] = list(range({batched}))) -> list[int]:
    return map_task(noop, batch_size={batch_size})(x=xs)
'''


def workload(chain: int, fanout: int, map: int = 1, batched: int = 1, batch_size: int = 1) -> str:
    """The benchmarks' workflows: a chain of `chain` no-op tasks, a fan-out of `fanout` with a join, and maps."""
    return WORKLOAD.format(chain=chain, fanout=fanout, map=map, batched=batched, batch_size=batch_size)


def start_sandbox() -> tuple[Sandbox, ApiClient]:
    sandbox = Sandbox().start()
    client = ApiClient(ClientConfig(sandbox.api_url, "default", "development", "none"))
    return sandbox, client


def write_module(name: str, source: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="slipstream-bench-"))
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    return folder / f"{name}.py"


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
