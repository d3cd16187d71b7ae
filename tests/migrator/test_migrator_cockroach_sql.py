"""Every statement the engine itself sends to CockroachDB parses with CockroachDB's own parser.

No CockroachDB server runs in the tests; the pinned parser (the Go helper of test_sql_parses)
at least proves the grammar of the bootstrap, history, lease and zone statements.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cockroach_parser import read_reports, run_parser, with_server_placeholders
from psycopg import sql

from migrator import Dialect
from migrator.bootstrap import (
    FACTS_SQL,
    STORED_VERIFIER_SQL,
    allow_login_statement,
    create_database_statement,
    create_role_statement,
    drop_database_statement,
    set_password_statement,
    zone_query,
    zone_statement,
)
from migrator.engine import (
    COCKROACH_SESSION_SETTINGS,
    SESSION_RESET,
    local_lock_timeout_statement,
)
from migrator.history import (
    HISTORY_DDL,
    LOCK_DDL,
    READ_HISTORY_SQL,
    RECORD_APPLIED_SQL,
    RECORD_PROGRESS_SQL,
)
from migrator.lease import (
    CLAIM_SQL,
    CURRENT_SQL,
    RELEASE_SQL,
    RENEW_SQL,
    LeaseSettings,
    fenced_sql,
    lease_session_settings,
)
from migrator.scram import build_verifier

pytestmark = pytest.mark.parser


def text(statement: str | sql.Composable) -> str:
    raw = statement if isinstance(statement, str) else statement.as_string(None)
    return with_server_placeholders(raw)


ENGINE_STATEMENTS: dict[str, str | sql.Composable] = {
    "facts": FACTS_SQL,
    "stored verifier": STORED_VERIFIER_SQL[Dialect.COCKROACHDB],
    "zone query": zone_query("openalgo"),
    "create database": create_database_statement("openalgo"),
    "create role": create_role_statement("openalgo", build_verifier("pw")),
    "create role without password": create_role_statement("openalgo", None),
    "allow login": allow_login_statement("openalgo"),
    "set password": set_password_statement("openalgo", build_verifier("pw")),
    "zone": zone_statement("openalgo", 3),
    "drop database": drop_database_statement("openalgo", Dialect.COCKROACHDB),
    "history table": HISTORY_DDL,
    "lock table": LOCK_DDL,
    "read history": READ_HISTORY_SQL,
    "record applied": fenced_sql(RECORD_APPLIED_SQL),
    "record progress": RECORD_PROGRESS_SQL,
    "claim lease": CLAIM_SQL,
    "renew lease": RENEW_SQL,
    "release lease": RELEASE_SQL,
    "current lease": CURRENT_SQL,
    **{f"session setting {i}": s for i, s in enumerate(COCKROACH_SESSION_SETTINGS)},
    **{f"session reset {i}": s for i, s in enumerate(SESSION_RESET)},
    "migration lock timeout": local_lock_timeout_statement(2.5),
    **{
        f"lease session setting {i}": s
        for i, s in enumerate(lease_session_settings(LeaseSettings()))
    },
}


def test_placeholders_are_numbered_like_the_server_sees_them() -> None:
    assert with_server_placeholders("a = %(x)s AND b = %s AND c = %(x)s") == (
        "a = $1 AND b = $2 AND c = $1"
    )


@pytest.mark.parametrize("name", sorted(ENGINE_STATEMENTS))
def test_engine_statement_parses_as_cockroachdb_sql(
    name: str, crdb_parser: Path, tmp_path: Path
) -> None:
    path = tmp_path / "statement.sql"
    path.write_text(text(ENGINE_STATEMENTS[name]) + ";\n")
    result = run_parser(crdb_parser, [path])
    report = read_reports(result.stdout)[str(path)]
    assert (report.statements, report.errors) == (1, []), f"{name}: {report.errors}"
