"""The configuration table of docs/configuration.md is the one scripts/config-table prints from
the model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest
from config_table import document_table, render_table, stack_values, table_diff, with_table
from stack_harness import ROOT

from rules.config import IntRange, QuantityRange, Scaling, leaf_fields

FIELDS = dict(leaf_fields())
DOCUMENT = (ROOT / "docs" / "configuration.md").read_text()
TABLE = render_table()


def table_rows(table: str) -> dict[str, list[str]]:
    """Each key of a configuration table with its cells (type, default, dev, prod)."""
    rows: dict[str, list[str]] = {}
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        for key in re.findall(r"`([^`]+)`", cells[0]):
            rows[key] = cells[1:]
    return rows


ROWS = table_rows(TABLE)


def shown_default(value: Any) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return f"`{json.dumps(list(value))}`"
    if isinstance(value, dict):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def test_the_documented_table_is_the_one_the_script_prints() -> None:
    assert table_diff(DOCUMENT, TABLE) == [], "stale table: run scripts/config-table --write"


def test_a_documented_table_that_differs_from_the_model_is_reported() -> None:
    stale = TABLE.replace("| `3` | `3` | `4` |", "| `5` | `3` | `4` |")
    assert stale != TABLE
    diff = table_diff(with_table(DOCUMENT, stale), TABLE)
    assert "-| `replicas` | int, 1 to 100 (>= 3 with TLS or in prod) | `5` | `3` | `4` |\n" in diff


def test_writing_the_table_replaces_only_the_table() -> None:
    rewritten = with_table(DOCUMENT, "| new |\n")
    assert document_table(rewritten) == "| new |\n"
    assert rewritten.replace("| new |\n", document_table(DOCUMENT)) == DOCUMENT


def test_the_check_mode_passes_on_the_committed_document() -> None:
    script = ROOT / "scripts" / "config_table.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout) == (0, "")


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
    assert bounds.describe() in ROWS[key][0], f"table row of {key} lacks {bounds.describe()}"


DEFAULTS = {
    key: field.get_default(call_default_factory=True)
    for key, field in FIELDS.items()
    if not field.is_required()
}


@pytest.mark.parametrize("key", [key for key, value in DEFAULTS.items() if value is not None])
def test_each_default_in_the_table_is_the_models(key: str) -> None:
    assert shown_default(DEFAULTS[key]) in ROWS[key][1], f"table default of {key}"


@pytest.mark.parametrize(("stack", "column"), [("dev", 2), ("prod", 3)])
def test_each_stack_column_shows_the_committed_stack_files_values(stack: str, column: int) -> None:
    values = stack_values(stack)
    assert {key for key, cells in ROWS.items() if cells[column] != "—"} == set(values)
    assert ROWS["replicas"][column] == f"`{values['replicas']}`"
