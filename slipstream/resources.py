"""Resources: the requests and limits of a task's pod, in Kubernetes quantities.

A quantity is checked when `Resources(...)` is written, with the message registration would give
(`chalicelib.spec.quantities`): `Resources(mem="4GB")` fails at once, naming '4Gi' and '4G', instead of
failing at registration or, worse, when the pod is created.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.errors import ValidationError
from chalicelib.spec.quantities import quantity_problem

_FIELDS = ("cpu", "mem", "gpu", "ephemeral_storage")


def _usable(value: object) -> bool:
    """A value of a type and shape a quantity can come from (`to_dict` names the others)."""
    return not isinstance(value, bool) and isinstance(value, (str, int, float)) and str(value).strip() != ""


@dataclass(frozen=True)
class Resources:
    cpu: str | int | float | None = None
    mem: str | None = None
    gpu: str | int | None = None
    ephemeral_storage: str | None = None

    def __post_init__(self) -> None:
        for name in _FIELDS:
            value = getattr(self, name)
            if value is not None and _usable(value):
                problem = quantity_problem(name, str(value))
                if problem:
                    raise ValidationError(f"Resources: {name} {problem}")

    def to_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in _FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if not _usable(value):
                raise ValidationError(f"Resources({name}=[{value!r}]) must be a quantity such as '500m', 2 or '4Gi'")
            out[name] = str(value)
        return out
