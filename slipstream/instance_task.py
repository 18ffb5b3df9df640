"""Tasks declared as objects rather than decorated functions (flytekit's PythonInstanceTask): ShellTask,
Echo. Each has a name and a typed interface of its own and runs `execute_instance(inputs)` in a pod.

To the control plane they are ordinary Python tasks (task type `python`): the pod's entrypoint imports the
module that defines one and finds it by the module-level variable it is assigned to (looked up when the task
is registered, as flytekit tracks instances), so the control plane never runs user code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from chalicelib.errors import ValidationError
from slipstream.interface import Interface, declared_interface
from slipstream.task import PythonTask


class InstanceTask(PythonTask):
    """A task object: `name`, inputs and outputs as name → type maps, @task's options as keywords."""

    def __init__(self, name: str, inputs: dict[str, Any] | None, outputs: dict[str, Any] | None,
                 module: str, **options: Any) -> None:
        if not isinstance(name, str) or not name:
            raise ValidationError(f"{type(self).__name__}: name [{name!r}] must be a non-empty string")
        self.instance_name, self._module = name, module
        self._declared = (dict(inputs or {}), dict(outputs or {}))
        super().__init__(self._body(), **options)

    def execute_instance(self, inputs: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _entity_name(self, fn: Callable[..., Any]) -> str:
        return self.instance_name

    def _interface(self, fn: Callable[..., Any], owner: str) -> Interface:
        return declared_interface(owner, *self._declared)

    def function_ref(self) -> dict[str, str]:
        """The module-level variable that holds this task: a pod imports the module and reads it."""
        module = sys.modules.get(self._module)
        names = [attr for attr, value in vars(module).items() if value is self] if module else []
        if not names:
            raise ValidationError(f"{type(self).__name__} [{self.instance_name}]: assign it to a module-level "
                                  f"variable of [{self._module}] so that its pod can import it")
        return {"module": self._module, "name": names[0]}

    def _body(self) -> Callable[..., Any]:
        def run(**kwargs: Any) -> Any:
            return self.execute_instance(kwargs)

        run.__module__, run.__name__, run.__qualname__ = self._module, self.instance_name, self.instance_name
        return run


def caller_module(depth: int = 2) -> str:
    """The module that constructs a task object (`depth` frames up): where its pod will import it from."""
    return str(sys._getframe(depth).f_globals.get("__name__", "__main__"))


class Echo(InstanceTask):
    """flytekit's Echo: returns its inputs, in order, as outputs o0, o1, … (a conditional branch that passes a
    value through, beside calls of tasks with the same outputs). flytekit runs it in the control plane; here
    it is a small pod like any task."""

    def __init__(self, name: str, inputs: dict[str, Any] | None = None, **options: Any) -> None:
        outputs = {f"o{i}": py_type for i, py_type in enumerate((inputs or {}).values())}
        super().__init__(name, inputs, outputs, caller_module(), **options)

    def execute_instance(self, inputs: dict[str, Any]) -> Any:
        values = [inputs[name] for name in self.interface.inputs]
        if not values:
            return None
        return values[0] if len(values) == 1 else tuple(values)
