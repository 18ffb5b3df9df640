"""What the Kubernetes API server refuses, for the emulator to refuse it too, in the server's own words.

Reproduced from Kubernetes 1.30 (k8s.io/apimachinery pkg/util/validation, pkg/api/resource; kubernetes
pkg/apis/core/validation), for the objects slipstream creates — pods, namespaces, service accounts, secrets,
resource quotas:

    decode (400 BadRequest)   a quantity that ParseQuantity cannot read: the body cannot even become a Pod
                              (or a ResourceQuota)
    validate (422 Invalid)    names (DNS-1123 label or subdomain), label keys and values, annotation keys,
                              containers present and named, images, env var names (the strict rule: clusters
                              from 1.32 with RelaxedEnvironmentVariableValidation accept more), resource
                              names, negative or fractional quantities, requests above limits, extended
                              resources (nvidia.com/gpu) whose request is not their limit, quota limits
                              below 0 or (object counts such as pods) not whole

The quantity reader here follows ParseQuantity's scanner, not slipstream's stricter check
(`chalicelib.spec.quantities`), so the emulator is an independent judge of what registration lets
through. Messages quote values as the user wrote them; the API server quotes the canonical form ("1.5"
as "1500m").
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

Cause = dict[str, str]

_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN_FMT = f"{_DNS_LABEL_FMT}(\\.{_DNS_LABEL_FMT})*"
_QUALIFIED_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = f"({_QUALIFIED_FMT})?"
_ENV_NAME_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_SECRET_KEY_FMT = "[-._a-zA-Z0-9]+"
_QUANTITY_FMT = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_QUANTITY_SCAN = re.compile(r"[+-]?([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[+-]?[0-9]*)")
_SUFFIXES = {"": 0, "n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_STANDARD_RESOURCES = {"cpu", "memory", "ephemeral-storage"}
_INTEGER_RESOURCES = {"pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
                      "persistentvolumeclaims", "services.nodeports", "services.loadbalancers"}
_INT64 = 2**63


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """validation.RegexError, double spaces included."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def dns1123_label(value: str) -> list[str]:
    errors = [max_len_error(63)] if len(value) > 63 else []
    if not re.fullmatch(_DNS_LABEL_FMT, value):
        errors.append(regex_error("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                                  "or '-', and must start and end with an alphanumeric character", _DNS_LABEL_FMT,
                                  "my-name", "123-abc"))
    return errors


def dns1123_subdomain(value: str) -> list[str]:
    errors = [max_len_error(253)] if len(value) > 253 else []
    if not re.fullmatch(_DNS_SUBDOMAIN_FMT, value):
        errors.append(regex_error("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                                  "characters, '-' or '.', and must start and end with an alphanumeric character",
                                  _DNS_SUBDOMAIN_FMT, "example.com"))
    return errors


_QUALIFIED_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                  "alphanumeric character")


def qualified_name(value: str) -> list[str]:
    """validation.IsQualifiedName: label keys, annotation keys, extended resource names."""
    parts = value.split("/")
    if len(parts) > 2:
        return ["a qualified name " + regex_error(_QUALIFIED_MSG, _QUALIFIED_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    errors = []
    if len(parts) == 2:
        if not parts[0]:
            errors.append("prefix part must be non-empty")
        else:
            errors += ["prefix part " + m for m in dns1123_subdomain(parts[0])]
    name = parts[-1]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part " + max_len_error(63))
    if not re.fullmatch(_QUALIFIED_FMT, name):
        errors.append("name part " + regex_error(_QUALIFIED_MSG, _QUALIFIED_FMT, "MyName", "my.name", "123-abc"))
    return errors


def label_value(value: str) -> list[str]:
    errors = [max_len_error(63)] if len(value) > 63 else []
    if not re.fullmatch(_LABEL_VALUE_FMT, value):
        errors.append(regex_error("a valid label must be an empty string or consist of alphanumeric characters, "
                                  "'-', '_' or '.', and must start and end with an alphanumeric character",
                                  _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def env_var_name(value: str) -> list[str]:
    """validation.IsEnvVarName (the strict rule, the only one before RelaxedEnvironmentVariableValidation)."""
    errors = []
    if not re.fullmatch(_ENV_NAME_FMT, value):
        errors.append(regex_error("a valid environment variable name must consist of alphabetic characters, "
                                  "digits, '_', '-', or '.', and must not start with a digit", _ENV_NAME_FMT,
                                  "my.env-name", "MY_ENV.NAME", "MyEnvName1"))
    if value in (".", ".."):
        errors.append(f"must not be '{value}'")
    elif value.startswith(".."):
        errors.append("must not start with '..'")
    return errors


def parse_quantity(text: Any) -> Decimal:
    """resource.ParseQuantity's scanner and suffixes; ValueError with its message if it cannot read `text`."""
    text = str(text).strip()  # Quantity.UnmarshalJSON trims spaces
    match = _QUANTITY_SCAN.fullmatch(text) if text else None
    if match is None:
        raise ValueError(f"quantities must match the regular expression '{_QUANTITY_FMT}'")
    whole, fraction, suffix = match.groups()
    number = Decimal(f"{whole or '0'}.{fraction or '0'}")
    if text.startswith("-"):
        number = -number
    if suffix in _SUFFIXES:
        return number.scaleb(_SUFFIXES[suffix])
    if suffix in _BINARY:
        return number * 2 ** _BINARY[suffix]
    exponent = suffix[1:]
    if suffix[:1] in ("e", "E") and re.fullmatch(r"[+-]?[0-9]+", exponent) and abs(int(exponent)) < _INT64:
        return number.scaleb(int(exponent))
    raise ValueError("unable to parse quantity's suffix")


def _invalid(field: str, value: Any, message: str) -> Cause:
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    return {"reason": "FieldValueInvalid", "message": f"Invalid value: {shown}: {message}", "field": field}


def _required(field: str, detail: str = "") -> Cause:
    return {"reason": "FieldValueRequired", "message": "Required value" + (f": {detail}" if detail else ""),
            "field": field}


def _duplicate(field: str, value: str) -> Cause:
    return {"reason": "FieldValueDuplicate", "message": f'Duplicate value: "{value}"', "field": field}


def object_meta(meta: dict[str, Any], name_rule: Any) -> list[Cause]:
    """ValidateObjectMeta: the name by `name_rule`, label keys and values, annotation keys."""
    causes = []
    name = meta.get("name") or ""
    if not name and not meta.get("generateName"):
        causes.append(_required("metadata.name", "name or generateName is required"))
    causes += [_invalid("metadata.name", name, m) for m in (name_rule(name) if name else [])]
    for key, value in (meta.get("labels") or {}).items():
        causes += [_invalid("metadata.labels", key, m) for m in qualified_name(key)]
        causes += [_invalid("metadata.labels", value, m) for m in label_value(str(value))]
    for key in meta.get("annotations") or {}:
        causes += [_invalid("metadata.annotations", key, m) for m in qualified_name(key.lower())]
    return causes


def _resource_name(name: str, field: str) -> list[Cause]:
    if name in _STANDARD_RESOURCES or name.startswith("hugepages-"):
        return []
    if "/" in name and not name.split("/")[0].endswith("kubernetes.io") and not qualified_name(name):
        return []
    return [_invalid(field, name, "must be a standard resource for containers")]


def _extended(name: str) -> bool:
    return name not in _STANDARD_RESOURCES and not name.startswith("hugepages-")


def _quantities(values: dict[str, Any], path: str) -> tuple[dict[str, Decimal], list[Cause]]:
    parsed, causes = {}, []
    for name, raw in values.items():
        field = f"{path}[{name}]"
        causes += _resource_name(name, field)
        amount = parse_quantity(raw)
        if amount < 0:
            causes.append(_invalid(field, raw, "must be greater than or equal to 0"))
        if _extended(name) and amount != amount.to_integral_value():
            causes.append(_invalid(field, raw, "must be an integer"))
        parsed[name] = amount
    return parsed, causes


def resources(requirements: dict[str, Any], path: str) -> list[Cause]:
    """ValidateResourceRequirements: names, signs, integers, requests against limits."""
    limits, causes = _quantities(requirements.get("limits") or {}, f"{path}.limits")
    requests, more = _quantities(requirements.get("requests") or {}, f"{path}.requests")
    causes += more
    raw_limits = requirements.get("limits") or {}
    for name, amount in requests.items():
        raw = (requirements.get("requests") or {})[name]
        if name in limits:
            if _extended(name) and amount != limits[name]:
                causes.append(_invalid(f"{path}.requests", raw, f"must be equal to {name} limit of {raw_limits[name]}"))
            elif amount > limits[name]:
                causes.append(_invalid(f"{path}.requests", raw,
                                       f"must be less than or equal to {name} limit of {raw_limits[name]}"))
        elif _extended(name):
            causes.append(_required(f"{path}.limits", "Limit must be set for non overcommitable resources"))
    return causes


def container(spec: dict[str, Any], path: str, seen: set[str]) -> list[Cause]:
    causes = []
    name = spec.get("name") or ""
    if not name:
        causes.append(_required(f"{path}.name"))
    else:
        causes += [_invalid(f"{path}.name", name, m) for m in dns1123_label(name)]
        if name in seen:
            causes.append(_duplicate(f"{path}.name", name))
        seen.add(name)
    if not spec.get("image"):
        causes.append(_required(f"{path}.image"))
    for i, env in enumerate(spec.get("env") or []):
        env_name = env.get("name") or ""
        field = f"{path}.env[{i}].name"
        causes += [_required(field)] if not env_name else [_invalid(field, env_name, m) for m in env_var_name(env_name)]
    return causes + resources(spec.get("resources") or {}, f"{path}.resources")


def _quantity_maps(kind: str, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The maps of quantities in an object of `kind`: containers' requests and limits, a quota's hard limits."""
    spec = obj.get("spec") or {}
    if kind == "ResourceQuota":
        return [spec.get("hard") or {}]
    if kind != "Pod":
        return []
    return [(c.get("resources") or {}).get(k) or {} for c in spec.get("containers") or []
            for k in ("requests", "limits")]


def decode_error(kind: str, obj: dict[str, Any]) -> str | None:
    """The 400 message of a body that cannot be decoded into `kind` (a quantity ParseQuantity refuses)."""
    for values in _quantity_maps(kind, obj):
        for raw in values.values():
            try:
                parse_quantity(raw)
            except ValueError as exc:
                return f'{kind} in version "v1" cannot be handled as a {kind}: {exc}'
    return None


def quota_hard(obj: dict[str, Any]) -> list[Cause]:
    """ValidateResourceQuotaSpec's checks of `spec.hard` values: non-negative, and whole for object counts."""
    causes = []
    for name, raw in ((obj.get("spec") or {}).get("hard") or {}).items():
        amount, field = parse_quantity(raw), f"spec.hard[{name}]"
        if amount < 0:
            causes.append(_invalid(field, raw, "must be greater than or equal to 0"))
        if name in _INTEGER_RESOURCES and amount != amount.to_integral_value():
            causes.append(_invalid(field, raw, "must be an integer"))
    return causes


def secret_keys(obj: dict[str, Any]) -> list[Cause]:
    """ValidateSecret's keys (IsConfigMapKey) of `data` and `stringData`."""
    causes = []
    for field in ("data", "stringData"):
        for key in obj.get(field) or {}:
            if len(key) > 253:
                causes.append(_invalid(f"{field}[{key}]", key, max_len_error(253)))
            if not re.fullmatch(_SECRET_KEY_FMT, key):
                causes.append(_invalid(f"{field}[{key}]", key, regex_error(
                    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'", _SECRET_KEY_FMT,
                    "key.name", "KEY_NAME", "key-name")))
    return causes


def validate(kind: str, obj: dict[str, Any]) -> list[Cause]:
    """The causes of a 422 for creating `obj`, a `kind` of Pod, Namespace, ServiceAccount, Secret or
    ResourceQuota."""
    meta = obj.get("metadata") or {}
    if kind == "Namespace":
        return object_meta(meta, dns1123_label)
    if kind == "ServiceAccount":
        return object_meta(meta, dns1123_subdomain)
    if kind == "Secret":
        return object_meta(meta, dns1123_subdomain) + secret_keys(obj)
    if kind == "ResourceQuota":
        return object_meta(meta, dns1123_subdomain) + quota_hard(obj)
    causes = object_meta(meta, dns1123_subdomain)
    containers = (obj.get("spec") or {}).get("containers") or []
    if not containers:
        causes.append(_required("spec.containers"))
    seen: set[str] = set()
    for i, spec in enumerate(containers):
        causes += container(spec, f"spec.containers[{i}]", seen)
    return causes


def invalid_message(kind: str, name: str, causes: list[Cause]) -> str:
    """errors.NewInvalid's message: one cause plain, several in brackets."""
    errors = [f"{c['field']}: {c['message']}" for c in causes]
    joined = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
    return f'{kind} "{name}" is invalid: {joined}'


def _restricted_violations(spec: dict[str, Any]) -> list[str]:
    """Pod Security Standards, `restricted` level: the checks a task pod's fields can fail (no volumes,
    ports or probes are made here)."""
    pod_context = spec.get("securityContext") or {}
    containers = spec.get("containers") or []
    names = ", ".join(f'"{c.get("name")}"' for c in containers)
    plural = "s" if len(containers) > 1 else ""
    contexts = [(c.get("name"), c.get("securityContext") or {}) for c in containers]
    violations = []
    if any(spec.get(f) for f in ("hostNetwork", "hostPID", "hostIPC")):
        violations.append("host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)")
    if bad := [n for n, c in contexts if c.get("privileged")]:
        violations.append(f'privileged (container "{bad[0]}" must not set securityContext.privileged=true)')
    if bad := [n for n, c in contexts if c.get("allowPrivilegeEscalation") is not False]:
        violations.append(f"allowPrivilegeEscalation != false (container{plural} {names} must set "
                          "securityContext.allowPrivilegeEscalation=false)")
    if bad := [n for n, c in contexts if "ALL" not in ((c.get("capabilities") or {}).get("drop") or [])
               or set((c.get("capabilities") or {}).get("add") or []) - {"NET_BIND_SERVICE"}]:
        violations.append(f'unrestricted capabilities (container "{bad[0]}" must set '
                          'securityContext.capabilities.drop=["ALL"])')
    if not all(c.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is True for _, c in contexts):
        violations.append(f"runAsNonRoot != true (pod or container{plural} {names} must set "
                          "securityContext.runAsNonRoot=true)")
    if pod_context.get("runAsUser") == 0 or any(c.get("runAsUser") == 0 for _, c in contexts):
        violations.append("runAsUser=0 (pod and containers must not set runAsUser=0)")
    profile = (pod_context.get("seccompProfile") or {}).get("type")
    if not all((c.get("seccompProfile") or {}).get("type", profile) in ("RuntimeDefault", "Localhost")
               for _, c in contexts):
        violations.append(f'seccompProfile (pod or container{plural} {names} must set '
                          'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')
    return violations


def pod_security_refusal(namespace_labels: dict[str, str], obj: dict[str, Any]) -> str | None:
    """The 403 message of Pod Security Admission when the namespace enforces `restricted` and the pod fails it."""
    if namespace_labels.get("pod-security.kubernetes.io/enforce") != "restricted":
        return None
    violations = _restricted_violations(obj.get("spec") or {})
    if not violations:
        return None
    version = namespace_labels.get("pod-security.kubernetes.io/enforce-version", "latest")
    name = (obj.get("metadata") or {}).get("name")
    return f'pods "{name}" is forbidden: violates PodSecurity "restricted:{version}": {", ".join(violations)}'
