"""`python -m migrator`: output a person can read and exit codes a script can branch on."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import MigrationWriter, Names
from malformed_dsns import MALFORMED_DSNS, SECRET_MARKER
from pg_queries import database_exists
from postgres_server import ServerInfo, free_port
from repo import REPO_ROOT

from migrator.cli import EXIT_FAILED, EXIT_OK, EXIT_PENDING, EXIT_REFUSED, EXIT_USAGE, run

ORDERS = "CREATE TABLE orders (id INT);"


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def cli(*argv: str) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return Outcome(code, out.getvalue(), err.getvalue())


@pytest.fixture
def base_args(migrator_cli_args: list[str]) -> list[str]:
    return [*migrator_cli_args, "--lock-wait", "5"]


def test_help_documents_every_exit_code() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "migrator", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert shown.returncode == 0
    for code in (EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PENDING, EXIT_REFUSED):
        assert f"\n  {code}  " in shown.stdout


def test_unknown_command_is_a_usage_error() -> None:
    assert cli("migrate").code == EXIT_USAGE


def test_missing_dsn_is_a_usage_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MIGRATOR_DSN", raising=False)
    outcome = cli("plan")
    assert outcome.code == EXIT_USAGE
    assert "environment variable MIGRATOR_DSN is not set" in outcome.err


@pytest.mark.postgres
def test_unset_password_variable_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, base_args: list[str]
) -> None:
    monkeypatch.delenv("APP_PW")
    outcome = cli("apply", *base_args)
    assert outcome.code == EXIT_USAGE
    assert "APP_PW is not set" in outcome.err


@pytest.mark.postgres
def test_plan_with_exit_code_signals_pending_migrations(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS)
    outcome = cli("plan", "--exit-code", *base_args)
    assert outcome.code == EXIT_PENDING
    assert "0001_orders.sql  (1 statement)" in outcome.out


@pytest.mark.postgres
def test_plan_without_exit_code_succeeds_even_with_pending_work(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS)
    assert cli("plan", *base_args).code == EXIT_OK


@pytest.mark.postgres
def test_apply_succeeds_and_prints_what_it_applied(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS)
    outcome = cli("apply", *base_args)
    assert outcome.code == EXIT_OK
    assert "applied 0001_orders (1 statement," in outcome.out


@pytest.mark.postgres
def test_plan_after_apply_has_nothing_pending(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS)
    cli("apply", *base_args)
    assert cli("plan", "--exit-code", *base_args).code == EXIT_OK


@pytest.mark.postgres
def test_skipped_companion_statements_are_printed(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS, "ALTER TABLE orders SET (ttl = 'on');")
    expected = "skipped: 0001_orders.crdb.sql: 1 CockroachDB-only statement(s) skipped"
    assert expected in cli("plan", *base_args).out
    assert expected in cli("apply", *base_args).out


@pytest.mark.postgres
def test_status_lists_applied_migrations(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS)
    cli("apply", *base_args)
    outcome = cli("status", *base_args)
    assert outcome.code == EXIT_OK
    assert "applied (1):\n  0001_orders  " in outcome.out


@pytest.mark.postgres
def test_drift_makes_plan_exit_code_signal(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS)
    cli("apply", *base_args)
    write_migration("0002_trades", "CREATE TABLE trades (id INT);")
    cli("apply", *base_args)
    (Path(base_args[1]) / "0002_trades.sql").unlink()
    outcome = cli("plan", "--exit-code", *base_args)
    assert outcome.code == EXIT_PENDING
    assert "drift: 0002_trades is applied in the database but missing" in outcome.out


@pytest.mark.postgres
def test_edited_applied_migration_is_refused(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS)
    cli("apply", *base_args)
    write_migration("0001_orders", "CREATE TABLE orders (id BIGINT);")
    outcome = cli("apply", *base_args)
    assert outcome.code == EXIT_REFUSED
    assert "0001_orders.sql: changed after it was applied" in outcome.err


@pytest.mark.postgres
def test_invalid_migration_files_are_refused(base_args: list[str], migrations_dir: Path) -> None:
    (migrations_dir / "0001_orders.crdb.sql").write_text(ORDERS)
    outcome = cli("plan", *base_args)
    assert outcome.code == EXIT_REFUSED
    assert "0001_orders.crdb.sql: companion without its portable file" in outcome.err


@pytest.mark.postgres
def test_broken_migration_fails_naming_the_file(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS)
    write_migration("0002_trades", "CREATE TABLE trades (id INT REFERENCES nowhere (id));")
    outcome = cli("apply", *base_args)
    assert outcome.code == EXIT_FAILED
    assert "applied 0001_orders" in outcome.out
    assert "error: 0002_trades.sql: statement 1 of 1 (line 1)" in outcome.err


@pytest.mark.postgres
def test_unreachable_server_fails_without_printing_the_password(
    pg_server: ServerInfo, base_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "MIGRATOR_DSN",
        f"postgresql://postgres:{pg_server.admin_password}@127.0.0.1:{free_port()}/postgres",
    )
    outcome = cli("apply", *base_args)
    assert outcome.code == EXIT_FAILED
    assert "cannot connect to postgresql://postgres:***@127.0.0.1:" in outcome.err
    assert pg_server.admin_password not in outcome.out + outcome.err


@pytest.mark.postgres
def test_json_output_is_machine_readable(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS)
    document = json.loads(cli("apply", "--json", *base_args).out)
    assert [run["id"] for run in document["applied"]] == ["0001_orders"]
    assert document["dialect"] == "postgresql"


@pytest.mark.postgres
def test_json_error_carries_kind_and_exit_code(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "CREATE TABLE orders (id INT REFERENCES nowhere (id));")
    outcome = cli("apply", "--json", *base_args)
    document = json.loads(outcome.out)
    assert (document["error"], document["exit_code"], outcome.code) == ("failed", 1, 1)


@pytest.mark.postgres
def test_module_entry_point_reads_the_dsn_from_the_environment(
    pg_server: ServerInfo, base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS)
    shown = subprocess.run(
        [sys.executable, "-m", "migrator", "apply", *base_args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert shown.returncode == EXIT_OK, shown.stderr
    assert "applied 0001_orders" in shown.stdout
    assert pg_server.admin_password not in shown.stdout + shown.stderr


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("dsn", MALFORMED_DSNS.values(), ids=MALFORMED_DSNS.keys())
def test_malformed_dsn_fails_without_printing_the_password(
    dsn: str, as_json: bool, migrations_dir: Path, write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS)
    json_flag = ["--json"] if as_json else []
    outcome = cli("apply", "--dsn", dsn, "--dir", str(migrations_dir), *json_flag)
    assert outcome.code in (EXIT_USAGE, EXIT_FAILED)
    assert SECRET_MARKER not in outcome.out + outcome.err


def test_malformed_dsn_is_a_usage_error_naming_the_rule(migrations_dir: Path) -> None:
    outcome = cli(
        "plan", "--dsn", "postgresql://admin:SEKRETpw%zz@h/db", "--dir", str(migrations_dir)
    )
    assert outcome.code == EXIT_USAGE
    assert outcome.err == (
        "error: admin DSN postgresql://admin:***@h/db is not valid: the user name or password "
        "holds a '%' not followed by two hex digits; write a literal '%' as %25\n"
    )


@pytest.mark.postgres
def test_failed_migration_error_is_printed_once(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "CREATE TABLE orders (id INT REFERENCES nowhere (id));")
    outcome = cli("apply", *base_args)
    assert outcome.err.count("0001_orders.sql: statement 1 of 1") == 1


@pytest.mark.postgres
def test_json_error_is_printed_only_in_the_document(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "CREATE TABLE orders (id INT REFERENCES nowhere (id));")
    outcome = cli("apply", "--json", *base_args)
    assert (outcome.err, json.loads(outcome.out)["error"]) == ("", "failed")


@pytest.mark.postgres
def test_summary_counts_ddl_and_other_statements(
    base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS)
    cli("apply", *base_args)
    write_migration("0002_seed", "INSERT INTO orders VALUES (1);\nINSERT INTO orders VALUES (2);")
    outcome = cli("apply", *base_args)
    assert "; 0 DDL statements, 2 other statements, " in outcome.out


@pytest.mark.postgres
def test_statement_that_cannot_run_in_a_transaction_is_refused_before_anything_runs(
    pg_server: ServerInfo, names: Names, base_args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", ORDERS + "\nCREATE INDEX CONCURRENTLY o ON orders (id);")
    outcome = cli("apply", *base_args)
    assert outcome.code == EXIT_REFUSED
    assert "0001_orders.sql: line 2: CREATE INDEX CONCURRENTLY" in outcome.err
    assert not database_exists(pg_server, names.database)
