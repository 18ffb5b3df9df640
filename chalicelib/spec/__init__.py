"""The IR: identifiers, literal types and values, task/workflow/launch plan specs. Pure: no I/O."""

from chalicelib.spec import types
from chalicelib.spec.entities import (
    COMPARISON_OPS,
    NODE_KINDS,
    SCHEMA_VERSION,
    Spec,
    inputs_of,
    iter_nodes,
    node_sources,
    outputs_of,
    ref_key,
    referenced_entities,
    spec_id,
)
from chalicelib.spec.identifiers import DEFAULT_DOMAINS, Identifier, check_name
from chalicelib.spec.schema import check_spec_shape, ir_schema
from chalicelib.spec.serialize import canonical_json, content_hash

__all__ = [
    "COMPARISON_OPS",
    "DEFAULT_DOMAINS",
    "NODE_KINDS",
    "SCHEMA_VERSION",
    "Identifier",
    "Spec",
    "canonical_json",
    "check_name",
    "check_spec_shape",
    "content_hash",
    "inputs_of",
    "ir_schema",
    "iter_nodes",
    "node_sources",
    "outputs_of",
    "ref_key",
    "referenced_entities",
    "spec_id",
    "types",
]
