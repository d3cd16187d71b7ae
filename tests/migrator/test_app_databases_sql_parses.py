"""Every statement OpenAlgo's database provisioning sends parses with CockroachDB's parser."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from cockroach_parser import read_reports, run_parser
from postgres_server import ServerInfo

from migrator.app_databases import (
    OWNERS_SQL,
    ROLE_FACTS_SQL,
    SCHEMA_PRIVILEGES_SQL,
    AppDatabases,
    AppFacts,
    DatabaseFacts,
    drop_statement,
    plan_app_databases,
)
from migrator.dialect import Dialect

pytestmark = [pytest.mark.parser, pytest.mark.postgres]


def cockroach_plan_statements() -> list[object]:
    """Everything a first run on CockroachDB sends: no database yet, PUBLIC may CREATE."""
    facts = AppFacts(
        dialect=Dialect.COCKROACHDB,
        connection_limit=-1,
        databases={name: DatabaseFacts(None, False, True) for name in AppDatabases().databases},
        trading_public_can_create=True,
    )
    plan = plan_app_databases(
        facts, AppDatabases(), role="openalgo", trading_database="openalgo", limit=200
    )
    return [step.statement for step in plan.steps]


def test_a_first_cockroachdb_run_revokes_public_create_everywhere_it_creates() -> None:
    rendered = [str(s) for s in cockroach_plan_statements()]
    assert sum("REVOKE" in s for s in rendered) == 6


def test_provisioning_statements_parse_as_cockroachdb_sql(
    crdb_parser: Path, tmp_path: Path, pg_server: ServerInfo
) -> None:
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as conn:
        composed = [
            *cockroach_plan_statements(),
            drop_statement("openalgo_app", Dialect.COCKROACHDB),
        ]
        texts = [s.as_string(conn) for s in composed]  # type: ignore[attr-defined]
    reads = [ROLE_FACTS_SQL, OWNERS_SQL, SCHEMA_PRIVILEGES_SQL]
    texts += [
        q.replace("%(role)s", "'openalgo'").replace("%(names)s", "ARRAY['openalgo_app']")
        for q in reads
    ]
    path = tmp_path / "provisioning.sql"
    path.write_text("".join(f"{t};\n" for t in texts))
    report = read_reports(run_parser(crdb_parser, [path]).stdout)[str(path)]
    assert (report.statements, report.errors) == (len(texts), [])
