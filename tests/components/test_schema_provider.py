"""The dynamic provider's check/diff rules and its CRUD against a real PostgreSQL 15."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from conftest import MigrationWriter, Names
from pg_queries import database_exists, fetch
from postgres_server import ServerInfo
from pulumi.dynamic import DiffResult
from pulumi.runtime import rpc

from components.schema import (
    SECRET_KEYS,
    SchemaMigrationError,
    SchemaMigrationsProvider,
    check_inputs,
    migration_manifest,
    sql_bundle,
)
from database.admin import tls_files
from migrator import MigrationSet, load_migrations

ORDERS = "CREATE TABLE orders (id INT);"
TRADES = "CREATE TABLE trades (id INT);"


NAMES = Names(database="openalgo_test", app_user="openalgo_app", app_password="pw-123")
DSN = "postgresql://root:admin-pw@db.example:26257/defaultdb"


def inputs_for(
    migrations: MigrationSet, names: Names, dsn: str, **overrides: Any
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "admin_dsn": dsn,
        "app_password": names.app_password,
        "ca_cert": None,
        "client_cert": None,
        "client_key": None,
        "database": names.database,
        "app_user": names.app_user,
        "replication_factor": None,
        "migrations": migration_manifest(migrations),
        "migrations_digest": migrations.digest,
        "allow_drop": False,
        "production": False,
        "lock_wait_s": 30.0,
    }
    props.update(overrides)
    return props


@pytest.fixture
def one(migrations_dir: Path, write_migration: MigrationWriter) -> MigrationSet:
    write_migration("0001_orders", ORDERS)
    return load_migrations(migrations_dir)


@pytest.fixture
def two(one: MigrationSet, migrations_dir: Path, write_migration: MigrationWriter) -> MigrationSet:
    write_migration("0002_trades", TRADES)
    return load_migrations(migrations_dir)


def diff_inputs(olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
    """The provider's diff, which needs no SQL."""
    return SchemaMigrationsProvider(()).diff(NAMES.database, olds, news)


def reasons(failures: list[tuple[str, str]]) -> list[str]:
    return [f"{prop}: {reason}" for prop, reason in failures]


class TestCheck:
    def test_inputs_built_from_a_directory_pass(self, two: MigrationSet) -> None:
        assert check_inputs({}, inputs_for(two, NAMES, DSN), sql_bundle(two)) == []

    def test_checksum_not_matching_the_bundled_sql_names_the_file(self, one: MigrationSet) -> None:
        news = inputs_for(one, NAMES, DSN)
        news["migrations"] = [{"id": "0001_orders", "checksum": "0" * 64}]
        news["migrations_digest"] = None
        found = reasons(check_inputs({}, news, sql_bundle(one)))
        assert found == [
            "migrations: 0001_orders.sql: listed with checksum 000000000000 but its SQL hashes "
            f"to {one.migrations[0].checksum[:12]}"
        ]

    def test_edited_applied_migration_fails_the_preview_naming_the_file(
        self,
        one: MigrationSet,
        migrations_dir: Path,
        write_migration: MigrationWriter,
    ) -> None:
        olds = inputs_for(one, NAMES, DSN)
        write_migration("0001_orders", "CREATE TABLE orders (id BIGINT);")
        edited = load_migrations(migrations_dir)
        found = reasons(check_inputs(olds, inputs_for(edited, NAMES, DSN), sql_bundle(edited)))
        assert len(found) == 1
        assert found[0].startswith("migrations: 0001_orders.sql: was applied with checksum")

    def test_removed_applied_migration_fails_the_preview(
        self, one: MigrationSet, two: MigrationSet
    ) -> None:
        olds = inputs_for(two, NAMES, DSN)
        found = reasons(check_inputs(olds, inputs_for(one, NAMES, DSN), sql_bundle(one)))
        assert found == [
            "migrations: 0002_trades.sql: was applied but is no longer in the migrations "
            "directory; applied migrations are append-only (restore the file)"
        ]

    def test_added_migration_passes(self, one: MigrationSet, two: MigrationSet) -> None:
        olds = inputs_for(one, NAMES, DSN)
        assert check_inputs(olds, inputs_for(two, NAMES, DSN), sql_bundle(two)) == []

    def test_allow_drop_on_production_fails(self, one: MigrationSet) -> None:
        news = inputs_for(one, NAMES, DSN, production=True, allow_drop=True)
        assert reasons(check_inputs({}, news, sql_bundle(one))) == [
            "allow_drop: must be false on a production stack"
        ]

    def test_invalid_database_name_fails(self, one: MigrationSet) -> None:
        news = inputs_for(one, NAMES, DSN, database="Open-Algo")
        assert reasons(check_inputs({}, news, sql_bundle(one)))[0].startswith(
            "database: 'Open-Algo' is not allowed"
        )

    def test_manifest_rendered_for_the_app_user_passes(
        self, migrations_dir: Path, write_migration: MigrationWriter
    ) -> None:
        write_migration("0001_grants", "GRANT SELECT ON TABLE orders TO {{app_user}};")
        grants = load_migrations(migrations_dir, app_user=NAMES.app_user)
        assert check_inputs({}, inputs_for(grants, NAMES, DSN), sql_bundle(grants)) == []

    def test_manifest_rendered_for_another_app_user_fails_naming_the_file(
        self, migrations_dir: Path, write_migration: MigrationWriter
    ) -> None:
        write_migration("0001_grants", "GRANT SELECT ON TABLE orders TO {{app_user}};")
        for_openalgo = load_migrations(migrations_dir)
        found = reasons(
            check_inputs({}, inputs_for(for_openalgo, NAMES, DSN), sql_bundle(for_openalgo))
        )
        assert found[0].startswith("migrations: 0001_grants.sql: listed with checksum")

    def test_reserved_app_user_fails(self, one: MigrationSet) -> None:
        news = inputs_for(one, NAMES, DSN, app_user="public")
        assert reasons(check_inputs({}, news, sql_bundle(one)))[0].startswith(
            "app_user: 'public' is reserved"
        )

    def test_unknown_values_during_preview_are_not_judged(self, one: MigrationSet) -> None:
        news = inputs_for(one, NAMES, DSN, admin_dsn=object(), database=object())
        assert check_inputs({}, news, sql_bundle(one)) == []


class TestDiff:
    def test_added_migration_is_an_update_not_a_replacement(
        self, one: MigrationSet, two: MigrationSet
    ) -> None:
        result = diff_inputs(inputs_for(one, NAMES, DSN), inputs_for(two, NAMES, DSN))
        assert (result.changes, result.replaces) == (True, [])

    def test_new_credentials_are_an_update_not_a_replacement(self, one: MigrationSet) -> None:
        olds = inputs_for(one, NAMES, DSN)
        news = inputs_for(one, NAMES, DSN, app_password="new", admin_dsn="host=elsewhere")
        result = diff_inputs(olds, news)
        assert (result.changes, result.replaces) == (True, [])

    def test_other_database_is_a_replacement(self, one: MigrationSet) -> None:
        olds = inputs_for(one, NAMES, DSN)
        result = diff_inputs(olds, inputs_for(one, NAMES, DSN, database="other"))
        assert result.replaces == ["database"]

    def test_identical_inputs_have_no_changes(self, one: MigrationSet) -> None:
        props = inputs_for(one, NAMES, DSN)
        assert diff_inputs(props, dict(props)).changes is False

    def test_secret_wrapped_old_values_compare_equal_to_plain_ones(self, one: MigrationSet) -> None:
        news = inputs_for(one, NAMES, DSN)
        olds = {k: rpc.wrap_rpc_secret(v) if k in SECRET_KEYS else v for k, v in news.items()}
        assert diff_inputs(olds, news).changes is False

    def test_changed_checksum_of_an_applied_migration_is_an_error_naming_the_file(
        self,
        one: MigrationSet,
        migrations_dir: Path,
        write_migration: MigrationWriter,
    ) -> None:
        olds = {**inputs_for(one, NAMES, DSN), "applied": migration_manifest(one)}
        write_migration("0001_orders", "CREATE TABLE orders (id BIGINT);")
        edited = load_migrations(migrations_dir)
        with pytest.raises(SchemaMigrationError, match=r"0001_orders\.sql: was applied with"):
            diff_inputs(olds, inputs_for(edited, NAMES, DSN))

    def test_migrations_lost_from_the_database_trigger_an_update(self, one: MigrationSet) -> None:
        props = inputs_for(one, NAMES, DSN)
        assert diff_inputs({**props, "unapplied": ["0001_orders"]}, props).changes is True


@pytest.mark.postgres
class TestLifecycle:
    def test_create_applies_everything_and_reports_ids_and_counts(
        self, pg_server: ServerInfo, names: Names, two: MigrationSet
    ) -> None:
        created = SchemaMigrationsProvider(sql_bundle(two)).create(
            inputs_for(two, names, pg_server.dsn())
        )
        assert created.id == names.database
        outs = created.outs or {}
        assert outs["applied_ids"] == ["0001_orders", "0002_trades"]
        assert (outs["applied_count"], outs["last_applied"]) == (2, ["0001_orders", "0002_trades"])
        assert outs["statements_executed"] > 2

    def test_outputs_carry_secrets_only_inside_secret_envelopes(
        self, pg_server: ServerInfo, names: Names, one: MigrationSet
    ) -> None:
        outs = (
            SchemaMigrationsProvider(sql_bundle(one))
            .create(inputs_for(one, names, pg_server.dsn()))
            .outs
            or {}
        )
        for key in ("admin_dsn", "app_password"):
            assert rpc.is_rpc_secret(outs[key])
        visible = {k: v for k, v in outs.items() if not rpc.is_rpc_secret(v)}
        assert names.app_password not in repr(visible)
        assert pg_server.admin_password not in repr(visible)

    def test_update_with_a_new_migration_applies_only_it(
        self, pg_server: ServerInfo, names: Names, one: MigrationSet, two: MigrationSet
    ) -> None:
        SchemaMigrationsProvider(sql_bundle(one)).create(inputs_for(one, names, pg_server.dsn()))
        updated = SchemaMigrationsProvider(sql_bundle(two)).update(
            names.database,
            inputs_for(one, names, pg_server.dsn()),
            inputs_for(two, names, pg_server.dsn()),
        )
        outs = updated.outs or {}
        assert (outs["last_applied"], outs["statements_executed"]) == (["0002_trades"], 1)

    def test_update_without_new_migrations_runs_no_ddl(
        self, pg_server: ServerInfo, names: Names, one: MigrationSet
    ) -> None:
        provider = SchemaMigrationsProvider(sql_bundle(one))
        props = inputs_for(one, names, pg_server.dsn())
        provider.create(props)
        outs = provider.update(names.database, props, props).outs or {}
        assert (outs["last_applied"], outs["statements_executed"]) == ([], 0)

    def test_refresh_reports_migrations_applied_outside_the_state_as_drift(
        self, pg_server: ServerInfo, names: Names, one: MigrationSet, two: MigrationSet
    ) -> None:
        SchemaMigrationsProvider(sql_bundle(two)).create(inputs_for(two, names, pg_server.dsn()))
        state = inputs_for(one, names, pg_server.dsn())
        read = SchemaMigrationsProvider(sql_bundle(one)).read(names.database, state)
        outs = read.outs or {}
        assert (read.id, outs["applied_ids"], outs["drift"]) == (
            names.database,
            ["0001_orders", "0002_trades"],
            ["0002_trades"],
        )

    def test_refresh_reports_declared_migrations_missing_from_history(
        self, pg_server: ServerInfo, names: Names, two: MigrationSet
    ) -> None:
        provider = SchemaMigrationsProvider(sql_bundle(two))
        props = inputs_for(two, names, pg_server.dsn())
        provider.create(props)
        fetch(
            pg_server,
            names.database,
            "DELETE FROM schema_migrations WHERE id = '0002_trades' RETURNING id",
        )
        outs = provider.read(names.database, props).outs or {}
        assert outs["unapplied"] == ["0002_trades"]

    def test_refresh_of_a_missing_database_reports_the_resource_gone(
        self, pg_server: ServerInfo, names: Names, one: MigrationSet
    ) -> None:
        read = SchemaMigrationsProvider(sql_bundle(one)).read(
            names.database, inputs_for(one, names, pg_server.dsn())
        )
        assert read.id == ""

    def test_delete_keeps_the_database_by_default(
        self, pg_server: ServerInfo, names: Names, one: MigrationSet
    ) -> None:
        provider = SchemaMigrationsProvider(sql_bundle(one))
        props = inputs_for(one, names, pg_server.dsn())
        provider.create(props)
        provider.delete(names.database, props)
        assert database_exists(pg_server, names.database)

    def test_delete_with_allow_drop_drops_the_database(
        self, pg_server: ServerInfo, names: Names, one: MigrationSet
    ) -> None:
        provider = SchemaMigrationsProvider(sql_bundle(one))
        props = inputs_for(one, names, pg_server.dsn(), allow_drop=True)
        provider.create(props)
        provider.delete(names.database, props)
        assert not database_exists(pg_server, names.database)

    def test_delete_on_production_refuses_to_drop(
        self, pg_server: ServerInfo, names: Names, one: MigrationSet
    ) -> None:
        provider = SchemaMigrationsProvider(sql_bundle(one))
        props = inputs_for(one, names, pg_server.dsn())
        provider.create(props)
        with pytest.raises(SchemaMigrationError, match="refusing to drop database"):
            provider.delete(names.database, {**props, "allow_drop": True, "production": True})
        assert database_exists(pg_server, names.database)

    def test_failed_migration_error_names_the_file_and_hides_the_dsn_password(
        self,
        pg_server: ServerInfo,
        names: Names,
        migrations_dir: Path,
        write_migration: MigrationWriter,
    ) -> None:
        write_migration("0001_orders", "CREATE TABLE orders (id INT REFERENCES nowhere (id));")
        broken = load_migrations(migrations_dir)
        with pytest.raises(SchemaMigrationError) as caught:
            SchemaMigrationsProvider(sql_bundle(broken)).create(
                inputs_for(broken, names, pg_server.dsn())
            )
        assert str(caught.value).startswith("0001_orders.sql: statement 1 of 1")
        assert pg_server.admin_password not in str(caught.value)


def test_tls_material_lives_in_a_private_directory_only_while_in_use() -> None:
    with tls_files("CA PEM", "CERT PEM", "KEY PEM") as options:
        paths = [Path(options[k]) for k in ("sslrootcert", "sslcert", "sslkey")]
        directory = paths[0].parent
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        assert {stat.S_IMODE(p.stat().st_mode) for p in paths} == {0o600}
        assert paths[2].read_text() == "KEY PEM"
    assert not directory.exists()


def test_no_tls_material_means_no_temporary_files() -> None:
    with tls_files(None, None, None) as options:
        assert options == {}
