"""Statement kinds: DDL or not, runnable inside a transaction, changing the session's role."""

from __future__ import annotations

import pytest

from migrator.statements import is_ddl, session_identity_refusal, transaction_refusal


@pytest.mark.parametrize(
    "text",
    [
        "CREATE TABLE t (id INT)",
        "alter table t add column x int",
        "DROP VIEW v",
        "GRANT SELECT ON t TO app",
        "REVOKE ALL ON t FROM app",
        "COMMENT ON TABLE t IS 'x'",
        "-- leading comment\nCREATE INDEX ON t (id)",
    ],
)
def test_schema_and_privilege_changes_count_as_ddl(text: str) -> None:
    assert is_ddl(text)


@pytest.mark.parametrize(
    "text",
    [
        "INSERT INTO t VALUES (1)",
        "UPDATE t SET x = 1",
        "DELETE FROM t",
        "SELECT pg_sleep(1)",
        "SET search_path = s",
        "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
    ],
)
def test_data_changes_queries_and_settings_are_not_ddl(text: str) -> None:
    assert not is_ddl(text)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("CREATE INDEX CONCURRENTLY i ON t (id)", "CREATE INDEX CONCURRENTLY"),
        ("create unique index concurrently i on t (id)", "CREATE UNIQUE INDEX CONCURRENTLY"),
        ("DROP INDEX CONCURRENTLY i", "DROP INDEX CONCURRENTLY"),
        ("REINDEX (VERBOSE) TABLE CONCURRENTLY t", "REINDEX ... CONCURRENTLY"),
        ("REINDEX DATABASE d", "REINDEX DATABASE"),
        ("CREATE DATABASE other", "CREATE DATABASE"),
        ("DROP DATABASE other", "DROP DATABASE"),
        ("VACUUM ANALYZE t", "VACUUM"),
        ("VACUUM (FULL) t", "VACUUM"),
        ("ALTER SYSTEM SET work_mem = '64MB'", "ALTER SYSTEM"),
        ("CREATE TABLESPACE ts LOCATION '/x'", "CREATE TABLESPACE"),
        ("DISCARD ALL", "DISCARD ALL"),
        ("SET CLUSTER SETTING kv.rangefeed.enabled = true", "SET CLUSTER SETTING"),
    ],
)
def test_statements_that_cannot_run_in_a_transaction_are_named(text: str, named: str) -> None:
    reason = transaction_refusal(text)
    assert reason is not None
    assert reason.startswith(f"{named} cannot run inside a transaction")


@pytest.mark.parametrize(
    "text",
    [
        "CREATE INDEX i ON t (id)",
        "DROP INDEX i",
        "REINDEX TABLE t",
        "CREATE TABLE concurrently (x INT)",
    ],
)
def test_transactional_forms_are_allowed(text: str) -> None:
    assert transaction_refusal(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "SET ROLE app",
        "set local role app",
        "SET SESSION AUTHORIZATION app",
        "RESET ROLE",
        "SET SESSION ROLE app",
    ],
)
def test_statements_changing_the_session_role_are_refused(text: str) -> None:
    reason = session_identity_refusal(text)
    assert reason is not None
    assert "is not allowed: migrations run as the admin user" in reason


def test_other_settings_do_not_change_the_session_role() -> None:
    assert session_identity_refusal("SET search_path = trading, public") is None
