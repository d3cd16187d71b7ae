"""Every migration file parses with CockroachDB's own SQL parser.

The parser is a small Go helper (tests/parser) around the parser package that
CockroachDB itself uses, pinned to the release the cluster runs. It is built
once per version of its sources into a cache directory outside the repository,
so only the first run pays for the build.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from migrator.placeholders import DEFAULT_APP_USER, render

pytestmark = pytest.mark.parser

REPO_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = REPO_ROOT / "sql" / "migrations"
PARSER_DIR = Path(__file__).resolve().parent / "parser"
PARSER_SOURCES = ("go.mod", "go.sum", "main.go")
CRDB_SUFFIX = ".crdb.sql"
BUILD_TIMEOUT_SECONDS = 900
PARSE_TIMEOUT_SECONDS = 120

MIGRATION_FILES = sorted(MIGRATIONS_DIR.glob("*.sql"))


@dataclass(frozen=True)
class ParseReport:
    """What the helper printed for one file."""

    statements: int
    errors: list[dict[str, object]]
    normalized: list[str]


def parser_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "openalgo-cockroachdb"


def parser_sources_digest() -> str:
    """Hash of the helper's sources: a new digest means a new binary."""
    digest = hashlib.sha256()
    for name in PARSER_SOURCES:
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update((PARSER_DIR / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def build_parser(go: str, target: Path) -> None:
    """Build the helper into target, atomically, so parallel runs cannot see half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=target.name + ".", dir=target.parent)
    os.close(fd)
    try:
        result = subprocess.run(
            [go, "build", "-mod=readonly", "-trimpath", "-buildvcs=false", "-o", partial, "."],
            cwd=PARSER_DIR,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                f"building the SQL parser helper in {PARSER_DIR} failed "
                f"(exit {result.returncode}):\n{result.stderr}"
            )
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def sqlparse(crdb_parser: Path) -> Path:
    """Path of the built helper (conftest's crdb_parser: under CI, no Go is a failure)."""
    return crdb_parser


def run_parser(binary: Path, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=PARSE_TIMEOUT_SECONDS,
        check=False,
    )


def read_reports(stdout: str) -> dict[str, ParseReport]:
    reports = {}
    for line in stdout.splitlines():
        raw = json.loads(line)
        reports[raw["file"]] = ParseReport(
            statements=raw["statements"], errors=raw["errors"], normalized=raw["normalized"]
        )
    return reports


def rendered_copies(files: list[Path], directory: Path, app_user: str) -> list[Path]:
    """Copies of `files` with their placeholders filled in, as the engine runs them."""
    copies = []
    for path in files:
        copy = directory / path.name
        copy.write_text(render(path.name, path.read_text(), app_user).text)
        copies.append(copy)
    return copies


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
    assert report.statements > 0, f"{migration.name} holds no statement"


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
