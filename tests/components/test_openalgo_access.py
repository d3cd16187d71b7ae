"""What OpenAlgo gets from the program, under mocks: its namespace, its URLs, the CA, access."""

from __future__ import annotations

from typing import Any

import pytest
from stack_harness import RenderedStack, fake_password, run_stack_file

from migrator.app_databases import ENVIRONMENT_VARIABLES

SECRET = "kubernetes:core/v1:Secret"
SCHEMA = "pulumi-python:dynamic/openalgo:SchemaMigrations"


def urls(stack: RenderedStack) -> dict[str, str]:
    found: dict[str, str] = stack.one(SECRET, "openalgo-app-urls").manifest()["stringData"]
    return found


def test_the_urls_secret_lives_in_openalgos_namespace_for_env_from(prod: RenderedStack) -> None:
    metadata = prod.one(SECRET, "openalgo-app-urls").manifest()["metadata"]
    assert (metadata["name"], metadata["namespace"]) == ("openalgo-database", "openalgo")
    assert sorted(urls(prod)) == sorted(ENVIRONMENT_VARIABLES)


def test_tls_urls_verify_the_server_against_the_mounted_ca(prod: RenderedStack) -> None:
    password = fake_password("app-password")
    assert urls(prod)["LOGS_DATABASE_URL"] == (
        f"cockroachdb://openalgo:{password}@cockroachdb-public.trading.svc.cluster.local:26257/"
        "openalgo_logs?sslmode=verify-full&sslrootcert=%2Fetc%2Fopenalgo%2Fcockroachdb%2Fca.crt"
    )


def test_the_ca_secret_in_openalgos_namespace_holds_no_key(prod: RenderedStack) -> None:
    manifest = prod.one(SECRET, "openalgo-app-ca").manifest()
    assert manifest["metadata"]["namespace"] == "openalgo"
    assert list(manifest["stringData"]) == ["ca.crt"]
    assert "PRIVATE KEY" not in manifest["stringData"]["ca.crt"]


def test_an_insecure_stack_hands_urls_without_password_or_tls(dev: RenderedStack) -> None:
    assert urls(dev)["DATABASE_URL"] == (
        "cockroachdb://openalgo@cockroachdb-public.trading.svc.cluster.local:26257/openalgo_app"
        "?sslmode=disable"
    )
    assert [s.name for s in dev.of_type(SECRET)] == ["openalgo-app-urls"]


def test_the_schema_resource_provisions_the_configured_databases(prod: RenderedStack) -> None:
    inputs = prod.one(SCHEMA).inputs
    assert inputs["app_databases"]["SANDBOX_DATABASE_URL"] == "openalgo_sandbox"
    assert inputs["app_connection_limit"] == 200


def test_database_names_and_namespace_come_from_config() -> None:
    stack = run_stack_file(
        "prod", app={"namespace": "algo", "databases": {"main": "algo_main"}, "connectionLimit": 50}
    )
    assert urls(stack)["DATABASE_URL"].split("/")[-1].startswith("algo_main?")
    assert stack.one(SECRET, "openalgo-app-urls").manifest()["metadata"]["namespace"] == "algo"
    assert stack.one(SCHEMA).inputs["app_connection_limit"] == 50


def test_disabling_the_app_declares_nothing_for_it() -> None:
    stack = run_stack_file("prod", app={"enabled": False})
    assert [s.name for s in stack.of_type(SECRET) if s.name.startswith("openalgo-app")] == []
    assert stack.one(SCHEMA).inputs.get("app_databases") is None


def test_a_database_name_shared_with_the_trading_schema_is_refused() -> None:
    with pytest.raises(Exception, match=r"openalgo:app.databases.logs = 'openalgo': a name of"):
        run_stack_file("dev", app={"databases": {"logs": "openalgo"}})


def test_openalgos_namespace_cannot_be_the_databases() -> None:
    with pytest.raises(Exception, match=r"openalgo:app.namespace = 'trading': a namespace other"):
        run_stack_file("dev", app={"namespace": "trading"})


def sql_namespaces(stack: RenderedStack) -> list[Any]:
    """The namespace selectors of every peer allowed to the SQL port."""
    selectors = []
    for policy in stack.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        for rule in policy.manifest()["spec"].get("ingress") or []:
            if any(port.get("port") == 26257 for port in rule.get("ports") or []):
                selectors += [
                    (peer.get("namespaceSelector") or {}).get("matchLabels")
                    for peer in rule.get("from") or []
                ]
    return selectors


def test_the_network_policy_admits_openalgos_namespace_by_default() -> None:
    stack = run_stack_file("dev", networkPolicy={"enabled": True})
    assert {"kubernetes.io/metadata.name": "openalgo"} in sql_namespaces(stack)


def test_a_configured_peer_for_openalgos_namespace_stays_the_only_one(prod: RenderedStack) -> None:
    assert sql_namespaces(prod).count({"kubernetes.io/metadata.name": "openalgo"}) == 1
