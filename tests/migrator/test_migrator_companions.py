"""CockroachDB-only companions: run after the portable part, outside its transaction, resumable.

No CockroachDB server is available to the tests, so these make the engine take its CockroachDB
branch on the PostgreSQL server: the dialect decision is forced and the CockroachDB-only session
setting is left out. Everything else (transactions, history rows, progress) is the real path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import MigrationWriter, Names, admin_execute
from pg_queries import fetch, table_exists
from postgres_server import ServerInfo
from psycopg import sql

from migrator import CompanionStatus, Dialect, MigrationFailedError, Migrator

pytestmark = pytest.mark.postgres

MakeMigrator = Callable[..., Migrator]
TICKS = "CREATE TABLE ticks (id INT PRIMARY KEY, ts TIMESTAMPTZ);\n"


@pytest.fixture(autouse=True)
def as_cockroachdb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("migrator.bootstrap.detect_dialect", lambda _version: Dialect.COCKROACHDB)
    monkeypatch.setattr("migrator.engine.COCKROACH_SESSION_SETTINGS", ())


def companion_row(info: ServerInfo, dbname: str) -> tuple[str, int]:
    status, done = fetch(
        info, dbname, "SELECT companion_status, companion_done FROM schema_migrations"
    )[0]
    return str(status), int(done)


def test_companion_runs_after_the_portable_part(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration(
        "0001_ticks",
        TICKS,
        "CREATE TABLE tick_archive (LIKE ticks);\nCREATE INDEX ON tick_archive (ts);\n",
    )
    result = migrator_for(names, migrations_dir, app_password=None).apply()
    assert result.skipped_companions == ()
    assert result.applied[0].companion_status is CompanionStatus.APPLIED
    assert table_exists(pg_server, names.database, "tick_archive")
    assert companion_row(pg_server, names.database) == ("applied", 2)


def test_companion_statements_run_outside_the_migration_transaction(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    """CREATE INDEX CONCURRENTLY fails inside a transaction block, so success proves it."""
    write_migration("0001_ticks", TICKS, "CREATE INDEX CONCURRENTLY ticks_ts ON ticks (ts);\n")
    migrator_for(names, migrations_dir, app_password=None).apply()
    indexes = fetch(
        pg_server, names.database, "SELECT indexname FROM pg_indexes WHERE tablename = 'ticks'"
    )
    assert ("ticks_ts",) in indexes


def test_failed_companion_keeps_the_portable_part_and_the_next_apply_resumes_there(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration(
        "0001_ticks",
        TICKS,
        "CREATE TABLE tick_archive (id INT);\n"
        "CREATE TABLE tick_flags (id INT REFERENCES flag_kinds (id));\n",
    )
    with pytest.raises(MigrationFailedError) as caught:
        migrator_for(names, migrations_dir, app_password=None).apply()
    assert str(caught.value).startswith("0001_ticks.crdb.sql: statement 2 of 2 (line 2)")
    assert "resumes 0001_ticks.crdb.sql at statement 2" in str(caught.value)
    assert table_exists(pg_server, names.database, "ticks")
    assert companion_row(pg_server, names.database) == ("pending", 1)

    admin_execute(
        pg_server,
        sql.SQL("CREATE TABLE flag_kinds (id INT PRIMARY KEY)"),
        dbname=names.database,
    )
    resumed = migrator_for(names, migrations_dir, app_password=None).apply()
    assert [(run.id, run.companion_statements) for run in resumed.applied] == [("0001_ticks", 1)]
    assert companion_row(pg_server, names.database) == ("applied", 2)


def test_plan_lists_an_interrupted_companion_for_resumption(
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0001_ticks", TICKS, "CREATE TABLE tick_flags (id INT REFERENCES nope (id));")
    migrator = migrator_for(names, migrations_dir, app_password=None)
    with pytest.raises(MigrationFailedError):
        migrator.apply()
    plan = migrator.plan()
    assert (plan.pending, plan.resume_companions) == ((), ("0001_ticks",))
