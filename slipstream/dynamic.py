"""@dynamic: a task whose body runs at execution time, with real input values, and builds the graph
that then runs (Flyte's dynamic workflows): loops and Python `if` over the inputs are allowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.errors import ValidationError
from slipstream.builder import build_graph
from slipstream.interface import Interface
from slipstream.task import PythonTask
from slipstream.workflow import Workflow


class DynamicTask(PythonTask):
    task_type = "dynamic"

    def expand(self, inputs: dict[str, Any]) -> Workflow:
        """Run the body on the JSON `inputs` and return the workflow it builds (no inputs of its own:
        the values are baked in as constants)."""
        values = self.python_inputs(inputs)
        name = f"{self.name}.dynamic"
        interface = Interface({}, {}, self.interface.outputs, self.interface.output_tuple)
        return Workflow(name, interface, build_graph(name, interface, self.fn, values), self.fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from slipstream.builder import current_builder

        if args or current_builder() is not None:
            return super().__call__(*args, **kwargs)
        from slipstream.local import run_locally

        return run_locally(self, kwargs)


def dynamic(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Declare a dynamic workflow task, with the same options as @task."""
    if options.get("cache"):
        raise ValidationError("@dynamic does not support cache; cache the tasks it calls instead")
    if fn is None:
        return lambda f: DynamicTask(f, **options)
    return DynamicTask(fn, **options)
