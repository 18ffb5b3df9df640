"""Kubernetes quantities: the grammar of quantity.go, exact values, and the pod rules registration applies.

Two oracles besides the tables: strings built from the grammar with their value computed alongside in
exact fractions, and the emulator's independent reading of ParseQuantity's scanner
(`tests.support.kube_validation.parse_quantity`): whatever slipstream accepts, Kubernetes reads the same.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import ValidationError
from chalicelib.spec.quantities import check_resources, is_quantity, parse_quantity, quantity_problem
from tests.support import kube_validation

VALID = {
    "0": 0, "1": 1, "+1": 1, "-1": -1, "007": 7, "1.": 1, ".5": Fraction(1, 2), "1.5": Fraction(3, 2),
    "500m": Fraction(1, 2), "100n": Fraction(1, 10**7), "3u": Fraction(3, 10**6), "1k": 10**3, "1M": 10**6,
    "1G": 10**9, "1T": 10**12, "1P": 10**15, "1E": 10**18, "1Ki": 2**10, "1Mi": 2**20, "1.5Gi": 3 * 2**29,
    "1Ti": 2**40, "1Pi": 2**50, "1Ei": 2**60, "1e3": 10**3, "1E3": 10**3, "1e-3": Fraction(1, 1000),
    "1e+3": 1000, "2.5e2": 250, "0.1e1": 1, "1e09": 10**9, "12e-1": Fraction(6, 5), "0.5n": Fraction(1, 10**9),
    "1e-12": Fraction(1, 10**9), "8Ei": 2**63 - 1,  # rounded up to a nano; binary capped at 2^63-1, as Kubernetes does
}
INVALID = [
    "", " ", "4GB", "4gb", "4gi", "4ki", "1KI", "1b", "1i", "1e", "1e2.5", "1e+", "e3", "Gi", ".", "-", "+", "1..2",
    "1.2.3", "1 Gi", " 1", "1 ", "1\n", "1,5", "\u0661", "Infinity", "nan", "1_000", "0x10", "1Ki1", "1Mi-3", "1ee3",
    "1e3k", "1kk", "--1", "+-1", "1e2147483648", "one", "1.5 cpu", "1/2",
]


@pytest.mark.parametrize("text", list(VALID))
def test_valid_quantities_have_their_exact_value(text):
    assert Fraction(parse_quantity(text)) == VALID[text]
    assert is_quantity(text)


@pytest.mark.parametrize("text", INVALID)
def test_invalid_quantities_are_refused(text):
    assert not is_quantity(text)
    with pytest.raises(ValueError, match=r"is not a Kubernetes quantity|exponent beyond"):
        parse_quantity(text)


@pytest.mark.parametrize("value", [None, 1, 1.5, ["1"], b"1"])
def test_only_strings_are_quantities(value):
    assert not is_quantity(value)


SUFFIXES = {"": Fraction(1), "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000),
            "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
            "P": Fraction(10**15), "E": Fraction(10**18), **{s: Fraction(2 ** (10 * i)) for i, s in
                                                            enumerate(["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"], 1)}}
digits = st.text("0123456789", min_size=1, max_size=6)


@st.composite
def grammar_quantities(draw: st.DrawFn) -> tuple[str, Fraction]:
    """<signedNumber><suffix> and its value, built independently of the parser."""
    sign = draw(st.sampled_from(["", "+", "-"]))
    shape = draw(st.sampled_from(["int", "int.frac", "int.", ".frac"]))
    whole, frac = draw(digits), draw(digits)
    number = {"int": whole, "int.frac": f"{whole}.{frac}", "int.": f"{whole}.", ".frac": f".{frac}"}[shape]
    value = Fraction(int(whole) if shape != ".frac" else 0)
    if "frac" in shape:
        value += Fraction(int(frac), 10 ** len(frac))
    if draw(st.booleans()):
        exp_sign, exponent = draw(st.sampled_from(["", "+", "-"])), draw(st.integers(0, 30))
        suffix = f"{draw(st.sampled_from('eE'))}{exp_sign}{exponent}"
        scale = Fraction(10) ** (-exponent if exp_sign == "-" else exponent)
        binary = False
    else:
        suffix = draw(st.sampled_from(list(SUFFIXES)))
        scale, binary = SUFFIXES[suffix], suffix.endswith("i")
    value *= -1 if sign == "-" else 1
    value *= scale
    if value.denominator > 1 and (value * 10**9).denominator > 1:  # ParseQuantity rounds up to a nano
        nanos = abs(value) * 10**9
        value = Fraction(-(-nanos.numerator // nanos.denominator), 10**9) * (1 if value > 0 else -1)
    if binary and abs(value) > 2**63 - 1:
        value = (2**63 - 1) * (1 if value > 0 else -1)
    return sign + number + suffix, value


@given(grammar_quantities())
def test_every_string_of_the_grammar_parses_to_its_value(case):
    text, value = case
    assert Fraction(parse_quantity(text)) == value


@given(st.text("0123456789.+-eEinumkKMGTPb", min_size=1, max_size=10))
def test_what_slipstream_accepts_kubernetes_reads_the_same(text):
    ours = is_quantity(text)
    try:
        theirs: Decimal | None = kube_validation.parse_quantity(text)
    except ValueError:
        theirs = None
    if ours:
        assert theirs is not None, text
        if abs(theirs) < 2**62:
            assert abs(parse_quantity(text) - theirs) <= Decimal("1e-9"), text
    elif theirs is not None:  # ParseQuantity reads a number without digits as 0: refused here on purpose
        assert not any(c.isdigit() for c in text.split("e")[0].split("E")[0].rstrip("KMGTPEi")), text


@pytest.mark.parametrize("resource, value, fragment", [
    ("mem", "4GB", "(did you mean '4Gi' or '4G'?): memory takes e.g. '512Mi', '4Gi' or '4G'"),
    ("mem", "512mb", "did you mean '512Mi' or '512M'?"),
    ("mem", "4gi", "did you mean '4Gi'?"),
    ("mem", "500m", "is not a whole number of bytes ('m' means milli: did you mean '500Mi' or '500M'?)"),
    ("ephemeral_storage", "1.5", "is not a whole number of bytes: ephemeral storage takes e.g."),
    ("cpu", "500 m", "did you mean '500m'?"),
    ("cpu", "two", "is not a Kubernetes quantity: cpu takes e.g. '500m', '1' or '2.5', a number and an optional"),
    ("cpu", "-1", "is negative"),
    ("gpu", "0.5", "is not a whole number: a pod gets whole GPUs"),
    ("gpu", "1.5", "a GPU count takes e.g. '1' or '2'"),
])
def test_problems_name_the_value_and_give_examples(resource, value, fragment):
    problem = quantity_problem(resource, value)
    assert problem is not None and problem.startswith(f"[{value}] ") and fragment in problem


@pytest.mark.parametrize("resource, value", [("cpu", "250m"), ("cpu", "1.5"), ("mem", "1.5Gi"), ("mem", "1e9"),
                                             ("gpu", "2"), ("gpu", "1k"), ("ephemeral_storage", "10G")])
def test_good_values_have_no_problem(resource, value):
    assert quantity_problem(resource, value) is None


OWNER = "task [ml/development/train@v1]"


def test_a_request_above_its_limit_is_refused_in_any_units():
    with pytest.raises(ValidationError, match=r"^task \[ml/development/train@v1\]: requests.mem \[1Gi\] is more than "
                                              r"limits.mem \[1G\]; Kubernetes refuses such a pod"):
        check_resources(OWNER, {"mem": "1Gi"}, {"mem": "1G"})
    check_resources(OWNER, {"cpu": "1000m", "mem": "1G"}, {"cpu": "1", "mem": "1Gi"})  # equal, and below
    check_resources(OWNER, {"cpu": "8"}, {"mem": "1Gi"})  # no limit of that resource: nothing to exceed


def test_the_first_bad_quantity_names_owner_field_and_value():
    with pytest.raises(ValidationError, match=r"^task \[ml/development/train@v1\]: limits.gpu \[0.5\] is not a whole"):
        check_resources(OWNER, {"cpu": "1", "gpu": None}, {"gpu": "0.5", "mem": ""})
    with pytest.raises(ValidationError, match=r"requests.mem \[4GB\] is not a Kubernetes quantity"):
        check_resources(OWNER, {"mem": "4GB"}, {})
