"""Kubernetes quantity parsing, exact to the byte and the millicore."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.quantities import mebibytes, parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("1.5", Decimal("1.5")),
        ("512Mi", Decimal(512 * 2**20)),
        ("16Gi", Decimal(16 * 2**30)),
        ("100G", Decimal(100 * 10**9)),
        ("1k", Decimal(1000)),
        ("1e3", Decimal(1000)),
        ("2Ti", Decimal(2 * 2**40)),
    ],
)
def test_known_quantities_parse_to_their_value(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "Gi", "16GB", "16 Gi", "two", "1.2.3", "16gi", "1Ki2"])
def test_malformed_quantities_are_refused_with_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="is not a Kubernetes quantity"):
        parse_quantity(text)


@pytest.mark.parametrize(
    "text",
    [
        " 16Gi",
        "16Gi ",
        "16Gi\n",
        "-1Gi",
        "+1",
        "\uff11\uff16Gi",
        "1_000",
        "1e9999999",
        "5.",
        "1" * 31,
    ],
)
def test_whitespace_signs_non_ascii_digits_and_huge_exponents_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a Kubernetes quantity"):
        parse_quantity(text)


def test_largest_admitted_quantity_is_exact() -> None:
    assert int(parse_quantity("9" * 30 + "Ei")) == int("9" * 30) * 2**60


@given(st.integers(min_value=0, max_value=2**20))
def test_binary_suffixes_scale_by_1024(number: int) -> None:
    assert parse_quantity(f"{number}Ki") * 1024 == parse_quantity(f"{number}Mi")
    assert parse_quantity(f"{number}Mi") * 1024 == parse_quantity(f"{number}Gi")


@given(st.integers(min_value=0, max_value=10**6))
def test_millicores_are_thousandths(number: int) -> None:
    assert parse_quantity(f"{number}m") * 1000 == parse_quantity(str(number))


def test_mebibytes_round_down() -> None:
    assert mebibytes("1536Mi") == 1536
    assert mebibytes("1G") == 953
