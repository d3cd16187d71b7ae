"""Small read helpers the PostgreSQL tests use to check what really is in the server."""

from __future__ import annotations

import re
from typing import Any, LiteralString

import psycopg
from postgres_server import LOG_ENTRY_START, ServerInfo

STATEMENT_LOGGED = re.compile(r"(?:statement|execute [^:]*): (?P<sql>.*)", re.DOTALL)
DDL_KEYWORD = re.compile(r"^\s*(CREATE|ALTER|DROP|GRANT|REVOKE|COMMENT)\b", re.IGNORECASE | re.M)
"""A statement starting with a DDL keyword; each statement of a batch starts a line."""


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


def log_entries(log_text: str) -> list[str]:
    """The server log's entries: statements sent together in one round trip are logged as one
    entry over several lines, of which only the first carries the prefix."""
    entries: list[str] = []
    for line in log_text.splitlines():
        if LOG_ENTRY_START.match(line):
            entries.append(line)
        elif entries:
            entries[-1] += "\n" + line
    return entries


def migrator_log_lines(log_text: str, application_name: str = "openalgo-migrator") -> list[str]:
    """Server log entries written for statements a migrator session sent."""
    return [entry for entry in log_entries(log_text) if f"app={application_name} " in entry]


def ddl_entries(log_text: str) -> list[str]:
    """Logged statements that are DDL or, sent together in one round trip, include DDL."""
    return [
        entry
        for entry in log_entries(log_text)
        if (logged := STATEMENT_LOGGED.search(entry)) and DDL_KEYWORD.search(logged["sql"])
    ]
