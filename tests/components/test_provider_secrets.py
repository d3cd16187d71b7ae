"""No dynamic provider error shows the admin DSN's password, whatever the DSN's shape.

Pulumi prints a failing provider method's traceback, so each test checks the whole formatted
exception (message and chained causes), not only the message.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import pytest
from malformed_dsns import MALFORMED_DSNS, SECRET_MARKER

from components.backups import BackupScheduleError, BackupScheduleProvider
from components.cluster_guard import ClusterGuardError, ClusterGuardProvider
from components.schema import (
    SchemaMigrationError,
    SchemaMigrationsProvider,
    check_inputs,
    migration_manifest,
    sql_bundle,
)
from database.admin import AdminConnectionError, admin_connection
from migrator import migrations_from_texts

DSNS = pytest.mark.parametrize("dsn", MALFORMED_DSNS.values(), ids=MALFORMED_DSNS.keys())
MIGRATIONS = migrations_from_texts([("0001_orders", "CREATE TABLE orders (id INT);", None)])


def failure_text(call: Callable[[], Any], error: type[Exception]) -> str:
    """The traceback Pulumi would print for `call`, which must raise `error`."""
    with pytest.raises(error) as caught:
        call()
    return "".join(traceback.format_exception(caught.value))


def schema_props(dsn: str, **overrides: Any) -> dict[str, Any]:
    return {
        "admin_dsn": dsn,
        "app_password": None,
        "database": "openalgo_test",
        "app_user": "openalgo_app",
        "replication_factor": None,
        "migrations": migration_manifest(MIGRATIONS),
        "migrations_digest": MIGRATIONS.digest,
        "allow_drop": False,
        "production": False,
        "lock_wait_s": 1.0,
        **overrides,
    }


def guard_props(dsn: str, version: str) -> dict[str, Any]:
    return {
        "version": version,
        "replicas": 3,
        "replication_factor": 3,
        "production": False,
        "decommissioned": [],
        "finalize": False,
        "reachable": True,
        "decommission_timeout_s": 1,
        "admin_dsn": dsn,
    }


@DSNS
def test_schema_create_error_hides_the_password(dsn: str) -> None:
    provider = SchemaMigrationsProvider(sql_bundle(MIGRATIONS))
    shown = failure_text(lambda: provider.create(schema_props(dsn)), SchemaMigrationError)
    assert SECRET_MARKER not in shown


@DSNS
def test_schema_refresh_error_hides_the_password(dsn: str) -> None:
    provider = SchemaMigrationsProvider(sql_bundle(MIGRATIONS))
    shown = failure_text(
        lambda: provider.read("openalgo_test", schema_props(dsn)), SchemaMigrationError
    )
    assert SECRET_MARKER not in shown


@DSNS
def test_schema_delete_error_hides_the_password(dsn: str) -> None:
    provider = SchemaMigrationsProvider(sql_bundle(MIGRATIONS))
    props = schema_props(dsn, allow_drop=True)
    shown = failure_text(lambda: provider.delete("openalgo_test", props), SchemaMigrationError)
    assert SECRET_MARKER not in shown


@DSNS
def test_schema_check_of_a_malformed_dsn_fails_without_the_password(dsn: str) -> None:
    failures = check_inputs({}, schema_props(dsn), sql_bundle(MIGRATIONS))
    assert SECRET_MARKER not in repr(failures)


def test_schema_check_names_the_malformed_admin_dsn() -> None:
    dsn = MALFORMED_DSNS["bad percent-encoding"]
    failures = check_inputs({}, schema_props(dsn), sql_bundle(MIGRATIONS))
    assert [prop for prop, _ in failures] == ["admin_dsn"]


@DSNS
def test_cluster_guard_update_error_hides_the_password(dsn: str) -> None:
    olds, news = guard_props(dsn, "v25.2.7"), guard_props(dsn, "v25.2.8")
    provider = ClusterGuardProvider()
    shown = failure_text(lambda: provider.update("guard", olds, news), ClusterGuardError)
    assert SECRET_MARKER not in shown


@DSNS
def test_backup_schedule_error_hides_the_password(dsn: str) -> None:
    props = {
        "database": "openalgo",
        "destination": "nodelocal://1/backups",
        "full_schedule": "@daily",
        "incremental_schedule": "@hourly",
        "admin_dsn": dsn,
    }
    provider = BackupScheduleProvider()
    shown = failure_text(lambda: provider.create(props), BackupScheduleError)
    assert SECRET_MARKER not in shown


@DSNS
def test_admin_connection_error_hides_the_password(dsn: str) -> None:
    def open_connection() -> None:
        with admin_connection({"admin_dsn": dsn}):
            pass

    shown = failure_text(open_connection, AdminConnectionError)
    assert SECRET_MARKER not in shown
