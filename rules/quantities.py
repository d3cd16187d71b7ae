"""Kubernetes resource quantities, parsed exactly so sizing rules can be checked before deploy.

Parsing is deliberately stricter than the API server: no surrounding whitespace, no sign, ASCII
digits only and a short exponent, so a typo is refused here instead of being read as a size.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

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
    r"(?P<number>[0-9]{1,30}(?:\.[0-9]{1,9})?|\.[0-9]{1,9})"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|(?P<exponent>[eE][+-]?[0-9]{1,2})|(?P<decimal>[numkMGTPE]?))",
    re.ASCII,
)

QUANTITY_HELP = "a Kubernetes quantity such as 500m, 2, 512Mi, 16Gi or 100G"


def parse_quantity(text: str) -> Decimal:
    """Return the value of a Kubernetes quantity (bytes for memory, cores for CPU).

    Raises ValueError naming the text when it is not a plain, unsigned quantity.
    """
    match = _QUANTITY.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not {QUANTITY_HELP}")
    with localcontext() as context:
        context.prec = 80  # exact for every quantity the pattern admits
        number = Decimal(match["number"])
        if match["binary"]:
            return number * _BINARY[match["binary"]]
        if match["exponent"]:
            return number.scaleb(int(match["exponent"][1:]))
        return number * _DECIMAL[match["decimal"] or ""]


def mebibytes(quantity: str) -> int:
    """Whole MiB in a memory quantity, rounded down."""
    return int(parse_quantity(quantity) // 2**20)
