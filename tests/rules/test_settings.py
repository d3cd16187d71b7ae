"""Cluster settings as config: valid names, settings the program owns, SQL literals."""

from __future__ import annotations

import pytest

from rules.settings import (
    audit_sql,
    reset_setting_sql,
    set_setting_sql,
    setting_literal,
    setting_refusal,
)


def test_a_dotted_lower_case_name_with_a_value_is_accepted() -> None:
    assert setting_refusal("kv.snapshot_rebalance.max_rate", "64MiB") is None


@pytest.mark.parametrize(
    ("name", "owner"),
    [
        ("cluster.preserve_downgrade_option", "openalgo:upgrade.finalize"),
        ("version", "openalgo:upgrade.finalize"),
        ("enterprise.license", "openalgo:license"),
        ("cluster.organization", "openalgo:organization"),
    ],
)
def test_a_setting_the_program_owns_is_refused_naming_where_to_change_it(
    name: str, owner: str
) -> None:
    refusal = setting_refusal(name, "x")
    assert refusal is not None
    assert refusal.startswith(f"{name!r}: set by the program; change ")
    assert owner in refusal


def test_a_name_that_is_not_a_setting_is_refused() -> None:
    assert setting_refusal("Max Rate", 1) == (
        "'Max Rate': a cluster setting name, dot-separated lower-case words "
        "(e.g. kv.snapshot_rebalance.max_rate)"
    )


def test_a_map_value_is_refused() -> None:
    assert setting_refusal("kv.x", {"a": 1}) == "'kv.x': a string, number or true/false value"


def test_literals_keep_the_setting_type() -> None:
    assert [setting_literal(v) for v in (True, 3, 0.5, "5m")] == ["true", "3", "0.5", "'5m'"]


def test_a_quote_in_a_string_value_stays_inside_the_literal() -> None:
    assert set_setting_sql("cluster.label", "o'neil") == (
        "SET CLUSTER SETTING cluster.label = 'o''neil'"
    )


def test_reset_and_audit_statements() -> None:
    assert reset_setting_sql("kv.x.y") == "RESET CLUSTER SETTING kv.x.y"
    assert audit_sql("openalgo.orders", on=True) == (
        "ALTER TABLE openalgo.orders EXPERIMENTAL_AUDIT SET READ WRITE"
    )
    assert audit_sql("openalgo.orders", on=False) == (
        "ALTER TABLE openalgo.orders EXPERIMENTAL_AUDIT SET OFF"
    )
