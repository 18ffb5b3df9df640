"""Kubernetes resource quantities ('500m', '4Gi', '1.5', '5e8'), checked when a task is defined and when it
is registered, as the API server would check them when the task's pod is created: hours later, where the
author would only see a failed node. Pure: no I/O.

The grammar (k8s.io/apimachinery, pkg/api/resource/quantity.go):

    quantity         ::= signedNumber suffix
    signedNumber     ::= [+-]? number
    number           ::= digits | digits "." digits | digits "." | "." digits
    suffix           ::= binarySI | decimalExponent | decimalSI
    binarySI         ::= Ki | Mi | Gi | Ti | Pi | Ei                 powers of 1024
    decimalSI        ::= n | u | m | "" | k | M | G | T | P | E      powers of 1000
    decimalExponent  ::= (e | E) [+-]? digits                       a power of 10

The grammar writes signedNumber after e/E, but ParseQuantity's scanner takes digits only, so '1e2.5' is
refused there and here. ParseQuantity is laxer than its grammar where no one means what it accepts: a
number without digits ('Gi', '.', '-') parses as zero, an exponent beyond 32 bits is silently truncated,
and JSON decoding trims spaces (' 1'); all are refused here. The value is exact (Decimal), rounded away
from zero to a nano and a binary quantity capped at 2^63-1, as ParseQuantity does, so comparisons agree
with the API server's.

Pod validation adds (pkg/apis/core/validation): no quantity may be negative; an extended resource such as
nvidia.com/gpu must be a whole number; a request may not exceed the limit of the same resource. One rule
is ours: memory and ephemeral storage in whole bytes. '500m' of memory is half a byte ('m' is milli),
which Kubernetes accepts and no one means.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import MAX_EMAX, MIN_EMIN, ROUND_UP, Context, Decimal
from typing import Any

from chalicelib.errors import ValidationError

# slipstream's resource names (Resources fields, spec keys) → Kubernetes' resource names
KUBERNETES_NAMES = {"cpu": "cpu", "mem": "memory", "gpu": "nvidia.com/gpu", "ephemeral_storage": "ephemeral-storage"}
EXAMPLES = {"cpu": "'500m', '1' or '2.5'", "mem": "'512Mi', '4Gi' or '4G'", "gpu": "'1' or '2'",
            "ephemeral_storage": "'500Mi', '10Gi' or '10G'"}
SUFFIXES = "binary Ki Mi Gi Ti Pi Ei, decimal n u m k M G T P E, or an exponent as in '5e8'"
_SAID = {"cpu": "cpu", "mem": "memory", "gpu": "a GPU count", "ephemeral_storage": "ephemeral storage"}

_QUANTITY = re.compile(r"([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(?:([KMGTPE]i)|([numkMGTPE])|[eE]([+-]?[0-9]+))?")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_INT32 = 2**31 - 1
_MAX_BINARY = Decimal(2**63 - 1)
_NANO = Decimal("1e-9")
_WHOLE_BYTES = ("mem", "ephemeral_storage")
_WHOLE_UNITS = ("gpu",)
# a misspelt unit, lowercased with a trailing 'b' (bytes) dropped → the suffixes its writer may have meant
_MEANT = {"k": ("Ki", "k"), "m": ("Mi", "M"), "g": ("Gi", "G"), "t": ("Ti", "T"), "p": ("Pi", "P"),
          "e": ("Ei", "E"), "ki": ("Ki",), "mi": ("Mi",), "gi": ("Gi",), "ti": ("Ti",), "pi": ("Pi",),
          "ei": ("Ei",), "": ("",)}
_LOOSE = re.compile(r"\s*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))\s*([A-Za-z]{0,3})\s*")


def parse_quantity(text: str) -> Decimal:
    """The exact value of a quantity; ValueError if `text` does not follow the grammar."""
    match = _QUANTITY.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"[{text}] is not a Kubernetes quantity")
    number, binary, decimal, exponent = match.groups()
    context = Context(prec=len(text) + 40, Emax=MAX_EMAX, Emin=MIN_EMIN)
    value = Decimal(number)
    if binary:
        value = context.multiply(value, Decimal(2 ** _BINARY[binary]))
    elif decimal or exponent:
        power = _DECIMAL[decimal] if decimal else int(exponent)
        if abs(power) > _INT32:
            raise ValueError(f"[{text}] has an exponent beyond what Kubernetes can hold")
        value = value.scaleb(power, context)
    if value and value.as_tuple().exponent < -9:  # type: ignore[operator]  # finite: never 'n'/'F'
        value = value.quantize(_NANO, rounding=ROUND_UP, context=context)
    if binary and abs(value) > _MAX_BINARY:
        value = _MAX_BINARY.copy_sign(value)
    return value


def is_quantity(text: Any) -> bool:
    try:
        parse_quantity(text)
    except ValueError:
        return False
    return True


def _meant(text: str, resource: str) -> list[str]:
    """What a writer of a near-quantity ('4GB', '4 gi', '512mb', memory '500m') probably meant."""
    match = _LOOSE.fullmatch(text)
    if match is None:
        return []
    number, unit = match.groups()
    if resource not in _WHOLE_BYTES:  # only the spacing can be wrong: a cpu's 'M' is mega, its 'm' milli
        return [number + unit] if number + unit != text and is_quantity(number + unit) else []
    unit = unit.lower()
    if len(unit) > 1 and unit.endswith("b"):
        unit = unit[:-1]
    return [number + suffix for suffix in _MEANT.get(unit, ()) if number + suffix != text]


def quantity_problem(resource: str, value: Any) -> str | None:
    """What is wrong with `value` as a quantity of `resource` ("cpu", "mem", "gpu", "ephemeral_storage"),
    said so that it can follow the place it was found in ("requests.mem [4GB] …"); None if nothing is."""
    examples = f"{_SAID.get(resource, resource)} takes e.g. {EXAMPLES.get(resource, EXAMPLES['cpu'])}"
    try:
        amount = parse_quantity(value)
    except ValueError as exc:
        meant = _meant(value, resource) if isinstance(value, str) else []
        hint = f" (did you mean {' or '.join(repr(m) for m in meant)}?)" if meant else ""
        return f"{exc}{hint}: {examples}, a number and an optional suffix ({SUFFIXES})"
    if amount < 0:
        return f"[{value}] is negative: {examples}"
    if resource in _WHOLE_UNITS and amount != amount.to_integral_value():
        return f"[{value}] is not a whole number: a pod gets whole GPUs; {examples}"
    if resource in _WHOLE_BYTES and amount != amount.to_integral_value():
        meant = _meant(value, resource) if value.endswith("m") else []
        hint = f" ('m' means milli: did you mean {' or '.join(repr(m) for m in meant)}?)" if meant else ""
        return f"[{value}] is not a whole number of bytes{hint}: {examples}"
    return None


def check_resources(owner: str, requests: Mapping[str, Any], limits: Mapping[str, Any]) -> None:
    """Raise ValidationError, naming `owner` (e.g. "task [p/d/n@v]"), the field and the value, if a request or
    limit is not a valid quantity of its resource, or a request exceeds the limit of the same resource."""
    parsed: dict[str, dict[str, Decimal]] = {"requests": {}, "limits": {}}
    for kind, values in (("requests", requests), ("limits", limits)):
        for resource, value in (values or {}).items():
            if value is None or value == "":
                continue
            problem = quantity_problem(resource, value)
            if problem:
                raise ValidationError(f"{owner}: {kind}.{resource} {problem}")
            parsed[kind][resource] = parse_quantity(value)
    for resource, request in parsed["requests"].items():
        limit = parsed["limits"].get(resource)
        if limit is not None and request > limit:
            raise ValidationError(
                f"{owner}: requests.{resource} [{requests[resource]}] is more than limits.{resource} "
                f"[{limits[resource]}]; Kubernetes refuses such a pod: lower the request or raise the limit")
