"""Integers are 64-bit, as in Flyte's IR: larger ones are refused where they enter."""

import pytest

from chalicelib.errors import TypeMismatchError
from chalicelib.spec import types as lt
from slipstream.type_engine import to_json


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**100])
def test_integers_beyond_64_bits_are_refused(value):
    with pytest.raises(TypeMismatchError):
        lt.validate_value(lt.INTEGER, value)
    with pytest.raises(TypeMismatchError):
        to_json(value, int)
