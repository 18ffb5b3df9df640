"""What the sandbox says in `sandbox.log`: JSON lines from powertools' structured Logger, so a user can follow
it (`tail -f`, or `jq` on a field) — the start and stop, one INFO line per execution and node phase change,
and every worker error with its traceback.

Phase changes are observed where every one of them passes: the outbox of the control plane's phase change
events (chalicelib.events). `PhaseLog` wraps the outbox's publisher, so a change is logged when it is
published, whether or not an EventBridge bus is configured; the store and handlers stay as they run on AWS.
The background process (`serve`) routes the `slipstream` and `chalicelib` loggers to the log with
`configure`; a `Sandbox` run in-process (the tests) logs through the same loggers and stays quiet unless its
host configures them.
"""

from __future__ import annotations

import logging
import sys
from typing import IO, Any

SERVICE = "slipstream-sandbox"
phases = logging.getLogger("slipstream.sandbox.phases")


class PhaseLog:
    """A phase change publisher (chalicelib.events: `put(changes)`) that logs each change, then hands the
    batch to the bus publisher it wraps, if any. Other attributes (`bus_name`, `calls`) are the wrapped one's."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner

    def put(self, changes: list[Any]) -> None:
        for change in changes:
            log_change(change)
        if self.inner is not None:
            self.inner.put(changes)

    def __getattr__(self, name: str) -> Any:
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)


def log_change(change: Any) -> None:
    """One INFO line: readable as text, with the change's fields as keys of the JSON object."""
    execution = f"{change.project}/{change.domain}/{change.execution}"
    moved = f"{change.previous_phase} -> {change.phase}" if change.previous_phase else change.phase
    what = f"node {change.node} of {execution}" if change.node is not None else f"execution {execution}"
    phases.info(f"{what}: {moved}", extra={
        "project": change.project, "domain": change.domain, "execution": change.execution, "node": change.node,
        "phase": change.phase, "previous_phase": change.previous_phase})


def configure(stream: IO[str] | None = None, level: str = "INFO") -> Any:
    """Send the `slipstream` and `chalicelib` loggers to `stream` (stdout: `slipstream sandbox start` points it
    at `sandbox.log`) as powertools JSON lines; returns the powertools Logger for the sandbox's own lines.
    Once per process: powertools sets a service's Logger up on its first construction only."""
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    logger = Logger(service=SERVICE, level=level, stream=stream or sys.stdout, utc=True)
    for name in ("slipstream", "chalicelib"):
        logging.getLogger(name)  # registered, so the copy below finds them
    copy_config_to_registered_loggers(source_logger=logger, include={"slipstream", "chalicelib"})
    return logger
