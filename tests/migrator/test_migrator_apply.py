"""apply() against a real PostgreSQL 15: bootstrap, history, idempotence, refusals and failures."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from conftest import MigrationWriter, Names, admin_execute
from pg_queries import database_exists, fetch, history_ids, migrator_log_lines, table_exists
from postgres_server import ServerInfo
from psycopg import sql

from migrator import (
    ApplyRefusedError,
    CompanionStatus,
    ConnectionFailedError,
    MigrationFailedError,
    Migrator,
    ServerError,
    Target,
    load_migrations,
)
from migrator.session import Counters, Session

pytestmark = pytest.mark.postgres

MakeMigrator = Callable[..., Migrator]

ORDERS = "CREATE TABLE orders (id BIGINT PRIMARY KEY, qty INT NOT NULL);\n"
TRADES = "CREATE TABLE trades (\n  id BIGINT PRIMARY KEY,\n  order_id BIGINT\n);\n"
POSITIONS = "CREATE TABLE positions (id BIGINT PRIMARY KEY);\nCREATE INDEX ON positions (id);\n"


@pytest.fixture
def three(write_migration: MigrationWriter) -> None:
    write_migration("0001_orders", ORDERS)
    write_migration("0002_trades", TRADES)
    write_migration("0003_positions", POSITIONS)


@pytest.fixture
def orders_applied(
    names: Names, migrations_dir: Path, migrator_for: MakeMigrator, write_migration: MigrationWriter
) -> Migrator:
    """0001_orders applied: the database, the role and the engine's tables exist."""
    write_migration("0001_orders", ORDERS)
    migrator = migrator_for(names, migrations_dir)
    migrator.apply()
    return migrator


@pytest.mark.usefixtures("three")
def test_first_apply_creates_database_role_history_and_tables(
    pg_server: ServerInfo, names: Names, migrations_dir: Path, migrator_for: MakeMigrator
) -> None:
    result = migrator_for(names, migrations_dir).apply()
    assert result.applied_ids == ("0001_orders", "0002_trades", "0003_positions")
    assert f"created database {names.database}" in result.bootstrap
    assert f"created role {names.app_user}" in result.bootstrap
    assert history_ids(pg_server, names.database) == list(result.applied_ids)
    assert all(
        table_exists(pg_server, names.database, t) for t in ("orders", "trades", "positions")
    )


@pytest.mark.usefixtures("three")
def test_history_records_checksum_duration_and_who_applied(
    pg_server: ServerInfo, names: Names, migrations_dir: Path, migrator_for: MakeMigrator
) -> None:
    migrator = migrator_for(names, migrations_dir)
    migrator.apply()
    rows = fetch(
        pg_server,
        names.database,
        "SELECT id, checksum, duration_ms, applied_by, statements, applied_at IS NOT NULL "
        "FROM schema_migrations ORDER BY id",
    )
    expected = migrator.migrations.migrations
    assert [(r[0], r[1], r[4]) for r in rows] == [
        (m.id, m.checksum, len(m.portable.statements)) for m in expected
    ]
    assert all(r[2] >= 0 and r[3].startswith("postgres (") and r[5] for r in rows)


@pytest.mark.usefixtures("three")
def test_app_role_logs_in_with_its_password_and_has_no_admin_rights(
    pg_server: ServerInfo, names: Names, migrations_dir: Path, migrator_for: MakeMigrator
) -> None:
    migrator_for(names, migrations_dir).apply()
    dsn = pg_server.conninfo(names.database, user=names.app_user, password=names.app_password)
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == (False, False, False)


@pytest.mark.usefixtures("three")
def test_second_apply_runs_zero_ddl_statements(
    names: Names, migrations_dir: Path, migrator_for: MakeMigrator
) -> None:
    migrator = migrator_for(names, migrations_dir)
    migrator.apply()
    again = migrator.apply()
    assert (again.applied, again.bootstrap, again.ddl_statements) == ((), (), 0)
    assert again.already_applied == ("0001_orders", "0002_trades", "0003_positions")


@pytest.mark.usefixtures("three")
def test_second_apply_sends_no_ddl_or_write_the_server_would_log(
    pg_server: ServerInfo, names: Names, migrations_dir: Path, migrator_for: MakeMigrator
) -> None:
    migrator = migrator_for(names, migrations_dir)
    migrator.apply()
    offset = pg_server.log_size()
    migrator.apply()
    assert migrator_log_lines(pg_server.log_since(offset)) == []


@pytest.mark.usefixtures("three")
def test_server_log_does_see_the_first_apply(
    pg_server: ServerInfo, names: Names, migrations_dir: Path, migrator_for: MakeMigrator
) -> None:
    """Guards the previous test: the log check would catch DDL if there were any."""
    offset = pg_server.log_size()
    migrator_for(names, migrations_dir).apply()
    logged = "\n".join(migrator_log_lines(pg_server.log_since(offset)))
    assert "CREATE TABLE orders" in logged
    assert "INSERT INTO public.schema_migrations" in logged


@pytest.mark.usefixtures("three")
def test_second_apply_leaves_every_catalog_row_untouched(
    pg_server: ServerInfo, names: Names, migrations_dir: Path, migrator_for: MakeMigrator
) -> None:
    snapshot = (
        "SELECT c.oid::bigint, c.xmin::text, c.relfilenode::bigint FROM pg_class c "
        "UNION ALL SELECT oid::bigint, xmin::text, 0 FROM pg_authid ORDER BY 1"
    )
    migrator = migrator_for(names, migrations_dir)
    migrator.apply()
    before = fetch(pg_server, names.database, snapshot)
    migrator.apply()
    assert fetch(pg_server, names.database, snapshot) == before


@pytest.mark.usefixtures("orders_applied")
def test_new_migration_applies_only_itself(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0002_trades", TRADES)
    result = migrator_for(names, migrations_dir).apply()
    assert result.applied_ids == ("0002_trades",)
    assert result.ddl_statements == 1
    assert history_ids(pg_server, names.database) == ["0001_orders", "0002_trades"]


@pytest.mark.usefixtures("orders_applied")
def test_edited_applied_migration_is_refused_before_anything_is_applied(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0001_orders", ORDERS.replace("qty INT", "qty BIGINT"))
    write_migration("0002_trades", TRADES)
    with pytest.raises(ApplyRefusedError, match=r"0001_orders\.sql: changed after it was applied"):
        migrator_for(names, migrations_dir).apply()
    assert history_ids(pg_server, names.database) == ["0001_orders"]
    assert not table_exists(pg_server, names.database, "trades")


def test_broken_migration_rolls_back_alone_and_earlier_ones_stay_recorded(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0001_orders", ORDERS)
    write_migration("0002_trades", TRADES)
    write_migration(
        "0003_positions", "CREATE TABLE positions (id INT);\nCREAT TABLE oops (x INT);\n"
    )
    write_migration("0004_signals", "CREATE TABLE signals (id INT);\n")
    with pytest.raises(MigrationFailedError) as caught:
        migrator_for(names, migrations_dir).apply()
    assert history_ids(pg_server, names.database) == ["0001_orders", "0002_trades"]
    assert not table_exists(pg_server, names.database, "positions")
    assert not table_exists(pg_server, names.database, "signals")
    assert caught.value.partial is not None
    assert caught.value.partial.applied_ids == ("0001_orders", "0002_trades")


def test_failure_message_names_file_statement_line_and_server_error(
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0001_orders", "CREATE TABLE orders (id INT);\n\nCREAT TABLE oops (x INT);\n")
    with pytest.raises(MigrationFailedError) as caught:
        migrator_for(names, migrations_dir).apply()
    message = str(caught.value)
    assert message.startswith("0001_orders.sql: statement 2 of 2 (line 3)")
    assert 'syntax error at or near "CREAT"' in message
    assert "[SQLSTATE 42601]" in message
    assert "statement: CREAT TABLE oops (x INT)" in message
    assert (caught.value.statement_index, caught.value.line) == (2, 3)


def test_failed_migration_applies_once_fixed(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0001_orders", ORDERS)
    write_migration("0002_trades", "CREATE TABLE trades (id INT REFERENCES nowhere (id));")
    with pytest.raises(MigrationFailedError, match=r"0002_trades\.sql"):
        migrator_for(names, migrations_dir).apply()
    write_migration("0002_trades", TRADES)
    assert migrator_for(names, migrations_dir).apply().applied_ids == ("0002_trades",)


def test_companion_statements_are_reported_skipped_on_postgresql(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration(
        "0001_ticks",
        "CREATE TABLE ticks (id INT);\n",
        "CREATE TABLE crdb_only (id INT);\nALTER TABLE ticks SET (ttl_expire_after = '7 days');\n",
    )
    result = migrator_for(names, migrations_dir).apply()
    assert [(s.file_name, s.statements) for s in result.skipped_companions] == [
        ("0001_ticks.crdb.sql", 2)
    ]
    assert result.applied[0].companion_status is CompanionStatus.SKIPPED
    assert not table_exists(pg_server, names.database, "crdb_only")
    recorded = fetch(pg_server, names.database, "SELECT companion_status FROM schema_migrations")
    assert recorded == [("skipped",)]


def test_plan_lists_bootstrap_steps_and_pending_without_writing(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0001_orders", ORDERS, "ALTER TABLE orders SET (ttl = 'on');")
    plan = migrator_for(names, migrations_dir).plan()
    assert [p.id for p in plan.pending] == ["0001_orders"]
    assert f"create database {names.database}" in plan.bootstrap
    assert [s.file_name for s in plan.skipped_companions] == ["0001_orders.crdb.sql"]
    assert not database_exists(pg_server, names.database)


@pytest.mark.usefixtures("three")
def test_plan_tells_whether_the_database_exists(
    names: Names, migrations_dir: Path, migrator_for: MakeMigrator
) -> None:
    migrator = migrator_for(names, migrations_dir)
    before = migrator.plan().database_exists
    migrator.apply()
    assert (before, migrator.plan().database_exists) == (False, True)


@pytest.mark.usefixtures("three")
def test_status_after_apply_shows_everything_applied(
    names: Names, migrations_dir: Path, migrator_for: MakeMigrator
) -> None:
    migrator = migrator_for(names, migrations_dir)
    migrator.apply()
    status = migrator.status()
    assert status.applied_ids == ("0001_orders", "0002_trades", "0003_positions")
    assert (status.pending, status.drift, status.refusals, status.has_work) == ((), (), (), False)


def test_applied_migration_removed_from_directory_is_reported_as_drift(
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0001_orders", ORDERS)
    trades = write_migration("0002_trades", TRADES)
    migrator_for(names, migrations_dir).apply()
    trades.unlink()
    assert migrator_for(names, migrations_dir).status().drift == ("0002_trades",)
    assert migrator_for(names, migrations_dir).apply().drift == ("0002_trades",)


@pytest.mark.usefixtures("orders_applied")
def test_changed_password_is_set_and_the_old_one_stops_working(
    pg_server: ServerInfo, names: Names, migrations_dir: Path, migrator_for: MakeMigrator
) -> None:
    result = migrator_for(names, migrations_dir, app_password="a-new-password-123").apply()
    assert result.bootstrap == (f"set the password of role {names.app_user}",)
    new = pg_server.conninfo(names.database, user=names.app_user, password="a-new-password-123")
    psycopg.connect(new).close()
    old = pg_server.conninfo(names.database, user=names.app_user, password=names.app_password)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(old)


def test_existing_superuser_app_role_is_refused(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0001_orders", ORDERS)
    admin_execute(
        pg_server, sql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(sql.Identifier(names.app_user))
    )
    with pytest.raises(ApplyRefusedError, match=f"role {names.app_user} exists with superuser"):
        migrator_for(names, migrations_dir).apply()
    assert not database_exists(pg_server, names.database)


def test_replication_factor_is_reported_skipped_on_postgresql(
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0001_orders", ORDERS)
    result = migrator_for(names, migrations_dir, replication_factor=3).apply()
    assert any("replication factor 3: skipped" in note for note in result.notes)


@pytest.mark.usefixtures("three")
def test_damaged_history_table_is_a_clear_server_error(
    pg_server: ServerInfo, names: Names, migrations_dir: Path, migrator_for: MakeMigrator
) -> None:
    migrator = migrator_for(names, migrations_dir)
    migrator.apply()
    admin_execute(
        pg_server, sql.SQL("ALTER TABLE schema_migrations DROP COLUMN applied_by"), names.database
    )
    with pytest.raises(ServerError) as caught:
        migrator.apply()
    assert str(caught.value) == (
        f'applying migrations to {names.database}: column "applied_by" does not exist '
        "[SQLSTATE 42703]"
    )


def venues_seed(rows: int) -> str:
    """A migration of one CREATE TABLE and `rows` INSERTs."""
    return "CREATE TABLE venues (id INT);\n" + "".join(
        f"INSERT INTO venues VALUES ({n});\n" for n in range(rows)
    )


@pytest.mark.usefixtures("orders_applied")
def test_apply_counts_ddl_and_other_statements_apart(
    names: Names, migrations_dir: Path, migrator_for: MakeMigrator, write_migration: MigrationWriter
) -> None:
    write_migration("0002_seed", venues_seed(3))
    result = migrator_for(names, migrations_dir).apply()
    assert (result.ddl_statements, result.other_statements) == (1, 3)


@pytest.mark.usefixtures("orders_applied")
def test_statements_of_a_file_do_not_cost_a_round_trip_each(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0002_seed", venues_seed(30))
    result = migrator_for(names, migrations_dir).apply()
    assert result.round_trips < 31
    assert fetch(pg_server, names.database, "SELECT count(*) FROM venues") == [(30,)]


@pytest.mark.usefixtures("orders_applied")
def test_each_pending_file_costs_four_round_trips(
    names: Names, migrations_dir: Path, migrator_for: MakeMigrator, write_migration: MigrationWriter
) -> None:
    """The session reset; BEGIN, the lease check and the file's statements; the history row
    with the lease extension; COMMIT."""
    write_migration("0002_venues", "CREATE TABLE venues (id INT);\nINSERT INTO venues VALUES (1);")
    one = migrator_for(names, migrations_dir).apply()
    write_migration("0003_halls", "CREATE TABLE halls (id INT);\n")
    write_migration("0004_seats", "CREATE TABLE seats (id INT);\nCREATE TABLE rows (id INT);\n")
    two = migrator_for(names, migrations_dir).apply()
    assert (one.applied_ids, two.applied_ids) == (("0002_venues",), ("0003_halls", "0004_seats"))
    assert two.round_trips - one.round_trips == 4


def test_a_statement_waiting_on_a_lock_gives_up_after_lock_timeout_and_is_named(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    orders_applied: Migrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0002_orders_note", "ALTER TABLE orders ADD COLUMN note TEXT;\n")
    patient = Migrator(orders_applied.target, load_migrations(migrations_dir), lock_timeout_s=0.2)
    with psycopg.connect(pg_server.conninfo(names.database)) as holder:
        # Should the timeout not apply, the server ends this lock's session and the test fails
        # instead of waiting for ever.
        holder.execute("SET idle_in_transaction_session_timeout = '10s'")
        holder.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(MigrationFailedError) as caught:
            patient.apply()
    assert str(caught.value).startswith("0002_orders_note.sql: statement 1 of 1 (line 1)")
    assert caught.value.sqlstate == "55P03"
    assert history_ids(pg_server, names.database) == ["0001_orders"]


def test_runtime_error_in_a_file_names_its_statement_and_leaves_nothing_of_the_file(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration(
        "0001_venues",
        "CREATE TABLE venues (id INT);\nINSERT INTO venues VALUES (1 / 0);\n"
        "CREATE TABLE halls (id INT);\n",
    )
    with pytest.raises(MigrationFailedError) as caught:
        migrator_for(names, migrations_dir).apply()
    assert str(caught.value).startswith("0001_venues.sql: statement 2 of 3 (line 2)")
    assert "division by zero" in str(caught.value)
    assert not table_exists(pg_server, names.database, "venues")


@pytest.mark.usefixtures("orders_applied")
def test_failure_after_the_last_statement_names_the_engine_step_not_commit(
    names: Names, migrations_dir: Path, migrator_for: MakeMigrator, write_migration: MigrationWriter
) -> None:
    write_migration("0002_trades", TRADES + "DROP TABLE public.schema_migrations_lock;\n")
    with pytest.raises(MigrationFailedError) as caught:
        migrator_for(names, migrations_dir).apply()
    assert "failed after its last statement, while extending the migration lease" in str(
        caught.value
    )


def test_search_path_set_by_one_migration_does_not_move_the_next_ones_table(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration(
        "0001_archive",
        "CREATE SCHEMA archive;\n"
        "SET search_path = archive, public;\n"
        "CREATE TABLE old_orders (id INT);\n",
    )
    write_migration("0002_trades", TRADES)
    migrator_for(names, migrations_dir).apply()
    assert table_exists(pg_server, names.database, "trades")


def test_setting_changed_by_one_migration_does_not_apply_to_the_next(
    names: Names, migrations_dir: Path, migrator_for: MakeMigrator, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS + "SET statement_timeout = 50;\n")
    write_migration("0002_slow", "SELECT pg_sleep(0.2);\n")
    result = migrator_for(names, migrations_dir).apply()
    assert result.applied_ids == ("0001_orders", "0002_slow")


def test_database_created_by_a_concurrent_apply_between_checks_is_used(
    pg_server: ServerInfo, names: Names, migrations_dir: Path, target_for: Callable[..., Target]
) -> None:
    (migrations_dir / "0001_orders.sql").write_text(ORDERS)

    class RacedMigrator(Migrator):
        """Another apply creates the database right after this one failed to connect to it."""

        def _connect(self, counters: Counters, *, target_database: bool) -> Session:
            try:
                return super()._connect(counters, target_database=target_database)
            except ConnectionFailedError:
                if target_database and not database_exists(pg_server, names.database):
                    admin_execute(
                        pg_server,
                        sql.SQL("CREATE DATABASE {}").format(sql.Identifier(names.database)),
                    )
                raise

    result = RacedMigrator(target_for(names), load_migrations(migrations_dir)).apply()
    assert result.applied_ids == ("0001_orders",)


def test_applies_started_at_once_on_an_empty_server_all_succeed(
    pg_server: ServerInfo, names: Names, migrations_dir: Path, migrator_for: MakeMigrator
) -> None:
    (migrations_dir / "0001_orders.sql").write_text(ORDERS)
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def run() -> None:
        migrator = migrator_for(names, migrations_dir)
        start.wait()
        try:
            migrator.apply()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert history_ids(pg_server, names.database) == ["0001_orders"]
