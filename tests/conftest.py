"""Shared fixtures: one PostgreSQL 15 server per session, a fresh database name per test.

Tests marked `postgres` need the server binaries. Without them the tests are skipped with the
reason, except under CI (CI=true), where a missing server is a failure.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from cockroach_parser import build_parser, parser_cache_dir, parser_sources_digest
from control_plane import (
    WALL_TIMES,
    ControlPlane,
    ControlPlaneUnavailableError,
    SqlEndpoint,
    find_binaries,
)
from engine_env import Engine, EngineUnavailableError, prepare_engine
from postgres_server import PostgresServer, ServerInfo, ServerUnavailableError, find_bindir
from psycopg import sql
from repo import MIGRATIONS_DIR, REPO_ROOT
from stack_harness import RenderedStack, run_stack_file

from migrator import MigrationSet, Migrator, Target, load_migrations
from migrator.lease import LeaseSettings

REAL_MIGRATIONS = MIGRATIONS_DIR
FAST_LEASE = LeaseSettings(duration_s=10.0, wait_s=30.0, poll_s=0.05)


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def unavailable(reason: str) -> None:
    if running_in_ci():
        pytest.fail(f"{reason} (CI=true: a missing prerequisite is a failure, not a skip)")
    pytest.skip(reason)


@contextlib.contextmanager
def private_engine(home: Path) -> Iterator[Engine]:
    """The Pulumi engine with its providers in ``home`` (removed afterwards); skipped (failed
    under CI) when it cannot be had here."""
    try:
        try:
            engine = prepare_engine(home)
        except EngineUnavailableError as exc:
            unavailable(str(exc))
            raise
        yield engine
    finally:
        shutil.rmtree(home, ignore_errors=True)


def server_binaries() -> Path:
    """PostgreSQL 15's bin directory; skipped (failed under CI) when it is missing."""
    try:
        return find_bindir()
    except ServerUnavailableError as exc:
        unavailable(str(exc))
        raise AssertionError("unreachable") from exc


@pytest.fixture(scope="session")
def prod() -> RenderedStack:
    """The committed prod stack under mocks (read-only: shared by every test that asks)."""
    return run_stack_file("prod")


@pytest.fixture(scope="session")
def dev() -> RenderedStack:
    """The committed dev stack under mocks (read-only: shared by every test that asks)."""
    return run_stack_file("dev")


@pytest.fixture(scope="session")
def pg_instance() -> Iterator[PostgresServer]:
    """The session's server process; tests that stop and restart it use this."""
    server = PostgresServer(server_binaries())
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_server(pg_instance: PostgresServer) -> ServerInfo:
    return pg_instance.info


@dataclass(frozen=True)
class Names:
    """A database and application role reserved for one test (dropped afterwards)."""

    database: str
    app_user: str
    app_password: str


def admin_execute(
    info: ServerInfo, statement: sql.SQL | sql.Composed, dbname: str = "postgres"
) -> None:
    with psycopg.connect(info.conninfo(dbname), autocommit=True) as conn:
        conn.execute(statement)


def _cleanup(info: ServerInfo, names: Names) -> None:
    with psycopg.connect(info.conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(names.database)
            )
        )
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(names.app_user)))


@pytest.fixture
def names(pg_server: ServerInfo) -> Iterator[Names]:
    suffix = uuid.uuid4().hex[:10]
    reserved = Names(
        database=f"t_{suffix}", app_user=f"app_{suffix}", app_password=secrets.token_urlsafe(24)
    )
    yield reserved
    _cleanup(pg_server, reserved)


@pytest.fixture
def openalgo_names(pg_server: ServerInfo) -> Iterator[Names]:
    """Like `names`, but with the real role name `openalgo` that migration files GRANT to."""
    reserved = Names(
        database=f"t_{uuid.uuid4().hex[:10]}",
        app_user="openalgo",
        app_password=secrets.token_urlsafe(24),
    )
    yield reserved
    _cleanup(pg_server, reserved)


@pytest.fixture
def target_for(pg_server: ServerInfo) -> Callable[..., Target]:
    """Build a Target for the given Names (admin DSN of the test server)."""

    def build(names: Names, **overrides: object) -> Target:
        fields: dict[str, object] = {
            "admin_dsn": pg_server.dsn(),
            "database": names.database,
            "app_user": names.app_user,
            "app_password": names.app_password,
        }
        fields.update(overrides)
        return Target(**fields)  # type: ignore[arg-type]

    return build


@pytest.fixture
def migrator_for(target_for: Callable[..., Target]) -> Callable[..., Migrator]:
    """Build a Migrator with a short lease for `names` over a migrations directory."""

    def build(names: Names, directory: Path, **target_overrides: object) -> Migrator:
        return Migrator(
            target_for(names, **target_overrides), load_migrations(directory), lease=FAST_LEASE
        )

    return build


MigrationWriter = Callable[..., Path]


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    return directory


@pytest.fixture
def migrator_cli_args(
    pg_server: ServerInfo, names: Names, migrations_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """`python -m migrator` arguments for `names`; the DSN and the app password travel in the
    environment, as in production."""
    monkeypatch.setenv("MIGRATOR_DSN", pg_server.dsn())
    monkeypatch.setenv("APP_PW", names.app_password)
    return [
        "--dir",
        str(migrations_dir),
        "--database",
        names.database,
        "--app-user",
        names.app_user,
        "--app-password-env",
        "APP_PW",
    ]


@pytest.fixture
def write_migration(migrations_dir: Path) -> MigrationWriter:
    """Write NNNN_name.sql (and its .crdb.sql companion when given) into `migrations_dir`."""

    def write(migration_id: str, portable: str, companion: str | None = None) -> Path:
        path = migrations_dir / f"{migration_id}.sql"
        path.write_text(portable)
        if companion is not None:
            (migrations_dir / f"{migration_id}.crdb.sql").write_text(companion)
        return path

    return write


@pytest.fixture
def real_migrations() -> MigrationSet:
    """The project's own sql/migrations; skipped until the files exist (failure under CI)."""
    if not REAL_MIGRATIONS.is_dir() or not any(REAL_MIGRATIONS.glob("[0-9]*.sql")):
        unavailable(f"no migration files in {REAL_MIGRATIONS.relative_to(REPO_ROOT)} yet")
    return load_migrations(REAL_MIGRATIONS)


@pytest.fixture(scope="session")
def crdb_parser() -> Path:
    """The pinned CockroachDB parser helper, built on first use."""
    go = shutil.which("go")
    if go is None:
        unavailable("`go` is not on PATH: cannot build the CockroachDB SQL parser helper")
    binary = parser_cache_dir() / f"sqlparse-{parser_sources_digest()}"
    if not binary.is_file():
        build_parser(str(go), binary)
    return binary


@pytest.fixture(scope="session")
def sql_endpoint() -> Iterator[SqlEndpoint]:
    """A PostgreSQL 15 server of its own standing in for CockroachDB's SQL port on the control
    plane (its TLS and authentication settings change during the tests)."""
    server = PostgresServer(server_binaries())
    server.start()
    endpoint = SqlEndpoint(server)
    try:
        endpoint.prepare()
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(scope="session")
def control_plane(sql_endpoint: SqlEndpoint) -> Iterator[ControlPlane]:
    """etcd, the Kubernetes control plane and kwok's nodes (tests/support/control_plane.py)."""
    try:
        binaries = find_binaries()
    except ControlPlaneUnavailableError as exc:
        unavailable(str(exc))
        raise AssertionError("unreachable") from exc
    plane = ControlPlane(binaries, sql_endpoint.port)
    started = time.monotonic()
    plane.start()
    WALL_TIMES["control plane start (5 nodes ready)"] = time.monotonic() - started
    try:
        yield plane
    finally:
        errors = list(plane.readiness.errors) if plane.readiness else []
        plane.stop()
        assert not errors, errors


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for what, seconds in WALL_TIMES.items():
        terminalreporter.write_line(f"wall time: {what}: {seconds:.1f}s")
