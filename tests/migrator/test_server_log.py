"""What the tests read from the server's statement log, on fixed samples: a round trip of several
statements is one entry over several lines, and DDL anywhere in it counts."""

from __future__ import annotations

from pg_queries import ddl_entries, log_entries, migrator_log_lines

PREFIX = "2026-12-04 05:31:01.024 UTC [14454] app=openalgo-migrator db=t user=postgres: "
BATCH = (
    f"{PREFIX}LOG:  statement: BEGIN;\n"
    "UPDATE public.schema_migrations_lock SET expires_at = now() WHERE id = 1 RETURNING 1\n"
    ";\n"
    "CREATE TABLE venues (\n"
    "    id INT\n"
    ")\n"
    ";\n"
)
DML_BATCH = f"{PREFIX}LOG:  statement: BEGIN;\nINSERT INTO venues VALUES (1)\n;\n"
SINGLE_DDL = f"{PREFIX}LOG:  statement: ALTER TABLE venues ADD COLUMN name TEXT\n"
PARAMETERS = f"{PREFIX}DETAIL:  parameters: $1 = 'CREATE TABLE looks like DDL'\n"
OTHER_APP = SINGLE_DDL.replace("app=openalgo-migrator", "app=psql")


def test_a_batch_over_several_lines_is_one_entry() -> None:
    assert log_entries(BATCH + SINGLE_DDL) == [BATCH.rstrip("\n"), SINGLE_DDL.rstrip("\n")]


def test_ddl_after_the_first_statement_of_a_batch_counts_as_ddl() -> None:
    assert ddl_entries(BATCH) == [BATCH.rstrip("\n")]


def test_a_batch_without_ddl_and_a_parameters_line_are_not_ddl() -> None:
    assert ddl_entries(DML_BATCH + PARAMETERS) == []


def test_a_single_ddl_statement_counts_as_ddl() -> None:
    assert ddl_entries(SINGLE_DDL) == [SINGLE_DDL.rstrip("\n")]


def test_migrator_entries_keep_their_continuation_lines_and_leave_other_apps_out() -> None:
    assert migrator_log_lines(OTHER_APP + BATCH) == [BATCH.rstrip("\n")]
