"""Scheduled backups as code: the SQL, the config rules and how each stack wires them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from postgres_server import ServerInfo
from pulumi.runtime import rpc
from stack_harness import RenderedStack, operator_secret_keys, run_stack_file, stack_file_config

from components.backups import (
    SCHEDULE_LABEL,
    BackupScheduleError,
    BackupScheduleProvider,
    create_schedule_sql,
    drop_schedules_sql,
    restore_sql,
    show_backups_sql,
)
from rules.config import ConfigError, load_stack_config


def outs(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    return dict(result.outs)


SCHEDULE = "pulumi-python:dynamic/openalgo:BackupSchedule"
BUCKET = "s3://openalgo-backups/prod?AUTH=implicit"


def test_schedule_takes_incremental_and_full_backups_of_the_database() -> None:
    statement = create_schedule_sql("openalgo", BUCKET, "@hourly", "@daily")
    assert statement.startswith(
        "CREATE SCHEDULE IF NOT EXISTS 'openalgo_backup' FOR BACKUP DATABASE openalgo INTO "
        "'s3://openalgo-backups/prod?AUTH=implicit'"
    )
    assert "RECURRING '@hourly' FULL BACKUP '@daily'" in statement
    assert "on_execution_failure = 'retry'" in statement


def test_destination_quotes_are_escaped() -> None:
    assert "INTO 'nodelocal://1/o''brien'" in create_schedule_sql(
        "openalgo", "nodelocal://1/o'brien", "@hourly", "@daily"
    )


def test_schedules_are_replaced_by_label() -> None:
    assert drop_schedules_sql() == (
        "DROP SCHEDULES WITH s AS (SHOW SCHEDULES) SELECT id FROM s WHERE label = 'openalgo_backup'"
    )


def test_restore_drill_restores_under_another_name() -> None:
    assert restore_sql("openalgo", BUCKET, into="openalgo_restore_check") == (
        f"RESTORE DATABASE openalgo FROM LATEST IN '{BUCKET}' WITH new_db_name = "
        "'openalgo_restore_check'"
    )


def test_restore_in_place_restores_the_latest_backup() -> None:
    assert restore_sql("openalgo", BUCKET) == f"RESTORE DATABASE openalgo FROM LATEST IN '{BUCKET}'"


def test_backups_can_be_listed() -> None:
    assert show_backups_sql(BUCKET) == f"SHOW BACKUPS IN '{BUCKET}'"


def problems(stack: str, *, operator_secrets: bool = True, **overrides: Any) -> list[str]:
    values = stack_file_config(stack, with_operator_secrets=operator_secrets)
    for key, value in overrides.items():
        values[f"openalgo:{key}"] = value if isinstance(value, str) else json.dumps(value)
    secret_keys = operator_secret_keys(stack) if operator_secrets else []
    with pytest.raises(ConfigError) as caught:
        load_stack_config(stack, values, kubeconfig_present=True, secret_keys=secret_keys)
    return [str(problem) for problem in caught.value.problems]


def test_prod_refuses_to_run_without_backups() -> None:
    found = problems("prod", backup={"enabled": False})
    assert "openalgo:backup.enabled = false: true in prod: the trading data is backed up" in found


def test_committed_prod_needs_its_backup_bucket_set_as_a_secret() -> None:
    [found] = [p for p in problems("prod", operator_secrets=False) if "backupDestination" in p]
    assert found.startswith("openalgo:backupDestination = (unset): a backup URI")
    assert "pulumi config set --secret openalgo:backupDestination" in found


def test_prod_refuses_node_local_backups() -> None:
    [found] = problems("prod", backupDestination="nodelocal://1/backups")
    assert found.startswith("openalgo:backupDestination = [secret]: an off-cluster URI in prod")


def test_schedules_must_be_cron_expressions() -> None:
    found = problems("dev", backup={"enabled": True, "fullSchedule": "daily"})
    assert (
        "openalgo:backup.fullSchedule = 'daily': a cron expression of five fields (minute hour "
        "day-of-month month day-of-week, e.g. '0 2 * * *') or one of @yearly, @annually, "
        "@monthly, @weekly, @daily, @midnight, @hourly (not five fields separated by spaces)"
        in found
    )


def test_retention_keeps_two_full_backup_periods() -> None:
    found = problems("dev", backup={"enabled": True, "fullSchedule": "@weekly", "retentionDays": 7})
    assert any(m.startswith("openalgo:backup.retentionDays = 7: >= 14") for m in found)


def test_decommissioned_ordinals_must_be_outside_the_statefulset() -> None:
    found = problems("dev", scaling={"decommissioned": [1]})
    assert any(
        m.startswith("openalgo:scaling.decommissioned = [1]: distinct ordinals >= replicas (3)")
        for m in found
    )


def test_prod_schedules_backups_after_the_schema_exists(prod: RenderedStack) -> None:
    depends = prod.opts_of("openalgo:cockroachdb:BackupSchedule", "backups").depends_on
    assert isinstance(depends, list)
    assert [type(d).__name__ for d in depends] == ["SchemaMigrations"]


def test_prod_backup_destination_is_a_secret(prod: RenderedStack) -> None:
    schedule = prod.one(SCHEDULE)
    assert schedule.inputs["destination"] == BUCKET
    assert BUCKET in schedule.secret_values


def test_backup_destination_appears_in_no_manifest(prod: RenderedStack) -> None:
    assert all(BUCKET not in json.dumps(m) for m in prod.manifests())


def test_schedule_follows_config(prod: RenderedStack) -> None:
    schedule = prod.one(SCHEDULE).inputs
    assert (schedule["incremental_schedule"], schedule["full_schedule"]) == ("@hourly", "@daily")


def test_rendering_only_writes_no_schedule(caplog: pytest.LogCaptureFixture) -> None:
    stack = run_stack_file("dev")
    assert stack.of_type(SCHEDULE) == []
    assert "backup schedule not written" in caplog.text


def test_on_postgresql_the_schedule_is_reported_skipped(pg_server: ServerInfo) -> None:
    result = BackupScheduleProvider().create(
        {
            "database": "openalgo",
            "destination": "nodelocal://1/backups",
            "full_schedule": "@daily",
            "incremental_schedule": "@hourly",
            "admin_dsn": pg_server.dsn(),
        }
    )
    assert outs(result)["status"] == "skipped: backup schedules exist only on CockroachDB"


UNREACHABLE = "postgresql://root@127.0.0.1:1/defaultdb?connect_timeout=2"


def schedule_state(**overrides: Any) -> dict[str, Any]:
    return {
        "database": "openalgo",
        "destination": "nodelocal://1/backups",
        "full_schedule": "@daily",
        "incremental_schedule": "@hourly",
        "admin_dsn": UNREACHABLE,
        "client_cert": "CERT PEM",
        "status": "scheduled",
    } | overrides


def test_a_renewed_client_certificate_reaches_the_schedules_state() -> None:
    result = BackupScheduleProvider().diff(
        SCHEDULE_LABEL, schedule_state(), schedule_state(client_cert="RENEWED PEM")
    )
    assert (result.changes, result.replaces) == (True, [])


def test_a_changed_dsn_is_recorded_without_rewriting_the_schedule() -> None:
    news = schedule_state(admin_dsn="postgresql://root@127.0.0.1:2/defaultdb?connect_timeout=2")
    updated = outs(BackupScheduleProvider().update(SCHEDULE_LABEL, schedule_state(), news))
    assert updated["status"] == "scheduled"
    assert rpc.unwrap_rpc_secret(updated["admin_dsn"]) == news["admin_dsn"]


def test_a_changed_schedule_is_written_again() -> None:
    with pytest.raises(BackupScheduleError, match="cannot connect to"):
        BackupScheduleProvider().update(
            SCHEDULE_LABEL, schedule_state(), schedule_state(full_schedule="@weekly")
        )
