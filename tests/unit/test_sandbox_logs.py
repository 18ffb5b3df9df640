"""The sandbox's log (slipstream.sandbox.logs): powertools JSON lines for phase changes and worker errors, and
the bus publisher still given every change."""

from __future__ import annotations

import io
import json
import logging

import pytest

from chalicelib.events import PhaseChange
from slipstream.sandbox.logs import PhaseLog, configure


class Recording:
    def __init__(self) -> None:
        self.batches: list[list[PhaseChange]] = []
        self.bus_name = "slipstream-events"

    def put(self, changes: list[PhaseChange]) -> None:
        self.batches.append(changes)


@pytest.fixture(scope="module")
def configured():
    """The `slipstream` and `chalicelib` loggers sent to a buffer, once (as a sandbox process does: powertools
    configures its Logger once per service); restored afterwards, for the other tests of the process."""
    names = ("slipstream", "chalicelib")
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level,
                    logging.getLogger(name).propagate) for name in names}
    buffer = io.StringIO()
    configure(buffer)
    yield buffer
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate = handlers, propagate
        logger.setLevel(level)


@pytest.fixture()
def stream(configured):
    configured.seek(0)
    configured.truncate()
    return configured


def test_each_change_is_one_json_line_and_still_reaches_the_bus(stream):
    bus = Recording()
    publisher = PhaseLog(bus)
    changes = [PhaseChange("p", "development", "x1", "RUNNING", 1, 1_000_000, previous_phase="QUEUED"),
               PhaseChange("p", "development", "x1", "SUCCEEDED", 3, 2_000_000, node="n0", previous_phase="RUNNING")]
    publisher.put(changes)

    assert bus.batches == [changes] and publisher.bus_name == "slipstream-events"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["execution p/development/x1: QUEUED -> RUNNING",
                                                   "node n0 of p/development/x1: RUNNING -> SUCCEEDED"]
    assert lines[1]["level"] == "INFO" and lines[1]["service"] == "slipstream-sandbox"
    assert (lines[1]["execution"], lines[1]["node"], lines[1]["phase"]) == ("x1", "n0", "SUCCEEDED")


def test_without_a_bus_changes_are_logged_only(stream):
    PhaseLog().put([PhaseChange("p", "development", "x2", "QUEUED", 0, 1)])
    assert json.loads(stream.getvalue())["message"] == "execution p/development/x2: QUEUED"
    with pytest.raises(AttributeError):
        PhaseLog().bus_name  # noqa: B018


def test_a_worker_error_is_logged_with_its_traceback(stream):
    try:
        raise RuntimeError("moto went away")
    except RuntimeError:
        logging.getLogger("slipstream.sandbox").exception("sandbox-dispatch-0 failed a step")
    line = json.loads(stream.getvalue())
    assert line["level"] == "ERROR" and line["message"] == "sandbox-dispatch-0 failed a step"
    assert "RuntimeError: moto went away" in line["exception"]
