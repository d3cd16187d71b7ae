"""The provider survives Pulumi's serializer and works in a fresh process, as `pulumi up` runs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import MigrationWriter, Names
from dynamic_host import (
    DynamicHost,
    from_struct,
    provider_host,
    pulumi_deserialized,
    pulumi_serialized,
)
from pg_queries import history_ids
from postgres_server import ServerInfo
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from repo import REPO_ROOT

from components.schema import (
    SchemaMigrationsProvider,
    migration_manifest,
    sql_bundle,
)
from migrator import MigrationSet, load_migrations

ORDERS = "CREATE TABLE orders (id INT);"


@pytest.fixture(scope="module")
def host_stub() -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    with provider_host(REPO_ROOT) as stub:
        yield stub


@pytest.fixture
def one(migrations_dir: Path, write_migration: MigrationWriter) -> MigrationSet:
    write_migration("0001_orders", ORDERS)
    return load_migrations(migrations_dir)


def props_for(migrations: MigrationSet, names: Names, info: ServerInfo) -> dict[str, Any]:
    return {
        "admin_dsn": info.dsn(),
        "app_password": names.app_password,
        "database": names.database,
        "app_user": names.app_user,
        "migrations": migration_manifest(migrations),
        "migrations_digest": migrations.digest,
        "allow_drop": False,
        "production": False,
        "lock_wait_s": 30.0,
    }


def host_for(stub: provider_pb2_grpc.ResourceProviderStub, migrations: MigrationSet) -> DynamicHost:
    return DynamicHost(stub, pulumi_serialized(SchemaMigrationsProvider(sql_bundle(migrations))))


def test_provider_round_trips_through_pulumis_serializer(one: MigrationSet) -> None:
    provider = SchemaMigrationsProvider(sql_bundle(one))
    restored = pulumi_deserialized(pulumi_serialized(provider))
    assert type(restored) is SchemaMigrationsProvider
    assert restored.bundle == provider.bundle


def test_serialized_provider_is_deterministic(one: MigrationSet) -> None:
    """Same SQL, same serialized provider: no spurious diff on `__provider`."""
    first = pulumi_serialized(SchemaMigrationsProvider(sql_bundle(one)))
    assert pulumi_serialized(SchemaMigrationsProvider(sql_bundle(one))) == first


@pytest.mark.postgres
def test_fresh_process_checks_the_inputs(
    host_stub: provider_pb2_grpc.ResourceProviderStub,
    pg_server: ServerInfo,
    names: Names,
    one: MigrationSet,
) -> None:
    props = props_for(one, names, pg_server)
    response = host_for(host_stub, one).check({}, props)
    assert list(response.failures) == []


@pytest.mark.postgres
def test_fresh_process_creates_from_the_bundled_sql_without_the_directory(
    host_stub: provider_pb2_grpc.ResourceProviderStub,
    pg_server: ServerInfo,
    names: Names,
    one: MigrationSet,
    migrations_dir: Path,
) -> None:
    host = host_for(host_stub, one)
    shutil.rmtree(migrations_dir)
    response = host.create(props_for(one, names, pg_server))
    outs = from_struct(response.properties)
    assert (response.id, outs["applied_ids"]) == (names.database, ["0001_orders"])
    assert history_ids(pg_server, names.database) == ["0001_orders"]


@pytest.mark.postgres
def test_fresh_process_marks_credential_outputs_secret_on_the_wire(
    host_stub: provider_pb2_grpc.ResourceProviderStub,
    pg_server: ServerInfo,
    names: Names,
    one: MigrationSet,
) -> None:
    response = host_for(host_stub, one).create(props_for(one, names, pg_server))
    outs = from_struct(response.properties)
    assert rpc.is_rpc_secret(outs["admin_dsn"])
    assert rpc.is_rpc_secret(outs["app_password"])
    public = {k: v for k, v in outs.items() if not rpc.is_rpc_secret(v) and k != "__provider"}
    assert names.app_password not in repr(public)


@pytest.mark.postgres
def test_fresh_process_diffs_an_added_migration_as_an_update(
    host_stub: provider_pb2_grpc.ResourceProviderStub,
    pg_server: ServerInfo,
    names: Names,
    one: MigrationSet,
    migrations_dir: Path,
    write_migration: MigrationWriter,
) -> None:
    state = from_struct(
        host_for(host_stub, one).create(props_for(one, names, pg_server)).properties
    )
    write_migration("0002_trades", "CREATE TABLE trades (id INT);")
    two = load_migrations(migrations_dir)
    response = host_for(host_stub, two).diff(
        {k: rpc.unwrap_rpc_secret(v) for k, v in state.items() if k != "__provider"},
        props_for(two, names, pg_server),
    )
    assert response.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(response.replaces) == []


@pytest.mark.postgres
def test_fresh_process_diff_fails_for_an_edited_applied_migration(
    host_stub: provider_pb2_grpc.ResourceProviderStub,
    pg_server: ServerInfo,
    names: Names,
    one: MigrationSet,
    migrations_dir: Path,
    write_migration: MigrationWriter,
) -> None:
    state = from_struct(
        host_for(host_stub, one).create(props_for(one, names, pg_server)).properties
    )
    write_migration("0001_orders", "CREATE TABLE orders (id BIGINT);")
    edited = load_migrations(migrations_dir)
    with pytest.raises(grpc.RpcError) as caught:
        host_for(host_stub, edited).diff(
            {k: rpc.unwrap_rpc_secret(v) for k, v in state.items() if k != "__provider"},
            props_for(edited, names, pg_server),
        )
    details = caught.value.details()
    assert "0001_orders.sql: was applied with checksum" in details
    assert pg_server.admin_password not in details


@pytest.mark.postgres
def test_fresh_process_refresh_returns_the_databases_applied_list(
    host_stub: provider_pb2_grpc.ResourceProviderStub,
    pg_server: ServerInfo,
    names: Names,
    one: MigrationSet,
) -> None:
    host = host_for(host_stub, one)
    props = props_for(one, names, pg_server)
    host.create(props)
    outs = from_struct(host.read(names.database, props).properties)
    assert outs["applied"] == migration_manifest(one)
