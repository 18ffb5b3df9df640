"""The IR's published JSON Schema (`ir.schema.json`) and a structural check against it.

The structural check comes first at every boundary where specs arrive from outside (the API), so the
compiler can rely on the shape and answer only the semantic questions.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from chalicelib.errors import ValidationError

SCHEMA_PATH = Path(__file__).with_name("ir.schema.json")


@functools.cache
def ir_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@functools.cache
def _validators() -> dict[str, Any]:
    import jsonschema  # only the control plane and the tests need it; the SDK stays light

    schema = ir_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return {
        kind: jsonschema.Draft202012Validator({**schema, "oneOf": [{"$ref": f"#/$defs/{kind}"}]})
        for kind in ("task", "workflow", "launch_plan")
    }


def check_spec_shape(spec: Any) -> None:
    """Raise ValidationError naming the first misplaced field if `spec` does not follow the IR's schema."""
    if not isinstance(spec, dict):
        raise ValidationError(f"a spec must be a JSON object, got {type(spec).__name__}")
    from jsonschema.exceptions import best_match

    kind = spec.get("kind")
    validators = _validators()
    if not isinstance(kind, str) or kind not in validators:  # a JSON object or list is unhashable
        raise ValidationError(f"spec kind [{kind}] is unknown: use one of {', '.join(validators)}")
    error = best_match(validators[kind].iter_errors(spec))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ValidationError(f"{kind} spec is malformed at [{where}]: {error.message}")
