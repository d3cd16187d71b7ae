"""OpenAlgo's own databases on PostgreSQL 15: provisioned once, checked again with no DDL, and
the application role's rights exactly as wide as OpenAlgo needs."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from conftest import REAL_MIGRATIONS, Names
from postgres_server import ServerInfo
from psycopg import sql

from migrator import Migrator, Target, load_migrations
from migrator.app_databases import (
    DEFAULT_CONNECTION_LIMIT,
    ENVIRONMENT_VARIABLES,
    AppDatabases,
    app_database_urls,
    provision,
)
from migrator.cli import run

pytestmark = pytest.mark.postgres


@dataclass(frozen=True)
class Provisioned:
    target: Target
    spec: AppDatabases
    names: Names


@pytest.fixture
def app(
    pg_server: ServerInfo, names: Names, target_for: Callable[..., Target]
) -> Iterator[Provisioned]:
    """The trading schema migrated for `names`, and five app database names of this test."""
    target = target_for(names)
    Migrator(target, load_migrations(REAL_MIGRATIONS, names.app_user)).apply()
    suffix = uuid.uuid4().hex[:8]
    spec = AppDatabases(
        {v: f"oa_{suffix}_{v.split('_')[0].lower()}" for v in ENVIRONMENT_VARIABLES}
    )
    yield Provisioned(target, spec, names)
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as conn:
        for name in spec.databases:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def as_app(
    pg_server: ServerInfo, app: Provisioned, database: str
) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(
        pg_server.conninfo(database, user=app.names.app_user, password=app.names.app_password),
        autocommit=True,
    )


def owners(pg_server: ServerInfo, spec: AppDatabases) -> dict[str, str]:
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT d.datname, r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba "
            "WHERE d.datname = ANY(%s)",
            (list(spec.databases),),
        ).fetchall()
    return dict(rows)


def test_provisioning_creates_five_databases_owned_by_the_app_role(
    pg_server: ServerInfo, app: Provisioned
) -> None:
    result = provision(app.target, app.spec)
    assert owners(pg_server, app.spec) == dict.fromkeys(app.spec.databases, app.names.app_user)
    assert f"create database {app.spec.names['LOGS_DATABASE_URL']}" in result.done


def test_second_provisioning_runs_no_ddl(app: Provisioned) -> None:
    provision(app.target, app.spec)
    again = provision(app.target, app.spec)
    assert again.done == ()
    assert again.ddl_statements == 0


def test_check_mode_reports_the_work_and_changes_nothing(
    pg_server: ServerInfo, app: Provisioned
) -> None:
    checked = provision(app.target, app.spec, apply=False)
    assert checked.ddl_statements == 0
    assert len(checked.done) >= len(app.spec.databases)
    assert owners(pg_server, app.spec) == {}


def test_a_database_given_away_is_taken_back(pg_server: ServerInfo, app: Provisioned) -> None:
    provision(app.target, app.spec)
    main = app.spec.names["DATABASE_URL"]
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO postgres").format(sql.Identifier(main)))
    repaired = provision(app.target, app.spec)
    assert repaired.done == (f"make {app.names.app_user} the owner of {main}",)
    assert owners(pg_server, app.spec)[main] == app.names.app_user


def test_the_role_gets_the_connection_limit(pg_server: ServerInfo, app: Provisioned) -> None:
    provision(app.target, app.spec)
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = %s", (app.names.app_user,)
        ).fetchone()
    assert row == (DEFAULT_CONNECTION_LIMIT,)


def test_the_app_role_creates_alters_and_drops_its_own_tables(
    pg_server: ServerInfo, app: Provisioned
) -> None:
    provision(app.target, app.spec)
    for database in app.spec.databases:
        with as_app(pg_server, app, database) as conn:
            conn.execute("CREATE TABLE probe (id integer PRIMARY KEY)")
            conn.execute("ALTER TABLE probe ADD COLUMN note varchar(20)")
            conn.execute("INSERT INTO probe VALUES (1, 'ok')")
            conn.execute("DROP TABLE probe")


def test_the_app_role_may_not_create_tables_in_the_trading_database(
    pg_server: ServerInfo, app: Provisioned
) -> None:
    provision(app.target, app.spec)
    with (
        as_app(pg_server, app, app.names.database) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("CREATE TABLE strategies_copy (id integer)")


def test_the_app_role_may_not_create_tables_in_other_databases(
    pg_server: ServerInfo, app: Provisioned
) -> None:
    provision(app.target, app.spec)
    with as_app(pg_server, app, "postgres") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE intruder (id integer)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE DATABASE intruder")


def test_the_app_role_keeps_its_dml_on_the_trading_schema(
    pg_server: ServerInfo, app: Provisioned
) -> None:
    provision(app.target, app.spec)
    with as_app(pg_server, app, app.names.database) as conn:
        row = conn.execute("SELECT count(*) FROM instruments").fetchone()
    assert row == (0,)


def test_urls_name_each_variable_with_the_password_encoded() -> None:
    urls = app_database_urls(
        AppDatabases(), user="openalgo", password="p@ss:w/rd", host="db", port=26257
    )
    assert urls["DATABASE_URL"] == "cockroachdb://openalgo:p%40ss%3Aw%2Frd@db:26257/openalgo_app"
    assert list(urls) == list(ENVIRONMENT_VARIABLES)


def test_elided_urls_hide_the_password() -> None:
    urls = app_database_urls(
        AppDatabases(), user="openalgo", password="s3cret", host="db", port=1, elide_password=True
    )
    assert all(":***@" in url and "s3cret" not in url for url in urls.values())


def test_names_must_be_distinct_identifiers() -> None:
    with pytest.raises(ValueError, match="a name of its own"):
        AppDatabases(dict.fromkeys(ENVIRONMENT_VARIABLES, "same"))
    with pytest.raises(ValueError, match="app database for LOGS_DATABASE_URL"):
        AppDatabases({**dict(AppDatabases().names), "LOGS_DATABASE_URL": "Bad-Name"})


# --- the command line -------------------------------------------------------------------------


def cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for key, value in (env or {}).items():
            patch.setenv(key, value)
        code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def app_args(app: Provisioned, dsn: str) -> list[str]:
    names = [f"--name={v}={n}" for v, n in app.spec.names.items()]
    return ["app-databases", "--dsn", dsn, "--database", app.names.database,
            "--app-user", app.names.app_user, *names]  # fmt: skip


def test_cli_provisions_then_finds_nothing_to_do(pg_server: ServerInfo, app: Provisioned) -> None:
    env = {"MIGRATOR_APP_PASSWORD": app.names.app_password}
    first = cli(*app_args(app, pg_server.dsn()), env=env)
    second = cli(*app_args(app, pg_server.dsn()), env=env)
    assert first[0] == 0
    assert "done: create database" in first[1]
    assert second[0] == 0
    assert "nothing to change" in second[1]
    assert "0 DDL statements" in second[1]


def test_cli_check_exits_3_while_work_is_due(pg_server: ServerInfo, app: Provisioned) -> None:
    code, out, _ = cli(*app_args(app, pg_server.dsn()), "--check")
    assert code == 3
    assert "to do: create database" in out


def test_cli_prints_urls_with_the_password_elided(pg_server: ServerInfo, app: Provisioned) -> None:
    env = {"MIGRATOR_APP_PASSWORD": app.names.app_password}
    code, out, _ = cli(
        *app_args(app, pg_server.dsn()), "--print-urls", "--host", "cockroachdb-public.trading",
        "--ca-path", "/etc/cockroachdb/ca.crt", env=env,
    )  # fmt: skip
    lines = [line for line in out.splitlines() if line.endswith("ca.crt")]
    assert code == 0
    assert [line.split("=", 1)[0] for line in lines] == list(ENVIRONMENT_VARIABLES)
    assert lines[0] == (
        f"DATABASE_URL=cockroachdb://{app.names.app_user}:***@cockroachdb-public.trading:26257/"
        f"{app.spec.names['DATABASE_URL']}?sslmode=verify-full&sslrootcert=%2Fetc%2Fcockroachdb%2Fca.crt"
    )
    assert app.names.app_password not in out


def test_cli_shows_the_password_only_when_asked(pg_server: ServerInfo, app: Provisioned) -> None:
    env = {"MIGRATOR_APP_PASSWORD": app.names.app_password}
    _, out, _ = cli(*app_args(app, pg_server.dsn()), "--print-urls", "--show-password", env=env)
    assert f":{app.names.app_password}@" in out


def test_cli_errors_never_print_a_password(pg_server: ServerInfo, app: Provisioned) -> None:
    wrong = pg_server.dsn(password="Wr0ngSEKRET")
    env = {"MIGRATOR_APP_PASSWORD": app.names.app_password}
    code, out, err = cli(*app_args(app, wrong), "--print-urls", env=env)
    assert code == 1
    assert "Wr0ngSEKRET" not in out + err
    assert app.names.app_password not in out + err
    assert "password authentication failed" in err
