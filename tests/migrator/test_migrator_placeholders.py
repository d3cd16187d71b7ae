"""`{{app_user}}` in migration files: rendered for the configured role, checksums kept stable."""

from __future__ import annotations

import pytest
from conftest import REAL_MIGRATIONS

from migrator import InvalidMigrationsError, Migrator, Target, load_migrations
from migrator.discovery import migrations_from_texts
from migrator.placeholders import identifier

CHECKSUMS_BEFORE_PLACEHOLDERS = {
    "0001_instruments": "cb06649ce83ef7061dbd054d1485cde18d6742f8466e9e878eecbbcccb4c42b1",
    "0002_orders_trades": "ca1e366a914a49959447b0f942cbdc32ddcdc8fc6217f4b3439cf775ec8e39d8",
    "0003_positions": "88da2f0687874b711284c35b5bc2c027f9a7005e7d62b444166032cb9a3d220b",
    "0004_market_data": "872e8c7d852da194e099d8a6757948703a23cb2343086e51ee4128acd7627c05",
    "0005_strategies": "f8c3c3200f70441c88089320f504e72c344b093ca2ac8423697a8933934cb27d",
    "0006_risk_compliance": "e10eae6e8a61d8c9ed7932a42f826a4fcbecf80f251e6a3e9b067a52f73eb21f",
    "0007_views": "220a0d1ca4f36ff20d439faaedf9dfada7c73d2671dd4440cfe90529790ebb70",
    "0008_grants": "01f9db513de3c849d65c74a650e79cb86c2659b923e3bf9a0dff8207f9a2fa20",
}
"""Checksums the history tables of existing stacks hold (the files as committed before 0008
named its role through {{app_user}})."""

GRANT = "GRANT SELECT ON TABLE orders TO {{app_user}};"
DSN = "postgresql://root@db.example:26257/defaultdb"


def test_rendered_for_openalgo_the_checksums_are_those_existing_stacks_recorded() -> None:
    migrations = load_migrations(REAL_MIGRATIONS, app_user="openalgo")
    recorded = {m.id: m.checksum for m in migrations if m.id in CHECKSUMS_BEFORE_PLACEHOLDERS}
    assert recorded == CHECKSUMS_BEFORE_PLACEHOLDERS


def test_grants_name_the_app_user_they_are_rendered_for() -> None:
    grants = load_migrations(REAL_MIGRATIONS, app_user="trader_app").get("0008_grants")
    assert grants is not None
    assert "TO trader_app;" in grants.portable.text
    assert "openalgo" not in grants.portable.text


def test_checksum_follows_the_app_user() -> None:
    for_openalgo = migrations_from_texts([("0001_grants", GRANT, None)])
    for_trader = migrations_from_texts([("0001_grants", GRANT, None)], app_user="trader")
    assert for_openalgo.migrations[0].checksum != for_trader.migrations[0].checksum


def test_statements_hold_the_rendered_role() -> None:
    migrations = migrations_from_texts([("0001_grants", GRANT, None)], app_user="trader")
    assert [s.text for s in migrations.migrations[0].portable.statements] == [
        "GRANT SELECT ON TABLE orders TO trader"
    ]


@pytest.mark.parametrize(("name", "shown"), [("trader", "trader"), ("user", '"user"')])
def test_app_user_is_quoted_only_when_a_bare_name_would_not_mean_it(name: str, shown: str) -> None:
    assert identifier(name) == shown


def test_unknown_placeholder_is_refused_naming_file_line_and_the_allowed_one() -> None:
    with pytest.raises(InvalidMigrationsError) as caught:
        migrations_from_texts(
            [("0001_grants", "SELECT 1;\nGRANT SELECT ON t TO {{app_role}};", None)]
        )
    assert (
        "0001_grants.sql: line 2: unknown placeholder {{app_role}}; the only placeholder is "
        in (str(caught.value))
    )


def test_migrator_renders_the_migrations_for_its_targets_app_user() -> None:
    migrations = migrations_from_texts([("0001_grants", GRANT, None)])
    migrator = Migrator(Target(admin_dsn=DSN, app_user="trader"), migrations)
    assert migrator.migrations.migrations[0].portable.text == (
        "GRANT SELECT ON TABLE orders TO trader;"
    )


@pytest.mark.parametrize("role", ["public", "current_user", "pg_monitor", "root", "admin"])
def test_reserved_role_names_are_refused_as_app_user(role: str) -> None:
    with pytest.raises(ValueError, match=f"app_user '{role}' is reserved"):
        Target(admin_dsn=DSN, app_user=role)
