"""Scheduled backups of the trading database, managed as code.

One CockroachDB schedule pair (incremental + full, same label) backs up the database into the
stack's destination. The destination URI may carry cloud credentials, so it only ever travels
as a secret. CockroachDB never deletes old backups itself: retention is the bucket's lifecycle
rule, and ``retention_days`` is checked to keep at least one full backup chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dynamic
from pulumi.runtime import rpc

from components.admin_connection import AdminConnectionError, admin_connection, is_cockroachdb
from migrator.redaction import redact_message

SCHEDULE_LABEL = "openalgo_backup"
SECRET_KEYS = ("destination", "admin_dsn", "ca_cert", "client_cert", "client_key")


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


def _plain(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: rpc.unwrap_rpc_secret(value) for key, value in props.items()}


class BackupScheduleError(Exception):
    """The schedule could not be written; the message holds no secret."""


class BackupScheduleProvider(dynamic.ResourceProvider):
    """Replaces the labelled schedules with the configured ones; drops them on delete."""

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(SCHEDULE_LABEL, {**props, "status": self._apply(props)})

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> dynamic.DiffResult:
        olds, news = _plain(_olds), _plain(_news)
        keys = ("destination", "database", "full_schedule", "incremental_schedule", "kube_access")
        changed = any(olds.get(key) != news.get(key) for key in keys)
        return dynamic.DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    def update(
        self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]
    ) -> dynamic.UpdateResult:
        return dynamic.UpdateResult({**_news, "status": self._apply(_news)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self._run(_plain(props), drop_only=True)

    def _apply(self, props: dict[str, Any]) -> str:
        return self._run(_plain(props), drop_only=False)

    @staticmethod
    def _run(props: Mapping[str, Any], *, drop_only: bool) -> str:
        destination = str(props["destination"])
        dsn = props.get("admin_dsn")
        try:
            with admin_connection(props) as connection:
                if not is_cockroachdb(connection):
                    return "skipped: backup schedules exist only on CockroachDB"
                with connection.transaction():
                    connection.execute(drop_schedules_sql())
                    if drop_only:
                        return "dropped"
                    connection.execute(
                        create_schedule_sql(
                            str(props["database"]),
                            destination,
                            str(props["incremental_schedule"]),
                            str(props["full_schedule"]),
                        )
                    )
                return "scheduled"
        except AdminConnectionError as error:
            raise BackupScheduleError(str(error)) from None
        except Exception as error:
            message = redact_message(
                str(error), dsn if isinstance(dsn, str) else "", (destination,)
            )
            raise BackupScheduleError(f"backup schedule: {message}") from None


class BackupScheduleResource(dynamic.Resource, module="openalgo", name="BackupSchedule"):
    status: pulumi.Output[str]


@dataclass(frozen=True)
class BackupScheduleArgs:
    database: str
    destination: pulumi.Input[str]
    full_schedule: str
    incremental_schedule: str
    admin_dsn: pulumi.Input[str]
    ca_cert: pulumi.Input[str] | None = None
    client_cert: pulumi.Input[str] | None = None
    client_key: pulumi.Input[str] | None = None
    kube_access: dict[str, Any] | None = None


class BackupSchedule(pulumi.ComponentResource):
    """CockroachDB's own scheduler runs the backups; this keeps its schedule as configured."""

    status: pulumi.Output[str]

    def __init__(
        self, name: str, args: BackupScheduleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:cockroachdb:BackupSchedule", name, None, opts)

        def secret(value: pulumi.Input[str] | None) -> pulumi.Output[str] | None:
            return None if value is None else pulumi.Output.secret(value)

        resource = BackupScheduleResource(
            BackupScheduleProvider(),
            f"{name}-schedule",
            {
                "database": args.database,
                "destination": secret(args.destination),
                "full_schedule": args.full_schedule,
                "incremental_schedule": args.incremental_schedule,
                "admin_dsn": secret(args.admin_dsn),
                "ca_cert": secret(args.ca_cert),
                "client_cert": secret(args.client_cert),
                "client_key": secret(args.client_key),
                "kube_access": args.kube_access,
                "status": None,
            },
            pulumi.ResourceOptions(parent=self, additional_secret_outputs=list(SECRET_KEYS)),
        )
        self.status = resource.status
        self.register_outputs({"status": self.status})
