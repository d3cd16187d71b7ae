"""Small read helpers the PostgreSQL tests use to check what really is in the server."""

from __future__ import annotations

from typing import Any, LiteralString

import psycopg
from postgres_server import ServerInfo


def fetch(
    info: ServerInfo, dbname: str, query: LiteralString, params: tuple[Any, ...] = ()
) -> list[tuple[Any, ...]]:
    with psycopg.connect(info.conninfo(dbname), autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def table_exists(info: ServerInfo, dbname: str, table: str) -> bool:
    return bool(
        fetch(
            info,
            dbname,
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = 'public' AND tablename = %s",
            (table,),
        )
    )


def history_ids(info: ServerInfo, dbname: str) -> list[str]:
    return [row[0] for row in fetch(info, dbname, "SELECT id FROM schema_migrations ORDER BY id")]


def database_exists(info: ServerInfo, dbname: str) -> bool:
    return bool(fetch(info, "postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)))


def migrator_log_lines(log_text: str, application_name: str = "openalgo-migrator") -> list[str]:
    """Server log lines written for statements a migrator session sent."""
    return [line for line in log_text.splitlines() if f"app={application_name} " in line]
