"""Every migration file parses with CockroachDB's own SQL parser.

The parser and its cache are described in tests/support/cockroach_parser.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cockroach_parser import ParseReport, read_reports, rendered_copies, run_parser
from repo import MIGRATIONS_DIR

from migrator.placeholders import DEFAULT_APP_USER

pytestmark = pytest.mark.parser

CRDB_SUFFIX = ".crdb.sql"

MIGRATION_FILES = sorted(MIGRATIONS_DIR.glob("*.sql"))


@pytest.fixture(scope="session")
def sqlparse(crdb_parser: Path) -> Path:
    """Path of the built helper (conftest's crdb_parser: under CI, no Go is a failure)."""
    return crdb_parser


@pytest.fixture(scope="session")
def migration_reports(
    sqlparse: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, ParseReport]:
    """Parse results of every migration file (rendered for the default app user), by file name."""
    rendered = rendered_copies(
        MIGRATION_FILES, tmp_path_factory.mktemp("rendered"), DEFAULT_APP_USER
    )
    result = run_parser(sqlparse, rendered)
    assert result.returncode in (0, 1), f"parser helper failed: {result.stderr}"
    by_path = read_reports(result.stdout)
    return {Path(path).name: report for path, report in by_path.items()}


@pytest.mark.parametrize("migration", MIGRATION_FILES, ids=lambda path: path.name)
def test_migration_parses_with_cockroachdb_parser(
    migration: Path, migration_reports: dict[str, ParseReport]
) -> None:
    report = migration_reports[migration.name]
    assert report.errors == [], f"{migration.name} does not parse: {report.errors}"
    companion = migration.with_name(migration.name.removesuffix(".sql") + CRDB_SUFFIX)
    if report.statements == 0:
        assert companion.exists(), f"{migration.name} holds no statement and has no companion"
        assert migration_reports[companion.name].statements > 0, f"{companion.name} is empty"


def test_parser_rejects_misspelled_keyword(sqlparse: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.sql"
    broken.write_text("-- a comment\nCREATE TABEL broken (id INT8 PRIMARY KEY);\n")

    result = run_parser(sqlparse, [broken])

    assert result.returncode == 1
    report = read_reports(result.stdout)[str(broken)]
    assert report.statements == 0
    assert len(report.errors) == 1
    assert report.errors[0]["line"] == 2
    assert report.errors[0]["statement"] == "CREATE TABEL broken (id INT8 PRIMARY KEY);"


def test_parser_counts_statements_around_a_broken_one(sqlparse: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.sql"
    mixed.write_text("SELECT 1;\nSELECT FROM WHERE;\nSELECT 'a;b';\n")

    result = run_parser(sqlparse, [mixed])

    assert result.returncode == 1
    report = read_reports(result.stdout)[str(mixed)]
    assert report.statements == 2
    assert [error["line"] for error in report.errors] == [2]


def test_parser_rejects_unterminated_string(sqlparse: Path, tmp_path: Path) -> None:
    broken = tmp_path / "unterminated.sql"
    broken.write_text("SELECT 'never closed;\n")

    result = run_parser(sqlparse, [broken])

    assert result.returncode == 1
    assert read_reports(result.stdout)[str(broken)].errors != []


def test_cockroachdb_only_statements_are_absent_from_portable_files(
    migration_reports: dict[str, ParseReport],
) -> None:
    portable = {
        statement
        for name, report in migration_reports.items()
        if not name.endswith(CRDB_SUFFIX)
        for statement in report.normalized
    }
    leaked = [
        (name, statement)
        for name, report in migration_reports.items()
        if name.endswith(CRDB_SUFFIX)
        for statement in report.normalized
        if statement in portable
    ]
    assert leaked == [], f"CockroachDB-only statements also in portable files: {leaked}"


@pytest.mark.parametrize("app_user", ["trader_app", "user", "select", "order"])
def test_grants_rendered_for_another_app_user_parse(
    app_user: str, sqlparse: Path, tmp_path: Path
) -> None:
    [grants] = rendered_copies([MIGRATIONS_DIR / "0008_grants.sql"], tmp_path, app_user)
    report = read_reports(run_parser(sqlparse, [grants]).stdout)[str(grants)]
    assert report.errors == [], f"0008_grants.sql for {app_user} does not parse: {report.errors}"
