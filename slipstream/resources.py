"""Resources: the requests and limits of a task's pod, in Kubernetes quantities."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.errors import ValidationError

_FIELDS = ("cpu", "mem", "gpu", "ephemeral_storage")


@dataclass(frozen=True)
class Resources:
    cpu: str | int | float | None = None
    mem: str | None = None
    gpu: str | int | None = None
    ephemeral_storage: str | None = None

    def to_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in _FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (str, int, float)) or str(value).strip() == "":
                raise ValidationError(f"Resources({name}=[{value!r}]) must be a quantity such as '500m', 2 or '4Gi'")
            out[name] = str(value)
        return out
