"""Scheduled backups of the trading database, managed as code.

One CockroachDB schedule pair (incremental + full, same label) backs up the database into the
stack's destination. The destination URI may carry cloud credentials, so it only ever travels
as a secret. CockroachDB never deletes old backups itself: retention is the bucket's lifecycle
rule, and ``retention_days`` is checked to keep at least one full backup chain.

The schedule is written again only when what it backs up, where or when changes: a new DSN or a
renewed certificate is recorded in the state without touching it (a new schedule starts with a
full backup at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from components.dynamic_provider import DeclaredProvider, changed_keys
from database.admin import ADMIN_KEYS, ADMIN_SECRET_KEYS, AdminAccess, is_cockroachdb

SCHEDULE_LABEL = "openalgo_backup"
SCHEDULE_KEYS = ("destination", "database", "full_schedule", "incremental_schedule")
"""The inputs the schedule is made of; the others say how to reach the cluster."""


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_schedule_sql(
    database: str, destination: str, incremental: str, full: str, label: str = SCHEDULE_LABEL
) -> str:
    """Incremental backups on ``incremental``, a new full backup chain on ``full``."""
    return (
        f"CREATE SCHEDULE IF NOT EXISTS {sql_literal(label)} FOR BACKUP DATABASE {database} "
        f"INTO {sql_literal(destination)} WITH revision_history "
        f"RECURRING {sql_literal(incremental)} FULL BACKUP {sql_literal(full)} "
        "WITH SCHEDULE OPTIONS first_run = 'now', on_execution_failure = 'retry', "
        "on_previous_running = 'skip'"
    )


def drop_schedules_sql(label: str = SCHEDULE_LABEL) -> str:
    return (
        "DROP SCHEDULES WITH s AS (SHOW SCHEDULES) "
        f"SELECT id FROM s WHERE label = {sql_literal(label)}"
    )


def restore_sql(database: str, destination: str, into: str | None = None) -> str:
    """Restore the latest backup; into another name for a drill, in place after a DROP."""
    statement = f"RESTORE DATABASE {database} FROM LATEST IN {sql_literal(destination)}"
    if into:
        statement += f" WITH new_db_name = {sql_literal(into)}"
    return statement


def show_backups_sql(destination: str) -> str:
    return f"SHOW BACKUPS IN {sql_literal(destination)}"


class BackupScheduleError(Exception):
    """The schedule could not be written; the message holds no secret."""


class BackupScheduleProvider(DeclaredProvider):
    """Replaces the labelled schedules with the configured ones; drops them on delete."""

    INPUT_KEYS = (*SCHEDULE_KEYS, *ADMIN_KEYS)
    SECRET_KEYS = ("destination", *ADMIN_SECRET_KEYS)
    OUTPUT_KEYS = ("status",)
    FAILURE = BackupScheduleError
    WHAT = "backup schedule"

    def created(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return SCHEDULE_LABEL, {"status": self._run(props, drop_only=False)}

    def updated(self, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        status = olds.get("status")
        if isinstance(status, str) and not changed_keys(SCHEDULE_KEYS, olds, news):
            return {"status": status}
        return {"status": self._run(news, drop_only=False)}

    def deleted(self, props: dict[str, Any]) -> None:
        self._run(props, drop_only=True)

    def _run(self, props: Mapping[str, Any], *, drop_only: bool) -> str:
        with self.admin_session(props) as connection:
            if not is_cockroachdb(connection):
                return "skipped: backup schedules exist only on CockroachDB"
            with connection.transaction():
                connection.execute(drop_schedules_sql())
                if drop_only:
                    return "dropped"
                connection.execute(
                    create_schedule_sql(
                        str(props["database"]),
                        str(props["destination"]),
                        str(props["incremental_schedule"]),
                        str(props["full_schedule"]),
                    )
                )
            return "scheduled"


class BackupScheduleResource(dynamic.Resource, module="openalgo", name="BackupSchedule"):
    status: pulumi.Output[str]


@dataclass(frozen=True)
class BackupScheduleArgs:
    """The fields named in ``SCHEDULE_KEYS`` become the inputs of the same names."""

    database: str
    destination: pulumi.Input[str]
    full_schedule: str
    incremental_schedule: str
    admin: AdminAccess


class BackupSchedule(pulumi.ComponentResource):
    """CockroachDB's own scheduler runs the backups; this keeps its schedule as configured."""

    status: pulumi.Output[str]

    def __init__(
        self, name: str, args: BackupScheduleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:cockroachdb:BackupSchedule", name, None, opts)
        schedule = {key: getattr(args, key) for key in SCHEDULE_KEYS}
        resource = BackupScheduleProvider().declare(
            BackupScheduleResource, f"{name}-schedule", self, schedule, args.admin
        )
        self.status = resource.status
        self.register_outputs({"status": self.status})
