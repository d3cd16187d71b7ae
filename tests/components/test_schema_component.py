"""The SchemaMigrations component as the Pulumi program declares it (run under Pulumi's mocks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
from conftest import MigrationWriter

from components.schema import (
    COMPONENT_TYPE,
    SECRET_KEYS,
    SchemaMigrations,
    SchemaMigrationsArgs,
    migration_manifest,
)
from database.admin import AdminAccess
from migrator import InvalidMigrationsError, load_migrations

DYNAMIC_TYPE = "pulumi-python:dynamic/openalgo:SchemaMigrations"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
DSN = "postgresql://root:admin-secret@cockroachdb-public:26257/defaultdb?sslmode=verify-full"


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]


@dataclass
class Recorder(pulumi.runtime.Mocks):
    resources: list[Registered] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs)))
        outputs = dict(args.inputs)
        if args.typ == DYNAMIC_TYPE:
            ids = [entry["id"] for entry in args.inputs["migrations"]]
            outputs.update(applied_ids=ids, applied_count=len(ids))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


@dataclass
class Declared:
    component: SchemaMigrations
    resources: list[Registered]
    child_options: dict[str, pulumi.ResourceOptions]
    outputs: dict[str, Any]

    def dynamic(self) -> Registered:
        (found,) = [r for r in self.resources if r.typ == DYNAMIC_TYPE]
        return found


def declare(args: SchemaMigrationsArgs) -> Declared:
    """Declare the component under mocks and resolve its outputs."""
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, "openalgo-cockroachdb", "test", preview=False)
    options: dict[str, pulumi.ResourceOptions] = {}

    def record(
        transform: pulumi.ResourceTransformationArgs,
    ) -> pulumi.ResourceTransformationResult | None:
        options[transform.type_] = transform.opts
        return None

    component = SchemaMigrations(
        "schema", args, opts=pulumi.ResourceOptions(transformations=[record])
    )
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def resolve() -> pulumi.Output[None]:
        def keep(values: list[Any]) -> None:
            outputs.update(applied_ids=values[0], applied_count=values[1], database=values[2])

        return pulumi.Output.all(
            component.applied_ids, component.applied_count, component.database
        ).apply(keep)

    resolve()
    return Declared(component, recorder.resources, options, outputs)


@pytest.fixture
def args_for(
    migrations_dir: Path, write_migration: MigrationWriter
) -> Callable[..., SchemaMigrationsArgs]:
    write_migration("0001_orders", "CREATE TABLE orders (id INT);")
    write_migration("0002_trades", "CREATE TABLE trades (id INT);")

    def build(**overrides: Any) -> SchemaMigrationsArgs:
        values: dict[str, Any] = {
            "admin": AdminAccess(dsn=DSN),
            "migrations_dir": migrations_dir,
            "app_password": "app-secret-123",
            "replication_factor": 3,
        }
        values.update(overrides)
        return SchemaMigrationsArgs(**values)

    return build


def test_component_has_the_type_token_and_one_dynamic_child(
    args_for: Callable[..., SchemaMigrationsArgs],
) -> None:
    declared = declare(args_for())
    assert [r.typ for r in declared.resources] == [COMPONENT_TYPE, DYNAMIC_TYPE]


def test_dynamic_child_is_parented_to_the_component(
    args_for: Callable[..., SchemaMigrationsArgs],
) -> None:
    declared = declare(args_for())
    assert declared.child_options[DYNAMIC_TYPE].parent is declared.component


def test_credential_outputs_are_declared_secret(
    args_for: Callable[..., SchemaMigrationsArgs],
) -> None:
    declared = declare(args_for())
    secret_outputs = declared.child_options[DYNAMIC_TYPE].additional_secret_outputs or []
    assert set(SECRET_KEYS) <= set(secret_outputs)


def test_plain_string_credentials_are_sent_as_secrets(
    args_for: Callable[..., SchemaMigrationsArgs],
) -> None:
    inputs = declare(args_for()).dynamic().inputs
    for key in ("admin_dsn", "app_password"):
        assert inputs[key].get(SECRET_SIG) is not None


def test_inputs_list_every_migration_id_with_its_checksum(
    args_for: Callable[..., SchemaMigrationsArgs], migrations_dir: Path
) -> None:
    inputs = declare(args_for()).dynamic().inputs
    expected = load_migrations(migrations_dir)
    assert inputs["migrations"] == migration_manifest(expected)
    assert inputs["migrations_digest"] == expected.digest


def test_sql_text_is_not_among_the_inputs(
    args_for: Callable[..., SchemaMigrationsArgs],
) -> None:
    inputs = declare(args_for()).dynamic().inputs
    shown = {k: v for k, v in inputs.items() if k != "__provider"}
    assert "CREATE TABLE" not in repr(shown)


def test_outputs_expose_applied_ids_count_and_database(
    args_for: Callable[..., SchemaMigrationsArgs],
) -> None:
    outputs = declare(args_for()).outputs
    assert outputs == {
        "applied_ids": ["0001_orders", "0002_trades"],
        "applied_count": 2,
        "database": "openalgo",
    }


def test_allow_drop_on_production_is_refused_at_construction(
    args_for: Callable[..., SchemaMigrationsArgs],
) -> None:
    with pytest.raises(ValueError, match="allow_drop=True is not allowed on a production stack"):
        declare(args_for(production=True, allow_drop=True))


def test_invalid_migration_files_fail_at_construction_naming_the_file(
    args_for: Callable[..., SchemaMigrationsArgs], migrations_dir: Path
) -> None:
    (migrations_dir / "0003_positions.crdb.sql").write_text("SELECT 1;")
    with pytest.raises(InvalidMigrationsError, match=r"0003_positions\.crdb\.sql"):
        declare(args_for())
