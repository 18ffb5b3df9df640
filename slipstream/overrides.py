"""`.with_overrides(...)` on a call's result, as in flytekit: per-node retries, timeout, cache, resources, image
and name. The SDK turns the Python values into the node's `overrides` spec (chalicelib.compiler.overrides
applies them); the options are checked here, when the workflow is built, with the messages registration gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

from chalicelib.compiler.overrides import check_overrides
from chalicelib.errors import ValidationError
from slipstream.image_spec import image_uri
from slipstream.resources import Resources

_SPEC_NAMES = {"retries": "retries", "timeout": "timeout_seconds", "cache": "cache", "cache_version": "cache_version",
               "interruptible": "interruptible", "requests": "requests", "limits": "limits",
               "container_image": "container_image", "name": "name", "node_name": "name"}


def overrides_spec(where: str, options: dict[str, Any]) -> dict[str, Any]:
    """The spec of `with_overrides(**options)`; options flytekit has and the IR cannot carry are refused."""
    unknown = sorted(set(options) - set(_SPEC_NAMES))
    if unknown:
        raise ValidationError(f"{where}: with_overrides does not take {unknown}; it takes {sorted(_SPEC_NAMES)}")
    spec: dict[str, Any] = {}
    for option, value in options.items():
        if value is None:
            continue
        if option in ("requests", "limits"):
            if not isinstance(value, Resources):
                raise ValidationError(f"{where}: with_overrides({option}=...) takes Resources(...), not {value!r}")
            value = value.to_dict()
        elif option == "container_image":
            value = image_uri(where, value)
        elif option == "timeout":
            value = value.total_seconds() if isinstance(value, dt.timedelta) else value
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # as a task's own timeout: whole seconds, what Step Functions takes
        spec[_SPEC_NAMES[option]] = value
    check_overrides(where, spec)
    return spec
