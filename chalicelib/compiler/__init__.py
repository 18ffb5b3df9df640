"""The compiler: validation and closure of workflows, launch plan checks (pure: no I/O)."""

from chalicelib.compiler.graph import dependencies, topological_order
from chalicelib.compiler.launch_plans import check_launch_plan, resolve_inputs
from chalicelib.compiler.workflows import CompiledWorkflow, check_interface, compile_workflow, required_inputs

__all__ = [
    "CompiledWorkflow",
    "check_interface",
    "check_launch_plan",
    "compile_workflow",
    "dependencies",
    "required_inputs",
    "resolve_inputs",
    "topological_order",
]
