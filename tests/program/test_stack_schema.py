"""How each stack wires the schema resource: when it runs, with which credentials, how safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from stack_harness import ROOT, Recorded, RenderedStack, run_stack_file

SCHEMA = "pulumi-python:dynamic/openalgo:SchemaMigrations"
DSN = "postgresql://root@127.0.0.1:26257/defaultdb?sslmode=disable"


def schema(stack: RenderedStack) -> Recorded:
    return stack.one(SCHEMA)


def migration_ids() -> list[str]:
    directory = ROOT / "sql" / "migrations"
    return sorted(
        p.name.removesuffix(".sql") for p in directory.glob("*.sql") if ".crdb." not in p.name
    )


def inputs(stack: RenderedStack) -> dict[str, Any]:
    return schema(stack).inputs


def test_preview_lists_every_migration_with_its_checksum(prod: RenderedStack) -> None:
    listed = inputs(prod)["migrations"]
    assert [entry["id"] for entry in listed] == migration_ids()
    assert all(len(entry["checksum"]) == 64 for entry in listed)
    assert prod.outputs["schemaMigrationsDeclared"] == migration_ids()


def test_schema_waits_for_the_init_job_and_the_rollout(prod: RenderedStack) -> None:
    depends = prod.opts_of("openalgo:cockroachdb:SchemaMigrations", "schema").depends_on
    assert isinstance(depends, list)
    assert [type(d).__name__ for d in depends] == ["ClusterInit", "ClusterRollout"]


def test_prod_schema_is_protected_and_never_dropped(prod: RenderedStack) -> None:
    assert prod.opts_of("openalgo:cockroachdb:SchemaMigrations", "schema").protect is True
    assert inputs(prod)["allow_drop"] is False
    assert inputs(prod)["production"] is True


def test_prod_reaches_the_database_in_cluster_with_verified_tls(prod: RenderedStack) -> None:
    assert inputs(prod)["admin_dsn"] == (
        "postgresql://root@cockroachdb-public.trading.svc.cluster.local:26257/defaultdb"
        "?sslmode=verify-full"
    )


def test_prod_authenticates_with_the_root_client_certificate(prod: RenderedStack) -> None:
    assert "certificates-client-root" in inputs(prod)["client_cert"]
    assert "certificates-client-root-key" in inputs(prod)["client_key"]
    assert "certificates-ca" in inputs(prod)["ca_cert"]


def test_credentials_reach_the_provider_as_secrets(prod: RenderedStack) -> None:
    secrets = set(schema(prod).secret_values)
    for key in ("admin_dsn", "app_password", "ca_cert", "client_cert", "client_key"):
        assert inputs(prod)[key] in secrets, key


def test_prod_sets_the_application_password_and_replication_factor(prod: RenderedStack) -> None:
    assert inputs(prod)["app_password"].startswith("mock-password-app-password")
    assert inputs(prod)["replication_factor"] == 3


def test_rendering_without_a_dsn_declares_no_schema_resource(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stack = run_stack_file("dev")
    assert "schema not applied: manifests are only rendered" in caplog.text
    assert stack.outputs["kubernetesMode"] == "render"
    assert stack.of_type(SCHEMA) == []
    assert "schemaMigrations" not in stack.outputs


def test_rendering_with_a_dsn_applies_the_schema_there_without_a_password() -> None:
    stack = run_stack_file("dev", adminDsn=DSN)
    assert inputs(stack)["admin_dsn"] == DSN
    assert inputs(stack).get("app_password") is None
    assert inputs(stack)["allow_drop"] is True


def test_schema_can_be_switched_off() -> None:
    stack = run_stack_file("prod", schema={"enabled": False}, logging={"sqlAudit": False})
    assert stack.of_type(SCHEMA) == []


def test_migrations_directory_comes_from_config(tmp_path: Path) -> None:
    (tmp_path / "0001_only.sql").write_text("CREATE TABLE only_one (id INT8 PRIMARY KEY);\n")
    stack = run_stack_file("prod", schema={"migrationsDirectory": str(tmp_path)})
    assert [entry["id"] for entry in inputs(stack)["migrations"]] == ["0001_only"]


def test_sql_text_does_not_flood_the_diff(prod: RenderedStack) -> None:
    visible = {key: value for key, value in inputs(prod).items() if key != "__provider"}
    assert "CREATE TABLE" not in str(visible)
