"""Every statement `python -m operations status` sends parses with CockroachDB's own parser.

No CockroachDB server runs in the tests; the pinned v25.2 parser (the Go helper of
test_sql_parses) at least proves the grammar of each statement.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cockroach_parser import read_reports, run_parser, with_server_placeholders
from psycopg import sql

from database.queries import NODE_STATUS_SQL
from migrator.bootstrap import zone_query
from operations.status import DATABASE_EXISTS_SQL, STORES_SQL, VERSION_SQL

pytestmark = pytest.mark.parser

STATUS_STATEMENTS: dict[str, str | sql.Composable] = {
    "version": VERSION_SQL,
    "nodes": NODE_STATUS_SQL,
    "stores": STORES_SQL,
    "database exists": DATABASE_EXISTS_SQL,
    "zone of the database": zone_query("openalgo"),
}


@pytest.mark.parametrize("name", sorted(STATUS_STATEMENTS))
def test_status_statement_parses_as_cockroachdb_sql(
    name: str, crdb_parser: Path, tmp_path: Path
) -> None:
    statement = STATUS_STATEMENTS[name]
    raw = statement if isinstance(statement, str) else statement.as_string(None)
    path = tmp_path / "statement.sql"
    path.write_text(with_server_placeholders(raw) + ";\n")
    report = read_reports(run_parser(crdb_parser, [path]).stdout)[str(path)]
    assert (report.statements, report.errors) == (1, []), f"{name}: {report.errors}"


def test_a_misspelled_crdb_internal_query_is_caught(crdb_parser: Path, tmp_path: Path) -> None:
    path = tmp_path / "statement.sql"
    path.write_text(NODE_STATUS_SQL.replace("LEFT JOIN", "LEFT JION") + ";\n")
    report = read_reports(run_parser(crdb_parser, [path]).stdout)[str(path)]
    assert report.errors != []
