"""SchemaMigrations under the real Pulumi engine (`pulumi up/preview/refresh/destroy`) against the
test PostgreSQL: serialization, diffs, refusals and secrets exactly as an operator sees them.

Each test gets its own tiny Pulumi project in a temporary directory, a file backend and a fresh
database. The engine comes from PATH or scripts/install-pulumi (built once into a cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import Names, unavailable
from engine_env import EngineUnavailableError, find_engine, run_pulumi
from pg_queries import database_exists, history_ids
from postgres_server import ServerInfo
from repo import REPO_ROOT

from migrator import Migrator, Target, load_migrations

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PROGRAM = """\
import pulumi

from database.admin import AdminAccess
from components.schema import SchemaMigrations, SchemaMigrationsArgs

config = pulumi.Config()
schema = SchemaMigrations(
    "schema",
    SchemaMigrationsArgs(
        admin=AdminAccess(dsn=config.require_secret("adminDsn")),
        migrations_dir=config.require("migrationsDir"),
        database=config.require("database"),
        app_user=config.require("appUser"),
        app_password=config.require_secret("appPassword"),
    ),
)
pulumi.export("applied", schema.applied_ids)
"""
COMMAND_TIMEOUT_SECONDS = 300
DYNAMIC_TYPE = "pulumi-python:dynamic/openalgo:SchemaMigrations"


@pytest.fixture(scope="module")
def pulumi_bin() -> Path:
    try:
        return find_engine()
    except EngineUnavailableError as exc:
        unavailable(str(exc))
        raise


@dataclass
class Project:
    """One Pulumi project and stack on a local file backend."""

    root: Path
    migrations: Path
    env: dict[str, str]

    def pulumi(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_pulumi(self.root / "project", self.env, *args, check=check)

    def write(self, migration_id: str, sql: str) -> None:
        (self.migrations / f"{migration_id}.sql").write_text(sql)

    def up(self) -> dict[str, Any]:
        self.pulumi("up", "--yes", "--skip-preview")
        outputs: dict[str, Any] = json.loads(self.pulumi("stack", "output", "--json").stdout)
        return outputs

    def dynamic_state(self) -> dict[str, Any]:
        exported = json.loads(self.pulumi("stack", "export").stdout)
        (resource,) = [r for r in exported["deployment"]["resources"] if r["type"] == DYNAMIC_TYPE]
        return dict(resource)


@pytest.fixture
def project(pulumi_bin: Path, pg_server: ServerInfo, names: Names, tmp_path: Path) -> Project:
    (tmp_path / "project").mkdir()
    (tmp_path / "state").mkdir()
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (tmp_path / "project" / "Pulumi.yaml").write_text(
        "name: schema-e2e\nruntime:\n  name: python\n  options:\n    toolchain: pip\n"
        f"    virtualenv: {sys.prefix}\n"
    )
    (tmp_path / "project" / "__main__.py").write_text(PROGRAM)
    env = {
        **os.environ,
        "PATH": f"{pulumi_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "e2e-passphrase",
        "PULUMI_HOME": str(tmp_path / "home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PYTHONPATH": str(REPO_ROOT),
    }
    created = Project(tmp_path, migrations, env)
    created.pulumi("stack", "init", "e2e")
    created.pulumi("config", "set", "--secret", "adminDsn", "--", pg_server.dsn())
    created.pulumi("config", "set", "migrationsDir", "--", str(migrations))
    created.pulumi("config", "set", "database", "--", names.database)
    created.pulumi("config", "set", "appUser", "--", names.app_user)
    created.pulumi("config", "set", "--secret", "appPassword", "--", names.app_password)
    created.write("0001_orders", "CREATE TABLE orders (id INT);\n")
    return created


def test_up_applies_the_migrations_and_exports_their_ids(
    project: Project, pg_server: ServerInfo, names: Names
) -> None:
    assert project.up() == {"applied": ["0001_orders"]}
    assert history_ids(pg_server, names.database) == ["0001_orders"]


def test_preview_shows_an_added_migration_as_an_update_naming_it(project: Project) -> None:
    project.up()
    project.write("0002_trades", "CREATE TABLE trades (id INT);\n")
    preview = json.loads(project.pulumi("preview", "--json").stdout)
    (step,) = [s for s in preview["steps"] if s["urn"].endswith("::schema-migrations")]
    assert step["op"] == "update"
    listed = [entry["id"] for entry in step["newState"]["inputs"]["migrations"]]
    assert listed == ["0001_orders", "0002_trades"]


def test_preview_fails_naming_an_edited_applied_migration(project: Project) -> None:
    project.up()
    project.write("0001_orders", "CREATE TABLE orders (id BIGINT);\n")
    result = project.pulumi("preview", check=False)
    assert result.returncode != 0
    assert "0001_orders.sql: was applied with checksum" in result.stdout + result.stderr


def test_update_applies_only_the_new_migration(
    project: Project, pg_server: ServerInfo, names: Names
) -> None:
    project.up()
    project.write("0002_trades", "CREATE TABLE trades (id INT);\n")
    assert project.up() == {"applied": ["0001_orders", "0002_trades"]}
    assert project.dynamic_state()["outputs"]["last_applied"] == ["0002_trades"]


def test_state_holds_credentials_only_encrypted(
    project: Project, pg_server: ServerInfo, names: Names
) -> None:
    project.up()
    state_text = "\n".join(
        path.read_text(errors="replace") for path in (project.root / "state").rglob("*.json")
    )
    assert names.app_password not in state_text
    assert pg_server.admin_password not in state_text
    assert "CREATE TABLE" not in state_text


def test_refresh_reports_migrations_applied_outside_pulumi_as_drift(
    project: Project, pg_server: ServerInfo, names: Names
) -> None:
    project.up()
    project.write("0002_trades", "CREATE TABLE trades (id INT);\n")
    target = Target(admin_dsn=pg_server.dsn(), database=names.database, app_user=names.app_user)
    Migrator(target, load_migrations(project.migrations)).apply()
    (project.migrations / "0002_trades.sql").unlink()
    project.pulumi("refresh", "--yes")
    outputs = project.dynamic_state()["outputs"]
    assert (outputs["applied_ids"], outputs["drift"]) == (
        ["0001_orders", "0002_trades"],
        ["0002_trades"],
    )


def test_destroy_keeps_the_database(project: Project, pg_server: ServerInfo, names: Names) -> None:
    project.up()
    project.pulumi("destroy", "--yes")
    assert database_exists(pg_server, names.database)
