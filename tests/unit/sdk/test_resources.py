"""Resources are checked where they are written: a quantity Kubernetes would refuse fails at definition,
with the message registration would give."""

from __future__ import annotations

import pytest

from chalicelib.errors import ValidationError
from chalicelib.spec.quantities import check_resources
from slipstream import Resources, task


@pytest.mark.parametrize("fields, message", [
    ({"mem": "4GB"}, r"^Resources: mem \[4GB\] is not a Kubernetes quantity \(did you mean '4Gi' or '4G'\?\)"),
    ({"cpu": "1 core"}, r"^Resources: cpu \[1 core\] is not a Kubernetes quantity: cpu takes e.g. '500m'"),
    ({"gpu": 1.5}, r"^Resources: gpu \[1.5\] is not a whole number"),
    ({"cpu": float("inf")}, r"^Resources: cpu \[inf\] is not a Kubernetes quantity"),
    ({"ephemeral_storage": "10gb"}, r"did you mean '10Gi' or '10G'\?"),
])
def test_a_quantity_kubernetes_refuses_fails_where_it_is_written(fields, message):
    with pytest.raises(ValidationError, match=message):
        Resources(**fields)


def test_the_message_is_the_one_registration_gives():
    with pytest.raises(ValidationError) as sdk:
        Resources(mem="4GB")
    with pytest.raises(ValidationError) as registration:
        check_resources("task [p/d/t@v1]", {"mem": "4GB"}, {})
    assert str(sdk.value).removeprefix("Resources: ") == str(registration.value).removeprefix(
        "task [p/d/t@v1]: requests.")


def test_quantities_kubernetes_accepts_reach_the_spec_as_written():
    def fn(x: int) -> int:
        return x

    defined = task(requests=Resources(cpu=0.5, mem="1e9", gpu=2), limits=Resources(cpu="2", mem="1Gi"))(fn)
    assert defined.container["requests"] == {"cpu": "0.5", "mem": "1e9", "gpu": "2"}
    assert defined.container["limits"] == {"cpu": "2", "mem": "1Gi"}
