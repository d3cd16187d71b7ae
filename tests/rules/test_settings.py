"""Cluster settings as config: valid names, settings the program owns, SQL literals."""

from __future__ import annotations

import pytest

from rules.settings import (
    audit_modes_sql,
    audit_sql,
    reset_setting_sql,
    secret_readback,
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
    shown = "" if name == "enterprise.license" else " = 'x'"
    assert refusal.startswith(f"{name!r}{shown}: set by the program; change ")
    assert owner in refusal


def test_a_name_that_is_not_a_setting_is_refused() -> None:
    assert setting_refusal("Max Rate", 1) == (
        "'Max Rate': a cluster setting name, dot-separated lower-case words "
        "(e.g. kv.snapshot_rebalance.max_rate)"
    )


def test_a_map_value_is_refused() -> None:
    assert setting_refusal("kv.x", {"a": 1}) == (
        "'kv.x': a string, finite number or true/false value"
    )


def test_a_value_that_is_not_a_number_is_refused() -> None:
    assert setting_refusal("kv.x", float("nan")) == (
        "'kv.x': a string, finite number or true/false value"
    )


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


def test_audit_modes_are_read_for_the_named_live_tables() -> None:
    assert audit_modes_sql(["openalgo.orders", "openalgo.o'x"]) == (
        "SELECT database_name || '.' || name, audit_mode FROM crdb_internal.tables "
        "WHERE schema_name = 'public' AND drop_time IS NULL "
        "AND database_name || '.' || name IN ('openalgo.orders', 'openalgo.o''x')"
    )


@pytest.mark.parametrize(
    ("read", "kept"),
    [("crl-0-abc", "as declared"), ("", "unset"), ("crl-0-other", "another value")],
)
def test_a_secret_setting_read_back_keeps_only_whether_it_holds_the_declared_value(
    read: str, kept: str
) -> None:
    assert secret_readback("crl-0-abc", read) == kept
