"""A stack the program created before its dynamic providers shared one base upgrades in place.

The program at BASE_COMMIT (the last one before the shared base) creates the local TLS stack of
test_program_e2e.py on a PostgreSQL 15 server; then the project's files are replaced with today's
and `pulumi up` runs once more, with OpenAlgo's own databases (which came later and add resources
by design) switched off. State compatibility means that this up deletes nothing, replaces nothing
that holds state, updates in place only what later features change by design (the pod template,
the migrations), sends no DDL for what was applied; a refresh afterwards reads every dynamic
resource back with the providers pickled into the old state.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import unavailable
from engine_env import LOCAL_STACK, Engine, Workspace, copy_project, create_local_stack
from postgres_server import ServerInfo
from pulumi import automation as auto
from repo import REPO_ROOT
from test_program_e2e import Local, StepRecorder, Update, database, engine, op_counts

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

__all__ = ["database", "engine"]  # the engine and the server come from test_program_e2e

BASE_COMMIT = "e44c2712cedeb3bb6e5a75890b7a164acec7566a"
POD = {"kubernetes:core/v1:Pod"}
UPDATED_BY_DESIGN = {
    "kubernetes:apps/v1:StatefulSet",
    "pulumi-python:dynamic/openalgo:SchemaMigrations",
    "pulumi:providers:pulumi-python",
}
"""Features after BASE_COMMIT change the pod template and add migrations; new resources they
declare are creates, which change nothing that exists. The engine's default provider of the
dynamic resources is reported updated then, with no property changed."""


def archived_program(commit: str, destination: Path) -> Path:
    """The repository's files at ``commit`` in ``destination`` (`git archive`, no history)."""
    archived = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", commit],
        capture_output=True,
        check=False,
    )
    if archived.returncode != 0:
        unavailable(f"git archive {commit} failed: {archived.stderr.decode(errors='replace')}")
    destination.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archived.stdout)) as archive:
        archive.extractall(destination, filter="data")
    return destination


def replace_program(project: Path, program: Path) -> None:
    """Every file of ``project`` but the local stack's settings becomes ``program``'s."""
    for entry in project.iterdir():
        if entry.name == f"Pulumi.{LOCAL_STACK}.yaml":
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    shutil.copytree(program, project, dirs_exist_ok=True)


def dynamic_urns(state: dict[str, Any]) -> list[str]:
    return [
        resource["urn"]
        for resource in state["deployment"]["resources"]
        if resource["type"].startswith("pulumi-python:dynamic/")
    ]


@dataclass(frozen=True)
class Upgrade:
    created: Update
    upgraded: Update
    refreshed: dict[str, int]


@pytest.fixture(scope="module")
def upgrade(
    engine: Engine, database: ServerInfo, tmp_path_factory: pytest.TempPathFactory
) -> Upgrade:
    root = tmp_path_factory.mktemp("provider-upgrade")
    base = archived_program(BASE_COMMIT, root / "base")
    today = copy_project(root / "today")
    workspace = Workspace.create(engine, root / "workspace", source=base)
    local = Local(
        workspace,
        create_local_stack(workspace, database.dsn("postgres", sslmode="disable"), project=base),
        database,
    )
    created = local.up()
    replace_program(workspace.project, today)
    # OpenAlgo's own databases came later and add resources by design; off here, so that what
    # this upgrade shows is the providers' state compatibility alone.
    local.stack.stack.set_config("openalgo:app.enabled", auto.ConfigValue("false"), path=True)
    upgraded = local.up()
    refreshed = local.stack.stack.refresh(
        target=dynamic_urns(upgraded.state),
        on_event=StepRecorder(),
        color="never",
    )
    return Upgrade(created, upgraded, op_counts(refreshed.summary.resource_changes))


def test_the_base_program_creates_the_stack_and_applies_the_schema(upgrade: Upgrade) -> None:
    assert set(upgrade.created.summary) == {"create"}
    assert upgrade.created.history


def changed(upgrade: Upgrade, *ops: str) -> set[str]:
    return {step.type for step in upgrade.upgraded.steps if step.op in ops}


def test_the_upgrade_deletes_nothing(upgrade: Upgrade) -> None:
    assert changed(upgrade, "delete") == set()


def test_the_upgrade_replaces_only_the_stateless_client_pod(upgrade: Upgrade) -> None:
    """It carries the operator's certificate instead of root's now."""
    assert changed(upgrade, "replace", "create-replacement", "delete-replaced") <= POD


def test_the_upgrade_updates_in_place_only_what_later_features_change(upgrade: Upgrade) -> None:
    assert changed(upgrade, "update") <= UPDATED_BY_DESIGN


def test_the_upgrade_keeps_every_resource_it_does_not_change(upgrade: Upgrade) -> None:
    kept = upgrade.upgraded.summary.get("same", 0) + sum(
        upgrade.upgraded.summary.get(op, 0) for op in ("update", "replace")
    )
    assert kept == upgrade.created.summary["create"]


def test_the_upgrade_sends_no_ddl_and_keeps_the_history(upgrade: Upgrade) -> None:
    assert upgrade.upgraded.ddl == []
    assert upgrade.upgraded.history[: len(upgrade.created.history)] == upgrade.created.history


def test_a_refresh_after_the_upgrade_reads_every_dynamic_resource_unchanged(
    upgrade: Upgrade,
) -> None:
    refreshed = len(dynamic_urns(upgrade.upgraded.state))
    assert refreshed >= 3
    assert upgrade.refreshed == {"same": refreshed}
