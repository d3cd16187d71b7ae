"""The project's sql/migrations applied by the engine to PostgreSQL 15, used as OpenAlgo would."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from conftest import FAST_LEASE, Names, admin_execute
from pg_queries import fetch, migrator_log_lines
from postgres_server import ServerInfo
from psycopg import sql

from migrator import ApplyResult, MigrationSet, Migrator, Target

pytestmark = pytest.mark.postgres

TABLES = (
    "orders",
    "trades",
    "positions",
    "position_history",
    "instruments",
    "market_data",
    "candles",
    "strategies",
    "strategy_state",
    "signals",
    "strategy_performance",
    "risk_limits",
    "daily_risk_metrics",
    "audit_log",
    "alerts",
)
INDEXES = (
    "idx_orders_account_status",
    "idx_trades_account_executed",
    "idx_market_data_instrument_time",
    "idx_positions_account",
)
VIEWS = ("v_active_positions",)

PLACE_ORDER = """
        INSERT INTO orders (account_id, instrument_id, order_type,
                           transaction_type, product_type, quantity, price)
        VALUES (%s, %s, 'LIMIT', 'BUY', 'DELIVERY', %s, %s)
        RETURNING id
    """


@pytest.fixture
def migrator(
    pg_server: ServerInfo, openalgo_names: Names, real_migrations: MigrationSet
) -> Migrator:
    target = Target(
        admin_dsn=pg_server.dsn(),
        database=openalgo_names.database,
        app_user=openalgo_names.app_user,
        app_password=openalgo_names.app_password,
    )
    return Migrator(target, real_migrations, lease=FAST_LEASE)


@pytest.fixture
def applied(migrator: Migrator) -> ApplyResult:
    return migrator.apply()


@pytest.fixture
def app_conn(
    pg_server: ServerInfo, openalgo_names: Names, applied: ApplyResult
) -> Iterator[psycopg.Connection]:
    conninfo = pg_server.conninfo(
        openalgo_names.database, user="openalgo", password=openalgo_names.app_password
    )
    with psycopg.connect(conninfo) as conn:
        yield conn


def test_full_apply_creates_every_table_index_and_view_of_the_schema(
    pg_server: ServerInfo, openalgo_names: Names, applied: ApplyResult
) -> None:
    relations = {
        name: kind
        for name, kind in fetch(
            pg_server,
            openalgo_names.database,
            "SELECT c.relname, c.relkind::text FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
        )
    }
    assert {t: relations.get(t) for t in TABLES} == dict.fromkeys(TABLES, "r")
    assert {i: relations.get(i) for i in INDEXES} == dict.fromkeys(INDEXES, "i")
    assert {v: relations.get(v) for v in VIEWS} == dict.fromkeys(VIEWS, "v")


def test_every_real_migration_is_recorded(
    applied: ApplyResult, real_migrations: MigrationSet
) -> None:
    assert applied.applied_ids == real_migrations.ids


def test_original_place_order_insert_works_as_the_app_user(
    app_conn: psycopg.Connection,
) -> None:
    with app_conn.cursor() as cur:
        cur.execute(
            "INSERT INTO instruments (symbol, brsymbol, exchange, token, instrumenttype) "
            "VALUES ('RELIANCE', 'RELIANCE-EQ', 'NSE', '2885', 'EQ') RETURNING id"
        )
        instrument_id = cur.fetchone()[0]  # type: ignore[index]
        cur.execute(PLACE_ORDER, ("AB1234", instrument_id, 100, 2550.50))
        order_id = cur.fetchone()[0]  # type: ignore[index]
    app_conn.commit()
    row = app_conn.execute(
        "SELECT status, quantity, price FROM orders WHERE id = %s", (order_id,)
    ).fetchone()
    assert row == ("pending", 100, Decimal("2550.5000"))


def test_order_fill_and_position_show_up_in_v_active_positions(
    app_conn: psycopg.Connection,
) -> None:
    with app_conn.cursor() as cur:
        cur.execute(
            "INSERT INTO instruments (symbol, brsymbol, exchange, token, instrumenttype) "
            "VALUES ('INFY', 'INFY-EQ', 'NSE', '1594', 'EQ') RETURNING id"
        )
        instrument_id = cur.fetchone()[0]  # type: ignore[index]
        cur.execute(PLACE_ORDER, ("AB1234", instrument_id, 10, 1500))
        order_id = cur.fetchone()[0]  # type: ignore[index]
        cur.execute(
            "INSERT INTO trades (order_id, account_id, instrument_id, transaction_type, "
            "product_type, quantity, price) VALUES (%s, 'AB1234', %s, 'BUY', 'DELIVERY', 10, 1500)",
            (order_id, instrument_id),
        )
        cur.execute(
            "UPDATE orders SET status = 'complete', filled_quantity = 10, average_price = 1500 "
            "WHERE id = %s",
            (order_id,),
        )
        cur.execute(
            "INSERT INTO positions (account_id, instrument_id, product_type, quantity, "
            "average_price, last_price) VALUES ('AB1234', %s, 'DELIVERY', 10, 1500, 1510)",
            (instrument_id,),
        )
    app_conn.commit()
    row = app_conn.execute(
        "SELECT symbol, side, net_quantity, unrealized_pnl FROM v_active_positions "
        "WHERE account_id = 'AB1234'"
    ).fetchone()
    assert row == ("INFY", "LONG", 10, Decimal("100.0000"))


def test_app_user_cannot_change_the_schema(app_conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("CREATE TABLE intruder (id INT)")


def test_second_apply_of_the_real_schema_runs_zero_ddl(
    pg_server: ServerInfo, migrator: Migrator, applied: ApplyResult
) -> None:
    offset = pg_server.log_size()
    again = migrator.apply()
    assert (again.applied, again.ddl_statements) == ((), 0)
    assert migrator_log_lines(pg_server.log_since(offset)) == []


def test_real_companions_are_reported_skipped_on_postgresql(
    applied: ApplyResult, real_migrations: MigrationSet
) -> None:
    with_companion = [m.companion.name for m in real_migrations if m.companion is not None]
    assert with_companion
    assert [s.file_name for s in applied.skipped_companions] == with_companion


def test_grants_go_to_the_configured_app_user_not_to_a_role_named_openalgo(
    pg_server: ServerInfo, names: Names, openalgo_names: Names, real_migrations: MigrationSet
) -> None:
    admin_execute(pg_server, sql.SQL("CREATE ROLE openalgo LOGIN"))
    target = Target(
        admin_dsn=pg_server.dsn(),
        database=names.database,
        app_user=names.app_user,
        app_password=names.app_password,
    )
    Migrator(target, real_migrations, lease=FAST_LEASE).apply()
    [(app_can_write, openalgo_can_read)] = fetch(
        pg_server,
        names.database,
        "SELECT has_table_privilege(%s, 'orders', 'INSERT'), "
        "has_table_privilege('openalgo', 'orders', 'SELECT')",
        (names.app_user,),
    )
    assert (app_can_write, openalgo_can_read) == (True, False)
