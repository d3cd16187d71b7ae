"""A throwaway PostgreSQL 15 server with the project's schema applied, for the benchmarks.

The server is tests/support/postgres_server.py's (fsync and full_page_writes off, commits
still written to the WAL) with statement logging off: the test server logs every data-changing
statement, which would turn a write benchmark into a benchmark of the log file.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "support")]

from postgres_server import PostgresServer, ServerInfo, find_bindir  # noqa: E402

from migrator import LeaseSettings, Migrator, Target, load_migrations  # noqa: E402

APP_USER = "openalgo"
DATABASE = "openalgo"
BENCH_SETTINGS = {"log_statement": "none"}
# PostgreSQL's own default; a tuned server gives it a quarter of the memory.
DEFAULT_SHARED_BUFFERS = "128MB"


@dataclass(frozen=True)
class SchemaServer:
    """Where the schema lives and how to reach it as the admin or as the application role."""

    info: ServerInfo
    bindir: Path
    database: str
    app_password: str

    def admin_conninfo(self, database: str | None = None) -> str:
        return self.info.conninfo(database or self.database)

    def app_conninfo(self, database: str | None = None) -> str:
        return self.info.conninfo(
            database or self.database, user=APP_USER, password=self.app_password
        )

    def admin_execute(self, statement: str | sql.Composed, database: str | None = None) -> None:
        with psycopg.connect(self.admin_conninfo(database), autocommit=True) as conn:
            conn.execute(statement)

    def client_env(self, password: str) -> dict[str, str]:
        """Environment for libpq command-line clients (pgbench), password included."""
        return {**os.environ, "PGPASSWORD": password, "PGHOST": self.info.host}


def apply_schema(info: ServerInfo, database: str, app_password: str) -> None:
    """Bootstrap the database and apply every migration of sql/migrations, as `pulumi up` does."""
    target = Target(
        admin_dsn=info.dsn(), database=database, app_user=APP_USER, app_password=app_password
    )
    migrations = load_migrations(ROOT / "sql" / "migrations")
    Migrator(target, migrations, lease=LeaseSettings(duration_s=30, wait_s=0)).apply()


@contextmanager
def schema_server(
    extra_databases: tuple[str, ...] = (),
    shared_buffers: str = DEFAULT_SHARED_BUFFERS,
    settings: Mapping[str, str] | None = None,
) -> Iterator[SchemaServer]:
    """Start a server (``settings`` added to the benchmarks' own), create the application role,
    apply the schema to `openalgo` and to each extra database; stop and remove the server
    afterwards."""
    logging.getLogger("migrator").setLevel(logging.ERROR)
    bindir = find_bindir()
    server = PostgresServer(
        bindir,
        settings={**BENCH_SETTINGS, "shared_buffers": shared_buffers, **(settings or {})},
    )
    info = server.start()
    app_password = secrets.token_urlsafe(16)
    try:
        with psycopg.connect(info.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(APP_USER), sql.Literal(app_password)
                )
            )
        for database in (DATABASE, *extra_databases):
            apply_schema(info, database, app_password)
        yield SchemaServer(info, bindir, DATABASE, app_password)
    finally:
        server.stop()


def machine_note() -> str:
    """What the figures were measured on, printed with them."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"machine: {os.cpu_count()} CPU(s), load average before the run {load}; the server, the "
        "clients and any other work on the machine share these cores, so absolute figures are "
        "indicative and the ratios (measured side by side, alternated) are what to compare"
    )
