"""Passwords stay out of logs, messages, reprs and the server's statement log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import MigrationWriter, Names
from postgres_server import ServerInfo

from migrator import MigrationFailedError, Migrator, Target

pytestmark = pytest.mark.postgres

MakeMigrator = Callable[..., Migrator]


def test_bootstrap_logs_and_results_never_contain_the_app_password(
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    write_migration("0001_orders", "CREATE TABLE orders (id INT);")
    caplog.set_level(logging.DEBUG)
    first = migrator_for(names, migrations_dir).apply()
    changed = migrator_for(names, migrations_dir, app_password="rotated-password-42").apply()
    assert f"set the password of role {names.app_user}" in changed.bootstrap
    everything = caplog.text + repr(first.as_dict()) + repr(changed.as_dict())
    assert names.app_password not in everything
    assert "rotated-password-42" not in everything


def test_server_statement_log_sees_only_the_scram_verifier(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0001_orders", "CREATE TABLE orders (id INT);")
    offset = pg_server.log_size()
    migrator_for(names, migrations_dir).apply()
    logged = pg_server.log_since(offset)
    assert f'CREATE ROLE "{names.app_user}" LOGIN PASSWORD \'SCRAM-SHA-256$4096:' in logged
    assert names.app_password not in logged


def test_target_repr_hides_dsn_and_password(pg_server: ServerInfo, names: Names) -> None:
    target = Target(admin_dsn=pg_server.dsn(), app_password=names.app_password)
    shown = repr(target)
    assert pg_server.admin_password not in shown
    assert names.app_password not in shown


def test_migration_failure_message_masks_secrets_echoed_by_the_server(
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    write_migration("0001_orders", f"SELECT '{names.app_password}'::int;")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MigrationFailedError) as caught:
        migrator_for(names, migrations_dir).apply()
    assert "invalid input syntax for type integer" in str(caught.value)
    assert names.app_password not in str(caught.value)
    assert names.app_password not in caplog.text
