"""Benchmark of the migration engine on one local PostgreSQL 15 server (not a test).

Prints, for the project's sql/migrations:
  * full apply (bootstrap + every migration, fresh database) vs `psql -1 -f` over the same
    portable SQL, placeholders filled in as the engine fills them (database and role created
    beforehand, outside the timing), alternated in pairs, and the median of the pairs' ratios
    against the target (<= 1.2x);
  * no-op apply (everything applied): wall time, connections and round trips as the engine
    counts them (target <= 3, 0 DDL), and the statements the server logged for it
    (log_statement=all), which counts them independently of the engine.

Run: .venv/bin/python benchmarks/bench_migrator.py [--runs N]
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "support")]

from postgres_server import PostgresServer, ServerInfo, find_bindir  # noqa: E402

from migrator import LeaseSettings, MigrationSet, Migrator, Target, load_migrations  # noqa: E402

APP_USER = "openalgo"
APP_PASSWORD = secrets.token_urlsafe(16)
APPLICATION = "openalgo-migrator"


def admin(info: ServerInfo, statement: sql.Composed) -> None:
    with psycopg.connect(info.conninfo(), autocommit=True) as conn:
        conn.execute(statement)


def drop_database(info: ServerInfo, name: str) -> None:
    admin(info, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def migrator_for(info: ServerInfo, database: str, migrations: MigrationSet) -> Migrator:
    target = Target(
        admin_dsn=info.dsn(), database=database, app_user=APP_USER, app_password=APP_PASSWORD
    )
    return Migrator(target, migrations, lease=LeaseSettings(duration_s=30, wait_s=0))


def time_engine_full(
    info: ServerInfo, migrations: MigrationSet, *, precreate: bool
) -> tuple[float, str]:
    database = f"bench_{uuid.uuid4().hex[:8]}"
    if precreate:
        admin(info, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    started = time.perf_counter()
    migrator_for(info, database, migrations).apply()
    elapsed = time.perf_counter() - started
    return elapsed, database


FULL_APPLY_TARGET = 1.2
ROUND_TRIPS_TARGET = 3


def rendered_files(migrations: MigrationSet, directory: Path) -> list[Path]:
    """The portable SQL the engine runs (placeholders filled in), one file per migration."""
    files = []
    for migration in migrations:
        path = directory / migration.file_name
        path.write_text(migration.portable.text)
        files.append(path)
    return files


def time_psql(info: ServerInfo, psql: str, files: list[Path]) -> float:
    """``psql -1``: every file in one transaction, as the engine runs each file in one."""
    database = f"bench_{uuid.uuid4().hex[:8]}"
    admin(info, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        argv = [psql, "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", info.conninfo(database)]
        for path in files:
            argv += ["-f", str(path)]
        env = {**os.environ, "PGPASSWORD": info.admin_password}
        started = time.perf_counter()
        subprocess.run(argv, check=True, env=env, capture_output=True)
        return time.perf_counter() - started
    finally:
        drop_database(info, database)


def logged_statements(text: str) -> int:
    """Statements the server logged for migrator sessions (simple and extended protocol)."""
    return sum(
        1
        for line in text.splitlines()
        if f"app={APPLICATION} " in line and ("statement: " in line or "execute <" in line)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="repetitions per measurement")
    runs = parser.parse_args().runs
    logging.getLogger("migrator").setLevel(logging.ERROR)
    migrations = load_migrations(ROOT / "sql" / "migrations", app_user=APP_USER)
    rendered = Path(tempfile.mkdtemp(prefix="bench-migrator-"))
    portable_files = rendered_files(migrations, rendered)
    bindir = find_bindir()
    psql = str(bindir / "psql") if (bindir / "psql").is_file() else shutil.which("psql") or "psql"
    server = PostgresServer(bindir, settings={"log_statement": "all"})
    info = server.start()
    try:
        admin(
            info,
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(APP_USER), sql.Literal(APP_PASSWORD)
            ),
        )
        engine_times: list[float] = []
        engine_existing_times: list[float] = []
        databases: list[str] = []
        psql_times: list[float] = []
        for _ in range(runs):
            elapsed, database = time_engine_full(info, migrations, precreate=False)
            engine_times.append(elapsed)
            databases.append(database)
            elapsed, database = time_engine_full(info, migrations, precreate=True)
            engine_existing_times.append(elapsed)
            databases.append(database)
            psql_times.append(time_psql(info, psql, portable_files))

        noop = migrator_for(info, databases[0], migrations)
        noop_times: list[float] = []
        for _ in range(runs):
            offset = info.log_size()
            started = time.perf_counter()
            result = noop.apply()
            noop_times.append(time.perf_counter() - started)
            server_statements = logged_statements(info.log_since(offset))
        for database in databases:
            drop_database(info, database)
    finally:
        server.stop()
        shutil.rmtree(rendered, ignore_errors=True)

    statements = sum(len(m.portable.statements) for m in migrations)
    print(f"migrations: {len(migrations)} files, {statements} portable statements")
    print(f"runs per figure: {runs} (median shown, min..max in brackets)")
    print(f"full apply, engine, fresh server (creates database): {fmt(engine_times)}")
    print(f"full apply, engine, database already created:       {fmt(engine_existing_times)}")
    print(f"full apply, psql -1 -f, database already created:   {fmt(psql_times)}")
    ratio = statistics.median(e / p for e, p in zip(engine_existing_times, psql_times, strict=True))
    print(
        f"ratio full apply engine / psql -1 -f (median of pairs): {ratio:.2f} "
        f"(target <= {FULL_APPLY_TARGET:.2f}: {met(ratio <= FULL_APPLY_TARGET)})"
    )
    print(f"no-op apply, engine:                                 {fmt(noop_times)}")
    print(
        f"no-op apply: {result.connections} connection(s), {result.round_trips} round trips "
        f"counted by the engine, {server_statements} statements logged by the server, "
        f"{result.ddl_statements} DDL "
        f"(target <= {ROUND_TRIPS_TARGET} round trips, 0 DDL: "
        f"{met(result.round_trips <= ROUND_TRIPS_TARGET and result.ddl_statements == 0)})"
    )


def met(holds: bool) -> str:
    return "met" if holds else "NOT met"


def fmt(samples: list[float]) -> str:
    return (
        f"{statistics.median(samples) * 1000:7.1f} ms "
        f"[{min(samples) * 1000:.1f}..{max(samples) * 1000:.1f}]"
    )


if __name__ == "__main__":
    main()
