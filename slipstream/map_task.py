"""map_task(): run a task once per item of its list inputs, as flytekit's.

    map_task(square)(x=numbers)                           # maps over x
    map_task(functools.partial(scale, factor=2))(x=xs)    # factor is bound, x is mapped

Inputs bound with functools.partial stay scalars; every other input is a list, all of the same length.
With min_success_ratio below 1 the outputs are lists of Optional values, None where an item failed.

    map_task(noop, batch_size=1000)(x=xs)                # 1,000 items per pod, run one after another

`batch_size` (flytekit's map_task has no such knob; the name is Step Functions' ItemBatcher's idea) runs
that many items in one pod, in order: a pod's start-up, its S3 reads and its token answer are paid once per
batch, so a 100,000-item map is 100 pods and 100 Step Functions map iterations, not 100,000. Each item still
has its own outputs and its own failure, so gather, min_success_ratio and the outputs are as without batches.
Trade-offs: a failed item is not retried on its own (the batch's pod is retried only if the pod itself
fails), the task's timeout bounds a whole batch, and `concurrency` counts batches.
"""

from __future__ import annotations

import functools
from typing import Any

from chalicelib.errors import ValidationError
from slipstream.builder import current_builder
from slipstream.interface import Interface
from slipstream.task import PythonTask


class MapTask:
    kind = "task"

    def __init__(self, target: PythonTask | functools.partial[Any], concurrency: int | None = None,
                 min_success_ratio: float = 1.0, batch_size: int | None = None) -> None:
        bound: dict[str, Any] = {}
        task: Any = target
        if isinstance(target, functools.partial):
            if target.args:
                raise ValidationError("map_task: bind inputs by keyword in functools.partial, e.g. partial(t, b=1)")
            bound = dict(target.keywords)
            task = target.func
        if not isinstance(task, PythonTask) or task.task_type != "python":
            raise ValidationError(f"map_task takes a @task (or a functools.partial of one), not {task!r}")
        target = task
        unknown = sorted(set(bound) - set(target.interface.inputs))
        if unknown:
            raise ValidationError(f"map_task of task [{target.name}]: partial binds unknown inputs {unknown}")
        if concurrency is not None and (isinstance(concurrency, bool) or not isinstance(concurrency, int)
                                        or concurrency < 1):
            raise ValidationError(f"map_task of task [{target.name}]: concurrency [{concurrency!r}] must be >= 1")
        if isinstance(min_success_ratio, bool) or not isinstance(min_success_ratio, (int, float)) \
                or not 0 <= min_success_ratio <= 1:
            raise ValidationError(f"map_task of task [{target.name}]: min_success_ratio [{min_success_ratio!r}] "
                                  "must be between 0 and 1")
        self.task = target
        self.name = target.name
        self.bound = bound
        self.mapped = frozenset(n for n in target.interface.inputs if n not in bound)
        self.concurrency = concurrency
        self.min_success_ratio = float(min_success_ratio)
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size < 1):
            raise ValidationError(f"map_task of task [{target.name}]: batch_size [{batch_size!r}] must be an "
                                  "integer >= 1 (items per pod)")
        self.batch_size = batch_size
        if not self.mapped:
            raise ValidationError(f"map_task of task [{target.name}]: partial binds every input; leave one to map")

    def __repr__(self) -> str:
        return f"MapTask({self.name})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args:
            raise ValidationError(f"map_task of task [{self.name}] takes keyword arguments only")
        overlap = sorted(set(kwargs) & set(self.bound))
        if overlap:
            raise ValidationError(f"map_task of task [{self.name}]: inputs {overlap} are already bound by partial")
        builder = current_builder()
        if builder is None:
            return self._run_now({**self.bound, **kwargs})
        interface = self.task.interface
        return builder.call(self, "map", Interface(interface.inputs, interface.defaults, interface.outputs, None),
                            {**self.bound, **kwargs}, mapped=self.mapped, extra={
                                "mapped_inputs": self.mapped, "concurrency": self.concurrency,
                                "min_success_ratio": self.min_success_ratio, "batch_size": self.batch_size})

    def _run_now(self, kwargs: dict[str, Any]) -> Any:
        """Outside a workflow: call the function per item, as a plain loop."""
        lengths = {len(kwargs[n]) for n in self.mapped if n in kwargs}
        if len(lengths) > 1:
            raise ValidationError(f"map_task of task [{self.name}]: mapped inputs have different lengths {lengths}")
        count = lengths.pop() if lengths else 0
        results = [self.task.fn(**{n: (v[i] if n in self.mapped else v) for n, v in kwargs.items()})
                   for i in range(count)]
        names = list(self.task.interface.outputs)
        if len(names) <= 1:
            return results if names else None
        return tuple([r[i] for r in results] for i in range(len(names)))


def map_task(target: PythonTask | functools.partial[Any], concurrency: int | None = None,
             min_success_ratio: float = 1.0, batch_size: int | None = None) -> MapTask:
    return MapTask(target, concurrency=concurrency, min_success_ratio=min_success_ratio, batch_size=batch_size)
