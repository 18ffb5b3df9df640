"""@task: a typed Python function that runs as one node (one pod, remotely)."""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, overload

from chalicelib.errors import TaskFailedError, TypeMismatchError, ValidationError
from slipstream import type_engine
from slipstream.builder import current_builder
from slipstream.image_spec import ImageSpec, image_uri
from slipstream.interface import Interface, extract_interface
from slipstream.resources import Resources
from slipstream.serialization import SerializationSettings, entity_name

F = TypeVar("F", bound=Callable[..., Any])


class _MountType(enum.Enum):
    ANY = 0
    ENV_VAR = 1
    FILE = 2


@dataclass(frozen=True)
class Secret:
    """A secret the task's pod needs: `group` is the AWS Secrets Manager secret
    `slipstream/<project>/<domain>/<group>`, `key` one entry of its JSON (slipstream.context). Every secret
    reaches the task both as a variable and as a file, so flytekit's `mount_requirement` is accepted as is."""

    group: str
    key: str | None = None
    mount_requirement: _MountType = _MountType.ANY
    MountType: ClassVar[type[_MountType]] = _MountType

    def __post_init__(self) -> None:
        from slipstream.context import check_secret_name

        check_secret_name("group", self.group)
        if self.key is not None:
            check_secret_name("key", self.key)


def _timeout_seconds(owner: str, timeout: int | float | dt.timedelta | None) -> int | None:
    if timeout is None:
        return None
    seconds = timeout.total_seconds() if isinstance(timeout, dt.timedelta) else timeout
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 1:
        raise ValidationError(f"{owner}: timeout [{timeout!r}] must be at least 1 second (seconds or a timedelta)")
    return int(seconds)


class PythonTask:
    """A task. Inside a workflow body a call adds a node and returns promises; elsewhere it runs the function."""

    kind = "task"
    task_type = "python"

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        cache: bool = False,
        cache_version: str = "",
        retries: int = 0,
        timeout: int | float | dt.timedelta | None = None,
        requests: Resources | None = None,
        limits: Resources | None = None,
        container_image: str | ImageSpec | None = None,
        environment: dict[str, str] | None = None,
        secret_requests: list[Secret | str] | None = None,
        interruptible: bool = False,
        cache_serialize: bool = False,
    ) -> None:
        self.fn = fn
        self.name = self._entity_name(fn)
        owner = f"task [{self.name}]"
        self.interface = self._interface(fn, owner)
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 100:
            raise ValidationError(f"{owner}: retries [{retries!r}] must be a whole number from 0 to 100")
        if not isinstance(cache_version, str):
            raise ValidationError(f"{owner}: cache_version [{cache_version!r}] must be a string")
        if cache_serialize and not cache:
            raise ValidationError(f"{owner}: cache_serialize=True needs cache=True (it serializes cached runs)")
        self.cache_serialize = bool(cache_serialize)
        self.metadata = {
            "cache": bool(cache),
            "cache_version": cache_version,
            "retries": retries,
            "timeout_seconds": _timeout_seconds(owner, timeout),
            "interruptible": bool(interruptible),
        }
        if environment and not all(isinstance(k, str) and isinstance(v, str) for k, v in environment.items()):
            raise ValidationError(f"{owner}: environment must map strings to strings")
        secrets = [s if isinstance(s, Secret) else Secret(str(s)) for s in secret_requests or []]
        self.container = {
            "image": image_uri(owner, container_image),
            "requests": (requests or Resources()).to_dict(),
            "limits": (limits or Resources()).to_dict(),
            "environment": dict(environment or {}),
            "secrets": [{"group": s.group, "key": s.key} for s in secrets],
        }
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"

    def _entity_name(self, fn: Callable[..., Any]) -> str:
        return entity_name(fn)

    def _interface(self, fn: Callable[..., Any], owner: str) -> Interface:
        return extract_interface(fn, owner)

    def function_ref(self) -> dict[str, str]:
        """Where a pod finds this task: the module and the name in it (slipstream.engine.import_task)."""
        return {"module": self.fn.__module__, "name": self.fn.__qualname__}

    def dependencies(self) -> list[Any]:
        return []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args:
            raise ValidationError(f"task [{self.name}] takes keyword arguments only: call it as "
                                  f"{self.fn.__name__}({', '.join(f'{n}=...' for n in self.interface.inputs)})")
        builder = current_builder()
        if builder is not None:
            return builder.call(self, "task", self.interface, kwargs)
        result = self.fn(**kwargs)
        if len(self.interface.outputs) > 1 or self.interface.output_tuple is not None:
            # as flytekit: r.c (or r.o0) works on a direct call too
            return self.interface.pack_outputs(self.interface.unpack_outputs(result, f"task [{self.name}]"))
        return result

    def to_spec(self, settings: SerializationSettings) -> dict[str, Any]:
        return {
            "kind": "task",
            "schema_version": 1,
            "id": settings.identifier(self.name),
            "task_type": self.task_type,
            "interface": self.interface.to_spec(f"task [{self.name}]"),
            "function": self.function_ref(),
            "metadata": dict(self.metadata),
            "container": {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.container.items()},
        }

    def python_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return {name: type_engine.from_json(inputs[name], t)
                for name, t in self.interface.inputs.items() if name in inputs}

    def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Run the function on JSON inputs and return its JSON outputs. The function's own exceptions
        propagate; outputs of the wrong type become TaskFailedError."""
        result = self.fn(**self.python_inputs(inputs))
        return self.outputs_to_json(result)

    def outputs_to_json(self, result: Any) -> dict[str, Any]:
        owner = f"task [{self.name}]"
        try:
            by_name = self.interface.unpack_outputs(result, owner)
            return {name: type_engine.to_json(value, self.interface.outputs[name], f"{owner} output [{name}]")
                    for name, value in by_name.items()}
        except (TypeMismatchError, ValidationError) as exc:
            raise TaskFailedError(str(exc), kind="user") from exc


@overload
def task(fn: F) -> PythonTask: ...


@overload
def task(fn: None = None, **options: Any) -> Callable[[F], PythonTask]: ...


def task(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Declare a task, as flytekit's @task: with or without options (`cache`, `cache_version`, `retries`,
    `timeout`, `requests`, `limits`, `container_image` (an image reference or an ImageSpec), `environment`,
    `secret_requests`, `interruptible`, `cache_serialize`).

    `cache_serialize=True` (with `cache=True`) is accepted for flytekit's code and changes nothing here: a
    local run executes its nodes one at a time, so a cached result is always written before the next
    identical call looks; remotely, identical calls that start at the same moment may each compute the
    value (no reservation is taken), and each stores the same result under the same key."""
    if fn is None:
        return lambda f: PythonTask(f, **options)
    return PythonTask(fn, **options)
