"""Kubernetes resource quantities, parsed exactly so sizing rules can be checked before deploy."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|(?P<exponent>[eE][+-]?\d+)|(?P<decimal>[numkMGTPE]?))$"
)

QUANTITY_HELP = "a Kubernetes quantity such as 500m, 2, 512Mi, 16Gi or 100G"


def parse_quantity(text: str) -> Decimal:
    """Return the value of a Kubernetes quantity (bytes for memory, cores for CPU).

    Raises ValueError naming the text when it is not a quantity the API server accepts.
    """
    match = _QUANTITY.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not {QUANTITY_HELP}")
    try:
        number = Decimal(match["number"])
    except InvalidOperation as error:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"{text!r} is not {QUANTITY_HELP}") from error
    if match["binary"]:
        return number * _BINARY[match["binary"]]
    if match["exponent"]:
        return number * Decimal(10) ** int(match["exponent"][1:])
    return number * _DECIMAL[match["decimal"] or ""]


def mebibytes(quantity: str) -> int:
    """Whole MiB in a memory quantity, rounded down."""
    return int(parse_quantity(quantity) // 2**20)
