"""The README's configuration table and the config model list the same keys, bounds, defaults."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from stack_harness import ROOT

from components.config import IntRange, QuantityRange, Scaling, leaf_fields

FIELDS = dict(leaf_fields())


def readme_rows() -> dict[str, list[str]]:
    """Each key of the configuration table with its cells (type, default, dev, prod)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        for key in re.findall(r"`([^`]+)`", cells[0]):
            rows[key] = cells[1:]
    return rows


ROWS = readme_rows()


def shown_default(value: Any) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return f"`{json.dumps(list(value))}`"
    if isinstance(value, dict):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def test_the_table_lists_exactly_the_models_keys() -> None:
    assert set(ROWS) == set(FIELDS)


@pytest.mark.parametrize(
    ("key", "bounds"),
    [
        (key, rule)
        for key, field in FIELDS.items()
        for rule in field.metadata
        if isinstance(rule, IntRange | QuantityRange)
    ]
    + [("scaling.decommissioned", Scaling.ORDINALS)],
)
def test_each_bounded_key_shows_its_bounds(key: str, bounds: IntRange | QuantityRange) -> None:
    assert bounds.describe() in ROWS[key][0], f"README row of {key} lacks {bounds.describe()}"


DEFAULTS = {
    key: field.get_default(call_default_factory=True)
    for key, field in FIELDS.items()
    if not field.is_required()
}
"""Defaults of None are left out: the table says them in words (unset, cluster default)."""


@pytest.mark.parametrize("key", [key for key, value in DEFAULTS.items() if value is not None])
def test_each_default_in_the_table_is_the_models(key: str) -> None:
    assert shown_default(DEFAULTS[key]) in ROWS[key][1], f"README default of {key}"
