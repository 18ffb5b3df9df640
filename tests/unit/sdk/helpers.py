"""Helpers shared by the SDK tests."""

from collections.abc import Callable
from typing import Any

from slipstream import Workflow, workflow
from slipstream.serialization import LOCAL


def built_workflow(fn: Callable[..., Any]) -> Workflow:
    """@workflow, then build its graph at once: a workflow builds lazily (flytekit's semantics), so tests of the
    errors a body reports use this to see them where the workflow is written."""
    wf = workflow(fn)
    wf.compile(LOCAL)
    return wf
