"""The whole program under the real Pulumi engine, driven through the Automation API.

Everything runs on a copy of the project in a temporary directory (Pulumi writes an encryption
salt into stack files; the repository's files never change), on a local file backend with the
passphrase secrets provider. Each `pulumi` operation runs once per module and its observations
are kept in a record that the tests read, so the module costs one engine run per operation.

* `dev` and `prod` are only previewed, both with `openalgo:kubernetes.mode: render`: there is
  no cluster here, and a test must never reach whatever cluster the machine's kubeconfig names.
* The local stack `e2e` is prod's config with `environment: staging` and `protect: false`
  (prod refuses both: a protected stack cannot be destroyed, which the destroy test needs),
  its manifests rendered to a directory and its schema applied to a PostgreSQL 15 server this
  module starts for itself (the program's database and role are always named `openalgo`, so a
  private server keeps them apart from the rest of the session). On PostgreSQL the CockroachDB
  companions, zone config and backup schedules are skipped by the program itself.

The random and tls providers are the real ones when installed in the user's PULUMI_HOME, else
the test stand-ins from dev/e2e_providers (see tests/support/engine_env.py); the session says which.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml
from conftest import private_engine, server_binaries, unavailable
from engine_env import (
    BACKUP_DESTINATION,
    LOCAL_STACK,
    Engine,
    LocalStack,
    Workspace,
    backup_needs_destination,
    committed_config,
    create_local_stack,
    plain_export,
    rendered_target,
)
from pg_queries import database_exists, ddl_entries, fetch, history_ids, table_exists
from postgres_server import PostgresServer, ServerInfo
from pulumi import automation as auto
from stack_harness import OPERATOR_SECRETS, encode, run_program, run_stack_file

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SCHEMA_TYPE = "pulumi-python:dynamic/openalgo:SchemaMigrations"
STACK_TYPE = "pulumi:pulumi:Stack"
UNREACHABLE_DSN = "postgresql://root@localhost:26257/defaultdb?sslmode=verify-full"
ADDED_MIGRATION_SQL = "CREATE TABLE e2e_audit_notes (id BIGINT PRIMARY KEY, note TEXT NOT NULL);\n"
PEM_BODY = re.compile(r"-----BEGIN [A-Z ]+-----\n(.*?)\n-----END [A-Z ]+-----", re.DOTALL)

# --- records of what each engine operation did ------------------------------------------------


@dataclass(frozen=True)
class Step:
    op: str
    type: str
    urn: str
    diffs: tuple[str, ...] = ()

    @property
    def is_default_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:") and self.urn.rsplit("::", 1)[
            -1
        ].startswith("default")


@dataclass(frozen=True)
class Preview:
    steps: list[Step]
    summary: dict[str, int]
    stdout: str
    seconds: float

    def declared(self) -> Counter[str]:
        """Resources per type, without the providers the engine adds by default."""
        return Counter(step.type for step in self.steps if not step.is_default_provider)

    def changes(self) -> list[Step]:
        return [step for step in self.steps if step.op != "same"]


@dataclass(frozen=True)
class Update:
    summary: dict[str, int]
    outputs: dict[str, Any]
    steps: list[Step]
    seconds: float
    ddl: list[str]
    history: list[str]
    state: dict[str, Any]

    def schema_outputs(self) -> dict[str, Any]:
        resources = self.state["deployment"]["resources"]
        (schema,) = [r for r in resources if r["type"] == SCHEMA_TYPE]
        outputs: dict[str, Any] = schema["outputs"]
        return outputs


def _op(value: Any) -> str:
    return str(getattr(value, "value", value))


def op_counts(changes: Mapping[Any, int] | None) -> dict[str, int]:
    return {_op(op): count for op, count in (changes or {}).items()}


class StepRecorder:
    """Collects the engine's step events (they arrive on a watcher thread)."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.outcomes: list[Step] = []

    def __call__(self, event: auto.EngineEvent) -> None:
        for recorded, payload in (
            (self.steps, event.resource_pre_event),
            (self.outcomes, event.res_outputs_event),
        ):
            if payload is not None:
                meta = payload.metadata
                recorded.append(Step(_op(meta.op), meta.type, meta.urn, tuple(meta.diffs or ())))


def preview(stack: auto.Stack, *, diff: bool = False) -> Preview:
    recorder = StepRecorder()
    start = time.monotonic()
    result = stack.preview(on_event=recorder, diff=diff, color="never")
    summary = op_counts(result.change_summary)
    return Preview(recorder.steps, summary, result.stdout, time.monotonic() - start)


# --- fixtures -----------------------------------------------------------------------------------


def announce(request: pytest.FixtureRequest, line: str) -> None:
    """Say which engine and providers ran, on the terminal even when output is captured."""
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None:
        return
    uncaptured = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    with uncaptured:
        reporter.write_line(f"\n{line}")


@pytest.fixture(scope="module")
def engine(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Engine]:
    with private_engine(tmp_path_factory.mktemp("pulumi-home")) as prepared:
        announce(request, f"{__name__}: engine {prepared.bin_dir}; {prepared.providers}")
        yield prepared


@pytest.fixture(scope="module")
def workspace(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace.create(engine, tmp_path_factory.mktemp("program-e2e"))


@pytest.fixture(scope="module")
def dev_preview(workspace: Workspace) -> Preview:
    stack = workspace.create_stack("dev")
    stack.set_all_config({"openalgo:kubernetes.mode": auto.ConfigValue("render")}, path=True)
    return preview(stack)


def prod_overrides(config: dict[str, Any]) -> dict[str, Any]:
    """Render instead of deploy; a DSN the preview never dials, so the schema is declared."""
    overrides: dict[str, Any] = {
        "kubernetes": rendered_target(config),
        "adminDsn": UNREACHABLE_DSN,
        "license": OPERATOR_SECRETS["prod"]["openalgo:license"],
    }
    if backup_needs_destination(config):
        overrides["backupDestination"] = BACKUP_DESTINATION.format(token="preview")
    return overrides


@pytest.fixture(scope="module")
def prod_preview(workspace: Workspace) -> Preview:
    stack = workspace.create_stack("prod")
    overrides = prod_overrides(committed_config("prod"))
    settings = {"openalgo:kubernetes.mode": auto.ConfigValue("render")}
    for key in ("adminDsn", "backupDestination", "license"):
        if key in overrides:
            settings[f"openalgo:{key}"] = auto.ConfigValue(overrides[key], secret=True)
    stack.set_all_config(settings, path=True)
    return preview(stack)


@pytest.fixture(scope="module")
def database() -> Iterator[ServerInfo]:
    server = PostgresServer(server_binaries())
    try:
        yield server.start()
    finally:
        server.stop()


@dataclass(frozen=True)
class Local:
    """The local stack, its workspace and the server its schema goes to."""

    workspace: Workspace
    stack: LocalStack
    server: ServerInfo

    def up(self) -> Update:
        offset = self.server.log_size()
        recorder = StepRecorder()
        start = time.monotonic()
        result = self.stack.stack.up(on_event=recorder, color="never")
        seconds = time.monotonic() - start
        log = self.server.log_since(offset)
        return Update(
            summary=op_counts(result.summary.resource_changes),
            outputs={key: value.value for key, value in result.outputs.items()},
            steps=recorder.steps,
            seconds=seconds,
            ddl=ddl_entries(log),
            history=history_ids(self.server, "openalgo"),
            state=plain_export(self.stack.stack),
        )


@pytest.fixture(scope="module")
def local(workspace: Workspace, database: ServerInfo) -> Local:
    stack = create_local_stack(workspace, database.dsn("postgres", sslmode="disable"))
    return Local(workspace, stack, database)


@pytest.fixture(scope="module")
def first_up(local: Local) -> Update:
    return local.up()


@pytest.fixture(scope="module")
def rendered(first_up: Update, local: Local) -> list[dict[str, Any]]:
    """Every manifest the first `up` wrote, as parsed YAML."""
    return [
        document
        for path in sorted(local.stack.render_directory.rglob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


@pytest.fixture(scope="module")
def second_up(first_up: Update, local: Local) -> Update:
    return local.up()


@dataclass(frozen=True)
class AddedMigration:
    migration_id: str
    preview: Preview
    update: Update
    history_before: list[str]


def next_migration_id(directory: Path, name: str) -> str:
    numbers = [int(path.name[:4]) for path in directory.glob("[0-9][0-9][0-9][0-9]_*.sql")]
    return f"{max(numbers, default=0) + 1:04d}_{name}"


@pytest.fixture(scope="module")
def added_migration(second_up: Update, local: Local) -> AddedMigration:
    migrations = local.workspace.project / "sql" / "migrations"
    migration_id = next_migration_id(migrations, "e2e_audit_notes")
    (migrations / f"{migration_id}.sql").write_text(ADDED_MIGRATION_SQL)
    planned = preview(local.stack.stack, diff=True)
    return AddedMigration(migration_id, planned, local.up(), second_up.history)


@dataclass(frozen=True)
class Refresh:
    targets: list[str]
    summary: dict[str, int]
    steps: list[Step]
    state_text: str


def refreshable(state: dict[str, Any]) -> list[str]:
    """Resources a refresh can read back here: all but the Kubernetes objects, which exist only
    as rendered files (the provider fails to read them without a cluster)."""
    return [
        resource["urn"]
        for resource in state["deployment"]["resources"]
        if resource.get("custom")
        and not resource["type"].startswith(("kubernetes:", "pulumi:providers:"))
    ]


@pytest.fixture(scope="module")
def refreshed(added_migration: AddedMigration, local: Local) -> Refresh:
    recorder = StepRecorder()
    targets = refreshable(added_migration.update.state)
    result = local.stack.stack.refresh(target=targets, on_event=recorder, color="never")
    state_text = json.dumps(plain_export(local.stack.stack))
    stored = "\n".join(
        path.read_text(errors="replace")
        for path in local.workspace.backend.rglob("*")
        if path.is_file()
    )
    return Refresh(
        targets, op_counts(result.summary.resource_changes), recorder.outcomes, state_text + stored
    )


@dataclass(frozen=True)
class Destroyed:
    summary: dict[str, int]
    rows_before: list[tuple[Any, ...]]
    rows_after: list[tuple[Any, ...]]
    database_exists: bool


@pytest.fixture(scope="module")
def destroyed(refreshed: Refresh, added_migration: AddedMigration, local: Local) -> Destroyed:
    with psycopg.connect(local.server.conninfo("openalgo"), autocommit=True) as conn:
        conn.execute("INSERT INTO e2e_audit_notes (id, note) VALUES (1, 'kept across destroy')")
    before = fetch(local.server, "openalgo", "SELECT id, note FROM e2e_audit_notes ORDER BY id")
    result = local.stack.stack.destroy(color="never")
    exists = database_exists(local.server, "openalgo")
    after = (
        fetch(local.server, "openalgo", "SELECT id, note FROM e2e_audit_notes ORDER BY id")
        if exists
        else []
    )
    return Destroyed(op_counts(result.summary.resource_changes), before, after, exists)


# --- previews of the committed stacks -----------------------------------------------------------


def mocks_declared(stack: str, **overrides: Any) -> Counter[str]:
    """What the mocks tests see the program declare for the same config, plus the stack."""
    rendered_stack = run_stack_file(stack, **overrides)
    return Counter([STACK_TYPE] + [resource.typ for resource in rendered_stack.resources])


def test_dev_preview_declares_exactly_what_the_mocks_tests_assert_on(
    dev_preview: Preview,
) -> None:
    expected = mocks_declared("dev", kubernetes=rendered_target(committed_config("dev")))
    assert dev_preview.declared() == expected
    assert set(dev_preview.summary) == {"create"}


def test_prod_preview_declares_exactly_what_the_mocks_tests_assert_on(
    prod_preview: Preview,
) -> None:
    expected = mocks_declared("prod", **prod_overrides(committed_config("prod")))
    assert prod_preview.declared() == expected
    assert set(prod_preview.summary) == {"create"}


def test_prod_preview_adds_certificates_secrets_policies_and_schema_to_dev(
    dev_preview: Preview, prod_preview: Preview
) -> None:
    added = prod_preview.declared() - dev_preview.declared()
    for typ in (
        "tls:index/privateKey:PrivateKey",
        "tls:index/selfSignedCert:SelfSignedCert",
        "tls:index/certRequest:CertRequest",
        "tls:index/locallySignedCert:LocallySignedCert",
        "random:index/randomPassword:RandomPassword",
        "kubernetes:core/v1:Secret",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        SCHEMA_TYPE,
    ):
        assert added[typ] >= 1, typ
    assert not dev_preview.declared() - prod_preview.declared()


# --- the local TLS stack: up, no-op up, a new migration, refresh, destroy ----------------------


def test_first_up_creates_every_resource_the_preview_declares(
    first_up: Update, prod_preview: Preview
) -> None:
    assert set(first_up.summary) == {"create"}
    assert first_up.summary["create"] == sum(prod_preview.declared().values())


def test_first_up_renders_a_manifest_for_every_kubernetes_object(
    rendered: list[dict[str, Any]], local: Local
) -> None:
    settings = {**local.stack.config, **local.stack.secrets}
    config = {f"openalgo:{key}": encode(value) for key, value in settings.items()}
    expected = run_program(LOCAL_STACK, config).manifests()
    assert Counter(m["kind"] for m in rendered) == Counter(m["kind"] for m in expected)
    names = {(m["kind"], m["metadata"]["name"]) for m in rendered}
    assert {
        ("StatefulSet", "cockroachdb"),
        ("Service", "cockroachdb"),
        ("Service", "cockroachdb-public"),
        ("Job", "cockroachdb-init"),
        ("Secret", "cockroachdb-node-certs"),
        ("Secret", "cockroachdb-client-root"),
        ("Secret", "cockroachdb-client-openalgo"),
    } <= names


def test_first_up_applies_every_migration_to_postgresql(first_up: Update, local: Local) -> None:
    declared = first_up.outputs["schemaMigrationsDeclared"]
    assert first_up.history == declared
    assert first_up.outputs["schemaMigrations"] == declared
    assert table_exists(local.server, "openalgo", "instruments")


def test_app_role_logs_in_with_the_generated_password(first_up: Update, local: Local) -> None:
    password = urlsplit(first_up.outputs["appConnectionString"]).password
    assert password is not None
    assert len(password) == 32
    assert password.isalnum()
    with psycopg.connect(
        local.server.conninfo("openalgo", user="openalgo", password=password)
    ) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("openalgo",)


def secret_files(manifest: dict[str, Any]) -> dict[str, str]:
    """A rendered Secret's files, decoded (the provider renders stringData as base64 data)."""
    files = {
        key: base64.b64decode(value).decode() for key, value in manifest.get("data", {}).items()
    }
    return {**files, **manifest.get("stringData", {})}


def secret_named(rendered: list[dict[str, Any]], name: str) -> dict[str, str]:
    (secret,) = [m for m in rendered if m["kind"] == "Secret" and m["metadata"]["name"] == name]
    return secret_files(secret)


def test_rendered_node_certificate_chains_to_the_rendered_ca_and_names_the_services(
    rendered: list[dict[str, Any]], tmp_path: Path
) -> None:
    if shutil.which("openssl") is None:
        unavailable("openssl is not on PATH: it checks the rendered certificates")
    files = secret_named(rendered, "cockroachdb-node-certs")
    for name in ("ca.crt", "node.crt"):
        (tmp_path / name).write_text(files[name])
    verified = subprocess.run(
        ["openssl", "verify", "-purpose", "sslserver", "-CAfile", "ca.crt", "node.crt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    names = subprocess.run(
        ["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", "node.crt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DNS:cockroachdb-public.trading.svc.cluster.local" in names
    assert "IP Address:127.0.0.1" in names


def test_second_up_reports_every_resource_unchanged(second_up: Update, first_up: Update) -> None:
    assert second_up.summary == {"same": first_up.summary["create"]}


def test_second_up_sends_no_ddl_and_keeps_the_history(second_up: Update, first_up: Update) -> None:
    assert second_up.ddl == []
    assert second_up.history == first_up.history
    assert (
        second_up.schema_outputs()["statements_executed"]
        == first_up.schema_outputs()["statements_executed"]
    )


def test_preview_of_an_added_migration_is_one_update_to_the_schema_naming_it(
    added_migration: AddedMigration,
) -> None:
    (change,) = added_migration.preview.changes()
    assert (change.op, change.type) == ("update", SCHEMA_TYPE)
    assert added_migration.migration_id in added_migration.preview.stdout


def test_up_after_an_added_migration_applies_only_that_migration(
    added_migration: AddedMigration, local: Local
) -> None:
    update = added_migration.update
    assert update.history == [*added_migration.history_before, added_migration.migration_id]
    assert update.schema_outputs()["last_applied"] == [added_migration.migration_id]
    assert table_exists(local.server, "openalgo", "e2e_audit_notes")
    created = [line for line in update.ddl if re.search(r"CREATE TABLE\b", line)]
    assert len(created) == 1
    assert "e2e_audit_notes" in created[0]


@dataclass(frozen=True)
class ScaleChange:
    scale_up: Preview
    scale_down_error: str


@pytest.fixture(scope="module")
def scale_change(added_migration: AddedMigration, local: Local) -> ScaleChange:
    """Previews of 4 -> 5 nodes and of 4 -> 3 without decommissioning; nothing is applied."""
    stack = local.stack.stack
    current = stack.get_config("openalgo:replicas").value
    try:
        stack.set_config("openalgo:replicas", auto.ConfigValue("5"))
        scale_up = preview(stack, diff=True)
        stack.set_config("openalgo:replicas", auto.ConfigValue("3"))
        with pytest.raises(auto.errors.CommandError) as refused:
            preview(stack)
    finally:
        stack.set_config("openalgo:replicas", auto.ConfigValue(current))
    return ScaleChange(scale_up, str(refused.value))


def test_preview_of_a_scale_up_updates_the_statefulset_and_the_guard(
    scale_change: ScaleChange,
) -> None:
    changed = {(step.op, step.type) for step in scale_change.scale_up.changes()}
    assert ("update", "kubernetes:apps/v1:StatefulSet") in changed
    assert ("update", "pulumi-python:dynamic/openalgo:ClusterGuard") in changed
    assert all(op == "update" for op, _ in changed)


def test_preview_of_a_scale_down_before_decommissioning_fails_naming_the_pod(
    scale_change: ScaleChange,
) -> None:
    assert "removes cockroachdb-3, which are not decommissioned" in scale_change.scale_down_error
    assert "python -m operations decommission 3" in scale_change.scale_down_error


UPGRADED_IMAGE = "cockroachdb/cockroach:v25.3.1"
ROLLBACK_IMAGE = "cockroachdb/cockroach:v25.2.8"
GUARD_TYPE = "pulumi-python:dynamic/openalgo:ClusterGuard"
FINALIZE_KEY = "openalgo:upgrade.finalize"


@dataclass(frozen=True)
class Rollback:
    upgrade: Update
    rollback: Preview
    finalized_error: str
    patch_error: str


@pytest.fixture(scope="module")
def rollback(added_migration: AddedMigration, local: Local) -> Rollback:
    """An upgrade to 25.3 applied, then previews going back: to 25.2 before finalization, to
    25.2 with finalization, and to an earlier 25.3 patch. The stack stays on 25.3."""
    stack = local.stack.stack
    stack.set_config("openalgo:image", auto.ConfigValue(UPGRADED_IMAGE))
    upgrade = local.up()
    try:
        stack.set_config("openalgo:image", auto.ConfigValue(ROLLBACK_IMAGE))
        planned = preview(stack, diff=True)
        stack.set_config(FINALIZE_KEY, auto.ConfigValue("true"), path=True)
        with pytest.raises(auto.errors.CommandError) as finalized:
            preview(stack)
        stack.set_config(FINALIZE_KEY, auto.ConfigValue("false"), path=True)
        stack.set_config("openalgo:image", auto.ConfigValue("cockroachdb/cockroach:v25.3.0"))
        with pytest.raises(auto.errors.CommandError) as patch:
            preview(stack)
    finally:
        stack.set_config(FINALIZE_KEY, auto.ConfigValue("false"), path=True)
        stack.set_config("openalgo:image", auto.ConfigValue(UPGRADED_IMAGE))
    return Rollback(upgrade, planned, str(finalized.value), str(patch.value))


def test_preview_of_a_rollback_before_finalization_updates_the_pods_in_place(
    rollback: Rollback,
) -> None:
    changed = {(step.op, step.type) for step in rollback.rollback.changes()}
    assert ("update", "kubernetes:apps/v1:StatefulSet") in changed
    assert ("update", GUARD_TYPE) in changed
    assert {kind for op, kind in changed if op != "update"} <= {"kubernetes:core/v1:Pod"}, changed


def test_preview_of_a_rollback_after_finalization_fails_saying_to_restore(
    rollback: Rollback,
) -> None:
    assert "the upgrade to 25.3 is finalized" in rollback.finalized_error
    assert "Restore from a backup instead" in rollback.finalized_error


def test_preview_of_a_patch_downgrade_fails(rollback: Rollback) -> None:
    assert "v25.3.1 -> v25.3.0 is a patch downgrade" in rollback.patch_error


def test_refresh_finds_no_drift(refreshed: Refresh) -> None:
    assert any(urn.endswith("::schema-migrations") for urn in refreshed.targets)
    assert refreshed.summary == {"same": len(refreshed.targets)}


def pem_bodies(rendered: list[dict[str, Any]]) -> list[str]:
    keys = []
    for manifest in rendered:
        if manifest["kind"] != "Secret":
            continue
        for name, value in secret_files(manifest).items():
            if name.endswith(".key"):
                keys += PEM_BODY.findall(value)
    return keys


def test_exported_state_holds_no_plaintext_secret(
    refreshed: Refresh, first_up: Update, rendered: list[dict[str, Any]], local: Local
) -> None:
    password = urlsplit(first_up.outputs["appConnectionString"]).password
    keys = pem_bodies(rendered)
    assert password
    assert len(keys) == 4, "node, root, openalgo and operator keys"
    leaked = [
        label
        for label, value in [
            ("app password", password),
            ("admin DSN password", local.server.admin_password),
            *((f"setting {key}", value) for key, value in local.stack.secrets.items()),
        ]
        if value in refreshed.state_text
    ]
    for index, body in enumerate(keys):
        if any(line in refreshed.state_text for line in body.splitlines() if len(line) >= 40):
            leaked.append(f"private key {index}")
    assert leaked == []


def test_destroy_removes_every_resource_but_keeps_the_database_rows(
    destroyed: Destroyed,
) -> None:
    assert set(destroyed.summary) == {"delete"}
    assert destroyed.database_exists
    assert destroyed.rows_after == destroyed.rows_before == [(1, "kept across destroy")]


# --- a malformed admin DSN through the engine ----------------------------------------------------

LEAKY_DSNS = (
    "postgresql://admin:SEKRETpw%zz@db.example:26257/defaultdb",
    "postgresql://admin:SEKRET@pw@db.example:26257/defaultdb",
    "host=db.example password=SEKRETpw user=admin port=notaport",
)


@pytest.mark.parametrize("dsn", LEAKY_DSNS)
def test_a_malformed_admin_dsn_fails_the_preview_without_printing_its_password(
    workspace: Workspace, dsn: str
) -> None:
    stack = workspace.create_stack(f"leak-{LEAKY_DSNS.index(dsn)}")
    stack.set_all_config(
        {
            "openalgo:environment": auto.ConfigValue("dev"),
            "openalgo:allowInsecure": auto.ConfigValue("true"),
            "openalgo:tls": auto.ConfigValue("false"),
            "openalgo:kubernetes.mode": auto.ConfigValue("render"),
            "openalgo:adminDsn": auto.ConfigValue(dsn, secret=True),
        },
        path=True,
    )
    printed: list[str] = []
    with pytest.raises(auto.CommandError) as failed:
        stack.preview(color="never", on_output=printed.append)
    everything = "\n".join(printed) + str(failed.value)
    assert "openalgo:adminDsn" in everything
    assert "SEKRET" not in everything
