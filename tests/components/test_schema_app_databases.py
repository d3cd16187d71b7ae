"""The schema resource provisions OpenAlgo's databases after the trading schema (PostgreSQL 15)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from conftest import REAL_MIGRATIONS, Names
from pg_queries import database_exists
from postgres_server import ServerInfo
from psycopg import sql
from test_schema_provider import diff_inputs, inputs_for

from components.schema import SchemaMigrationsProvider, sql_bundle
from migrator import MigrationSet, load_migrations
from migrator.app_databases import ENVIRONMENT_VARIABLES

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_names(pg_server: ServerInfo) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    names = {v: f"pr_{suffix}_{v.split('_')[0].lower()}" for v in ENVIRONMENT_VARIABLES}
    yield names
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as conn:
        for name in names.values():
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def real(names: Names) -> MigrationSet:
    return load_migrations(REAL_MIGRATIONS, names.app_user)


def props_for(
    real: MigrationSet, names: Names, pg_server: ServerInfo, app: dict[str, str], **extra: Any
) -> dict[str, Any]:
    return inputs_for(real, names, pg_server.dsn(), app_databases=app, **extra)


def test_create_provisions_openalgos_databases_after_the_schema(
    pg_server: ServerInfo, names: Names, real: MigrationSet, app_names: dict[str, str]
) -> None:
    outs = (
        SchemaMigrationsProvider(sql_bundle(real))
        .create(props_for(real, names, pg_server, app_names))
        .outs
        or {}
    )
    assert outs["app_databases_pending"] == []
    assert all(database_exists(pg_server, name) for name in app_names.values())


def test_refresh_shows_a_database_given_away_as_pending_and_update_repairs_it(
    pg_server: ServerInfo, names: Names, real: MigrationSet, app_names: dict[str, str]
) -> None:
    provider = SchemaMigrationsProvider(sql_bundle(real))
    props = props_for(real, names, pg_server, app_names)
    provider.create(props)
    logs = app_names["LOGS_DATABASE_URL"]
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO postgres").format(sql.Identifier(logs)))
    refreshed = provider.read(names.database, props).outs or {}
    assert refreshed["app_databases_pending"] == [f"make {names.app_user} the owner of {logs}"]
    assert diff_inputs(refreshed, props).changes
    repaired = provider.update(names.database, refreshed, props).outs or {}
    assert repaired["app_databases_pending"] == []
    assert provider.read(names.database, props).outs["app_databases_pending"] == []  # type: ignore[index]


def test_unchanged_refresh_finds_nothing_pending(
    pg_server: ServerInfo, names: Names, real: MigrationSet, app_names: dict[str, str]
) -> None:
    provider = SchemaMigrationsProvider(sql_bundle(real))
    props = props_for(real, names, pg_server, app_names)
    created = provider.create(props).outs or {}
    refreshed = provider.read(names.database, created).outs or {}
    assert refreshed["app_databases_pending"] == []
    assert not diff_inputs(refreshed, props).changes


def test_delete_keeps_openalgos_databases_by_default(
    pg_server: ServerInfo, names: Names, real: MigrationSet, app_names: dict[str, str]
) -> None:
    provider = SchemaMigrationsProvider(sql_bundle(real))
    props = props_for(real, names, pg_server, app_names)
    provider.create(props)
    provider.delete(names.database, props)
    assert all(database_exists(pg_server, name) for name in app_names.values())


def test_delete_with_allow_drop_drops_openalgos_databases_too(
    pg_server: ServerInfo, names: Names, real: MigrationSet, app_names: dict[str, str]
) -> None:
    provider = SchemaMigrationsProvider(sql_bundle(real))
    props = props_for(real, names, pg_server, app_names, allow_drop=True)
    provider.create(props)
    provider.delete(names.database, props)
    assert not any(database_exists(pg_server, name) for name in app_names.values())
    assert not database_exists(pg_server, names.database)
