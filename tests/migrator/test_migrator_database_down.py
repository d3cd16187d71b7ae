"""A server that is down, or goes down mid-apply, gives a clear error and leaves history intact."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import MigrationWriter, Names
from pg_queries import fetch, history_ids, table_exists
from postgres_server import PostgresServer, ServerInfo, free_port

from migrator import (
    ConnectionFailedError,
    LeaseSettings,
    MigrationFailedError,
    Migrator,
    Target,
    load_migrations,
)

pytestmark = pytest.mark.postgres

MakeMigrator = Callable[..., Migrator]


def test_unreachable_server_is_a_clear_error_naming_the_dsn_without_password(
    pg_server: ServerInfo, names: Names, migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "CREATE TABLE orders (id INT);")
    port = free_port()
    dsn = f"postgresql://postgres:{pg_server.admin_password}@127.0.0.1:{port}/postgres"
    migrator = Migrator(
        Target(admin_dsn=dsn, database=names.database), load_migrations(migrations_dir)
    )
    with pytest.raises(ConnectionFailedError) as caught:
        migrator.apply()
    message = str(caught.value)
    assert message.startswith(f"cannot connect to postgresql://postgres:***@127.0.0.1:{port}/")
    assert "Connection refused" in message
    assert pg_server.admin_password not in message


def test_wrong_admin_password_is_reported_as_authentication_failure(
    pg_server: ServerInfo, names: Names, migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "CREATE TABLE orders (id INT);")
    dsn = pg_server.dsn(password="not-the-password")
    migrator = Migrator(
        Target(admin_dsn=dsn, database=names.database), load_migrations(migrations_dir)
    )
    with pytest.raises(ConnectionFailedError, match="password authentication failed") as caught:
        migrator.plan()
    assert "not-the-password" not in str(caught.value)


def _crash_when_sleeping(instance: PostgresServer, crashed: threading.Event) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        sleeping = fetch(
            instance.info,
            "postgres",
            "SELECT 1 FROM pg_stat_activity WHERE application_name = 'openalgo-migrator' "
            "AND query LIKE '%%SELECT pg_sleep(%%'",
        )
        if sleeping:
            instance.crash()
            crashed.set()
            return
        time.sleep(0.05)


def test_server_crash_mid_migration_keeps_earlier_history_and_rolls_back_the_current_one(
    pg_instance: PostgresServer,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    info = pg_instance.info
    write_migration("0001_orders", "CREATE TABLE orders (id INT);")
    write_migration("0002_trades", "CREATE TABLE trades (id INT);\nSELECT pg_sleep(60);\n")
    short_lease = LeaseSettings(duration_s=1, wait_s=20, poll_s=0.05)
    migrator = Migrator(
        migrator_for(names, migrations_dir).target,
        load_migrations(migrations_dir),
        lease=short_lease,
    )
    crashed = threading.Event()
    crasher = threading.Thread(target=_crash_when_sleeping, args=(pg_instance, crashed))
    crasher.start()
    try:
        with pytest.raises(MigrationFailedError) as caught:
            migrator.apply()
    finally:
        crasher.join()
        if crashed.is_set():
            pg_instance.launch()
    assert str(caught.value).startswith(
        "0002_trades.sql: failed while running statements 1 to 2 of 2 (lines 1 to 2), "
        "sent in one round trip"
    )
    assert history_ids(info, names.database) == ["0001_orders"]
    assert not table_exists(info, names.database, "trades")
    write_migration("0002_trades", "CREATE TABLE trades (id INT);\n")
    resumed = Migrator(migrator.target, load_migrations(migrations_dir), lease=short_lease).apply()
    assert resumed.applied_ids == ("0002_trades",)
