"""Loading a migrations directory: ids, checksums, companions and the errors that name files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import MigrationWriter

from migrator import InvalidMigrationsError, load_migrations, migrations_from_texts
from migrator.discovery import compute_checksum


def problems_of(directory: Path) -> str:
    with pytest.raises(InvalidMigrationsError) as caught:
        load_migrations(directory)
    return str(caught.value)


def test_migrations_load_in_version_order_with_file_stem_ids(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0002_trades", "CREATE TABLE trades (id INT);")
    write_migration("0001_orders", "CREATE TABLE orders (id INT);")
    loaded = load_migrations(migrations_dir)
    assert loaded.ids == ("0001_orders", "0002_trades")
    assert [m.version for m in loaded] == [1, 2]


def test_companion_is_attached_to_its_portable_file(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration(
        "0001_ticks", "CREATE TABLE ticks (id INT);", "ALTER TABLE ticks SET (ttl = 'on');"
    )
    migration = load_migrations(migrations_dir).migrations[0]
    assert migration.companion is not None
    assert migration.companion.name == "0001_ticks.crdb.sql"
    assert [s.text for s in migration.companion_statements] == [
        "ALTER TABLE ticks SET (ttl = 'on')"
    ]


def test_checksum_covers_portable_and_companion_text() -> None:
    portable_only = compute_checksum("SELECT 1;", None)
    with_companion = compute_checksum("SELECT 1;", "SELECT 2;")
    edited_companion = compute_checksum("SELECT 1;", "SELECT 3;")
    assert len({portable_only, with_companion, edited_companion}) == 3


def test_checksum_does_not_mix_up_which_file_holds_the_text() -> None:
    assert compute_checksum("SELECT 1;", "") != compute_checksum("", "SELECT 1;")


def test_checksum_ignores_crlf_line_endings_and_bom(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "CREATE TABLE orders (id INT);\nSELECT 1;\n")
    lf = load_migrations(migrations_dir).migrations[0].checksum
    (migrations_dir / "0001_orders.sql").write_bytes(
        b"\xef\xbb\xbfCREATE TABLE orders (id INT);\r\nSELECT 1;\r\n"
    )
    assert load_migrations(migrations_dir).migrations[0].checksum == lf


def test_migration_objects_are_immutable(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "SELECT 1;")
    migration = load_migrations(migrations_dir).migrations[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        migration.checksum = "x"  # type: ignore[misc]


def test_files_other_than_sql_are_ignored(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "SELECT 1;")
    (migrations_dir / "README.md").write_text("notes")
    assert load_migrations(migrations_dir).ids == ("0001_orders",)


def test_companion_without_portable_file_is_an_error_naming_it(migrations_dir: Path) -> None:
    (migrations_dir / "0001_ticks.crdb.sql").write_text("SELECT 1;")
    message = problems_of(migrations_dir)
    assert "0001_ticks.crdb.sql: companion without its portable file 0001_ticks.sql" in message


@pytest.mark.parametrize("bad_name", ["1_orders.sql", "0001-orders.sql", "0001_Orders.sql"])
def test_file_name_must_match_the_pattern(
    migrations_dir: Path, write_migration: MigrationWriter, bad_name: str
) -> None:
    write_migration("0002_trades", "SELECT 1;")
    (migrations_dir / bad_name).write_text("SELECT 1;")
    message = problems_of(migrations_dir)
    assert f"{bad_name}: file name must be NNNN_snake_name" in message


def test_duplicate_version_numbers_are_an_error_naming_both_files(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0003_positions", "SELECT 1;")
    write_migration("0003_position_history", "SELECT 1;")
    message = problems_of(migrations_dir)
    assert (
        "0003_positions.sql: version 0003 is already used by 0003_position_history.sql" in message
    )


def test_unterminated_string_is_an_error_naming_file_and_line(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "SELECT 1;\nSELECT 'oops;\n")
    assert "0001_orders.sql: unterminated string literal starting at line 2" in problems_of(
        migrations_dir
    )


def test_transaction_control_inside_a_file_is_refused(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "BEGIN;\nCREATE TABLE orders (id INT);\nCOMMIT;\n")
    message = problems_of(migrations_dir)
    assert "0001_orders.sql: line 1: transaction control 'BEGIN'" in message
    assert "0001_orders.sql: line 3: transaction control 'COMMIT'" in message


def test_psql_meta_commands_are_refused(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "\\connect openalgo\nSELECT 1;")
    assert "0001_orders.sql: line 1: psql meta-command" in problems_of(migrations_dir)


def test_file_without_statements_is_refused(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "-- nothing yet\n")
    assert "0001_orders.sql: contains no SQL statements" in problems_of(migrations_dir)


def test_portable_file_may_be_empty_when_the_companion_has_statements(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_zone", "-- CockroachDB only\n", "ALTER TABLE t SET (ttl = 'on');")
    assert load_migrations(migrations_dir).ids == ("0001_zone",)


def test_non_utf8_file_is_an_error_naming_it(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "SELECT 1;")
    (migrations_dir / "0001_orders.sql").write_bytes(b"SELECT '\xff';")
    assert "0001_orders.sql: not valid UTF-8" in problems_of(migrations_dir)


def test_every_problem_is_reported_at_once(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "BEGIN;")
    (migrations_dir / "0002_x.crdb.sql").write_text("SELECT 1;")
    with pytest.raises(InvalidMigrationsError) as caught:
        load_migrations(migrations_dir)
    assert len(caught.value.problems) == 2


def test_missing_directory_is_an_error_naming_it(tmp_path: Path) -> None:
    assert "nowhere: not a directory" in problems_of(tmp_path / "nowhere")


def test_texts_out_of_order_are_refused() -> None:
    with pytest.raises(InvalidMigrationsError, match=r"0001_a\.sql: listed after 0002_b\.sql"):
        migrations_from_texts([("0002_b", "SELECT 1;", None), ("0001_a", "SELECT 1;", None)])


def test_digest_changes_when_any_checksum_changes() -> None:
    before = migrations_from_texts([("0001_a", "SELECT 1;", None), ("0002_b", "SELECT 2;", None)])
    after = migrations_from_texts([("0001_a", "SELECT 1;", None), ("0002_b", "SELECT 3;", None)])
    assert before.digest != after.digest


def test_statement_that_cannot_run_in_a_transaction_is_refused_naming_file_and_line(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration(
        "0001_orders",
        "CREATE TABLE orders (id INT);\nCREATE INDEX CONCURRENTLY o ON orders (id);\n",
    )
    assert (
        "0001_orders.sql: line 2: CREATE INDEX CONCURRENTLY cannot run inside a transaction"
        in problems_of(migrations_dir)
    )


def test_companion_may_hold_statements_that_cannot_run_in_a_transaction(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration(
        "0001_orders",
        "CREATE TABLE orders (id INT);",
        "SET CLUSTER SETTING kv.rangefeed.enabled = true;",
    )
    assert load_migrations(migrations_dir).ids == ("0001_orders",)


def test_set_role_is_refused_naming_file_and_line(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "SELECT 1;\nSET ROLE app;\n")
    assert "0001_orders.sql: line 2: SET ROLE is not allowed" in problems_of(migrations_dir)


def test_set_role_is_refused_in_a_companion_too(
    migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "SELECT 1;", "SET ROLE app;")
    assert "0001_orders.crdb.sql: line 1: SET ROLE is not allowed" in problems_of(migrations_dir)


@pytest.mark.parametrize(
    ("name", "fixed"),
    [
        ("0002_trades.SQL", "0002_trades.sql"),
        ("0002_trades.Sql", "0002_trades.sql"),
        ("0001_orders.CRDB.SQL", "0001_orders.crdb.sql"),
    ],
)
def test_upper_case_extension_is_refused_naming_the_lower_case_name(
    migrations_dir: Path, write_migration: MigrationWriter, name: str, fixed: str
) -> None:
    write_migration("0001_orders", "CREATE TABLE orders (id INT);")
    (migrations_dir / name).write_text("CREATE TABLE x (id INT);")
    assert f"{name}: the extension must be lower-case .sql or .crdb.sql; rename it to {fixed}" in (
        problems_of(migrations_dir)
    )
