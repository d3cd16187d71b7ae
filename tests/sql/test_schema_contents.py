"""Static rules for the migration files, checked without a database server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from repo import MIGRATIONS_DIR

from rules.names import AUDITED_TABLES

CRDB_SUFFIX = ".crdb.sql"
FILE_NAME = re.compile(r"^(?P<number>\d{4})_(?P<name>[a-z0-9]+(?:_[a-z0-9]+)*)(?:\.crdb)?\.sql$")

REQUIRED_TABLES = (
    "instruments",
    "orders",
    "trades",
    "positions",
    "position_history",
    "market_data",
    "candles",
    "strategies",
    "strategy_state",
    "signals",
    "strategy_performance",
    "risk_limits",
    "daily_risk_metrics",
    "audit_log",
    "alerts",
)
REQUIRED_INDEXES = (
    "idx_orders_account_status",
    "idx_trades_account_executed",
    "idx_market_data_instrument_time",
    "idx_positions_account",
)
COCKROACHDB_ONLY_SYNTAX = {
    "hash-sharded index": r"\bUSING\s+HASH\b",
    "row-level TTL": r"\bttl_\w+",
    "zone configuration": r"\bCONFIGURE\s+ZONE\b",
    "STORING clause": r"\bSTORING\b",
    "STRING type": r"\bSTRING\b",
    "unique_rowid()": r"\bunique_rowid\b",
    "crdb_internal": r"\bcrdb_internal\b",
    "UPSERT": r"\bUPSERT\b",
    "AS OF SYSTEM TIME": r"\bAS\s+OF\s+SYSTEM\s+TIME\b",
    "INTERLEAVE": r"\bINTERLEAVE\b",
}
FLOATING_POINT_TYPE = re.compile(r"\b(FLOAT\d*|REAL|DOUBLE\s+PRECISION)\b", re.IGNORECASE)
SEQUENTIAL_KEY = re.compile(
    r"\b(SERIAL\d*|BIGSERIAL|SMALLSERIAL|nextval|unique_rowid|IDENTITY)\b", re.IGNORECASE
)
TRANSACTION_CONTROL = re.compile(
    r"^(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END|SAVEPOINT)\b", re.IGNORECASE
)


def migration_files() -> list[Path]:
    return sorted(path for path in MIGRATIONS_DIR.iterdir() if path.is_file())


def is_companion(path: Path) -> bool:
    return path.name.endswith(CRDB_SUFFIX)


def portable_files() -> list[Path]:
    return [path for path in migration_files() if not is_companion(path)]


def companion_files() -> list[Path]:
    return [path for path in migration_files() if is_companion(path)]


def strip_comments(sql: str) -> str:
    """The SQL without `--` and `/* */` comments; quoted text is kept as is."""
    out: list[str] = []
    i = 0
    quote: str | None = None
    while i < len(sql):
        char = sql[i]
        if quote is not None:
            out.append(char)
            if char == quote:
                quote = None
            i += 1
        elif char in "'\"":
            quote = char
            out.append(char)
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = len(sql) if end < 0 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = len(sql) if end < 0 else end + 2
            out.append(" ")
        else:
            out.append(char)
            i += 1
    return "".join(out)


def statements(path: Path) -> list[str]:
    """The file's statements, comments removed, split at semicolons outside quotes."""
    sql = strip_comments(path.read_text())
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for char in sql:
        if quote is None and char == ";":
            parts.append("".join(current))
            current = []
            continue
        if quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
        current.append(char)
    parts.append("".join(current))
    return [" ".join(part.split()) for part in parts if part.strip()]


def portable_statements() -> list[str]:
    return [statement for path in portable_files() for statement in statements(path)]


def test_migrations_directory_holds_migrations() -> None:
    assert portable_files(), f"no migration files in {MIGRATIONS_DIR}"


@pytest.mark.parametrize("path", migration_files(), ids=lambda path: path.name)
def test_migration_file_name_follows_the_naming_rule(path: Path) -> None:
    assert FILE_NAME.match(path.name), (
        f"{path.name}: migration files are named NNNN_snake_name.sql or NNNN_snake_name.crdb.sql"
    )


def test_migration_numbers_are_unique() -> None:
    numbers: dict[str, list[str]] = {}
    for path in portable_files():
        match = FILE_NAME.match(path.name)
        if match:
            numbers.setdefault(match["number"], []).append(path.name)
    duplicates = {number: names for number, names in numbers.items() if len(names) > 1}
    assert duplicates == {}, f"migration numbers used more than once: {duplicates}"


@pytest.mark.parametrize("companion", companion_files(), ids=lambda path: path.name)
def test_cockroachdb_companion_has_a_portable_file(companion: Path) -> None:
    portable = companion.with_name(companion.name.removesuffix(CRDB_SUFFIX) + ".sql")
    assert portable.is_file(), f"{companion.name} has no portable file {portable.name}"


@pytest.mark.parametrize("table", REQUIRED_TABLES)
def test_required_table_is_created(table: str) -> None:
    pattern = re.compile(rf"^CREATE TABLE (IF NOT EXISTS )?{table} \(", re.IGNORECASE)
    assert any(pattern.match(statement) for statement in portable_statements()), (
        f"no portable migration creates table {table}"
    )


@pytest.mark.parametrize("table", AUDITED_TABLES)
def test_audited_table_is_created_by_a_migration(table: str) -> None:
    """openalgo:logging.sqlAudit alters these tables: each must exist once the schema is in."""
    pattern = re.compile(rf"^CREATE TABLE (IF NOT EXISTS )?{table} \(", re.IGNORECASE)
    assert any(pattern.match(statement) for statement in portable_statements()), (
        f"no portable migration creates the audited table {table}"
    )


@pytest.mark.parametrize("index", REQUIRED_INDEXES)
def test_required_index_is_created(index: str) -> None:
    pattern = re.compile(rf"^CREATE (UNIQUE )?INDEX (IF NOT EXISTS )?{index} ON ", re.IGNORECASE)
    assert any(pattern.match(statement) for statement in portable_statements()), (
        f"no portable migration creates index {index}"
    )


def test_active_positions_view_is_created() -> None:
    pattern = re.compile(r"^CREATE (OR REPLACE )?VIEW v_active_positions AS ", re.IGNORECASE)
    assert any(pattern.match(statement) for statement in portable_statements())


@pytest.mark.parametrize("path", migration_files(), ids=lambda path: path.name)
def test_migration_uses_no_floating_point_type(path: Path) -> None:
    found = FLOATING_POINT_TYPE.findall(strip_comments(path.read_text()))
    assert found == [], f"{path.name} uses floating-point types {found}; use DECIMAL or INT8"


@pytest.mark.parametrize("path", migration_files(), ids=lambda path: path.name)
def test_migration_uses_no_sequential_key(path: Path) -> None:
    found = SEQUENTIAL_KEY.findall(strip_comments(path.read_text()))
    assert found == [], f"{path.name} uses sequential keys {found}; use gen_random_uuid()"


@pytest.mark.parametrize("path", portable_files(), ids=lambda path: path.name)
def test_portable_migration_holds_no_cockroachdb_only_syntax(path: Path) -> None:
    sql = strip_comments(path.read_text())
    found = [
        feature
        for feature, pattern in COCKROACHDB_ONLY_SYNTAX.items()
        if re.search(pattern, sql, re.IGNORECASE)
    ]
    assert found == [], f"{path.name} uses CockroachDB-only {found}; move it to a .crdb.sql file"


@pytest.mark.parametrize("path", migration_files(), ids=lambda path: path.name)
def test_migration_holds_no_transaction_control(path: Path) -> None:
    found = [statement for statement in statements(path) if TRANSACTION_CONTROL.match(statement)]
    assert found == [], f"{path.name} controls transactions itself: {found}"


@pytest.mark.parametrize("path", migration_files(), ids=lambda path: path.name)
def test_migration_uses_no_dollar_quoting(path: Path) -> None:
    assert "$$" not in strip_comments(path.read_text()), f"{path.name} uses dollar quoting"


def test_market_data_rows_expire_after_seven_days_on_cockroachdb() -> None:
    ttl = re.compile(
        r"^ALTER TABLE market_data SET \(.*"
        r"(ttl_expire_after = '7 days'|ttl_expiration_expression = '.*INTERVAL ''7 days''.*')",
        re.IGNORECASE,
    )
    companions = [statement for path in companion_files() for statement in statements(path)]
    assert any(ttl.match(statement) for statement in companions)


def test_application_role_may_only_read_and_append_to_audit_log() -> None:
    grant = re.compile(r"^GRANT (?P<privileges>.+?) ON (TABLE )?(?P<objects>.+?) TO ", re.I)
    granted: set[str] = set()
    for statement in portable_statements():
        match = grant.match(statement)
        if not match:
            continue
        objects = {name.strip().lower() for name in match["objects"].split(",")}
        if "audit_log" in objects:
            granted |= {name.strip().upper() for name in match["privileges"].split(",")}
    assert granted == {"SELECT", "INSERT"}
