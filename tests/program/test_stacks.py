"""Both committed stacks rendered whole: strict-valid manifests, secrets kept secret."""

from __future__ import annotations

import json
from collections import Counter

import kubernetes_validate
import pytest
from stack_harness import (
    RecordingMocks,
    RenderedStack,
    run_program,
    run_stack_file,
    stack_file_config,
)

KUBERNETES_VERSIONS = ["1.30.0", "1.33.0"]


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> RenderedStack:
    return run_stack_file(request.param)


def kinds(stack: RenderedStack) -> Counter[str]:
    return Counter(manifest["kind"] for manifest in stack.manifests())


def test_dev_declares_the_original_objects_without_certificates_or_policy(
    dev: RenderedStack,
) -> None:
    """Plus OpenAlgo's namespace and the Secret with its database URLs, and the node reader's
    role and binding for the locality."""
    assert kinds(dev) == Counter(
        {
            "Namespace": 2,
            "ClusterRole": 1,
            "ClusterRoleBinding": 1,
            "Secret": 1,
            "ServiceAccount": 1,
            "Service": 2,
            "PodDisruptionBudget": 1,
            "StatefulSet": 1,
            "Job": 1,
            "Pod": 1,
            "ConfigMap": 2,
        }
    )


def test_prod_adds_certificate_secrets_and_network_policies(prod: RenderedStack) -> None:
    """Secrets: node, root, app, operator, CA; in OpenAlgo's namespace its URLs and the CA."""
    assert kinds(prod) == Counter(
        {
            "Namespace": 2,
            "ClusterRole": 1,
            "ClusterRoleBinding": 1,
            "ServiceAccount": 1,
            "Service": 2,
            "PodDisruptionBudget": 1,
            "StatefulSet": 1,
            "Job": 1,
            "Pod": 1,
            "Secret": 7,
            "NetworkPolicy": 2,
            "ConfigMap": 2,
            "ServiceMonitor": 1,
            "PrometheusRule": 1,
        }
    )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_strictly_valid(stack: RenderedStack, version: str) -> None:
    for manifest in stack.manifests():
        if manifest["apiVersion"] == "monitoring.coreos.com/v1":
            continue  # Prometheus Operator CRDs: no official schema; test_monitoring checks them
        kubernetes_validate.validate(manifest, version, strict=True)


def test_strict_validation_rejects_an_unknown_field(prod: RenderedStack) -> None:
    manifest = prod.one("kubernetes:apps/v1:StatefulSet").manifest()
    manifest["spec"]["replicaCount"] = 4
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, KUBERNETES_VERSIONS[0], strict=True)


def test_components_carry_openalgo_type_tokens(prod: RenderedStack) -> None:
    components = {r.typ for r in prod.resources if r.typ.startswith("openalgo:")}
    assert components == {
        "openalgo:cockroachdb:TradingDatabase",
        "openalgo:kubernetes:Namespace",
        "openalgo:cockroachdb:Certificates",
        "openalgo:cockroachdb:Cluster",
        "openalgo:cockroachdb:NodeReader",
        "openalgo:cockroachdb:VolumeGrowth",
        "openalgo:cockroachdb:Init",
        "openalgo:cockroachdb:Client",
        "openalgo:kubernetes:NetworkPolicy",
        "openalgo:cockroachdb:SchemaMigrations",
        "openalgo:cockroachdb:ClusterGuard",
        "openalgo:cockroachdb:Rollout",
        "openalgo:openalgo:DatabaseAccess",
        "openalgo:cockroachdb:BackupSchedule",
        "openalgo:cockroachdb:ClusterSettings",
        "openalgo:cockroachdb:Monitoring",
    }


def test_every_resource_has_a_parent_except_the_provider_and_the_root(prod: RenderedStack) -> None:
    orphans = {
        key
        for key, opts in prod.options.items()
        if opts.parent is None
        and not key.startswith(("pulumi:providers:", "openalgo:cockroachdb:TradingDatabase"))
    }
    assert orphans == set()


def test_stack_outputs_name_the_access_points(prod: RenderedStack) -> None:
    assert prod.outputs["namespace"] == "trading"
    assert prod.outputs["publicHost"] == "cockroachdb-public.trading.svc.cluster.local"
    assert prod.outputs["sqlPort"] == 26257
    assert "port-forward svc/cockroachdb-public 8080:8080" in prod.outputs["adminUiCommand"]
    assert prod.outputs["sqlShellCommand"].startswith(
        "kubectl -n trading exec -it cockroachdb-client -- ./cockroach sql --certs-dir="
    )


def test_dev_sql_shell_is_the_original_insecure_command(dev: RenderedStack) -> None:
    assert dev.outputs["sqlShellCommand"] == (
        "kubectl -n trading exec -it cockroachdb-client -- ./cockroach sql --insecure "
        "--host=cockroachdb-public:26257 -d openalgo"
    )


def test_application_connection_string_is_a_secret_output(stack: RenderedStack) -> None:
    assert "appConnectionString" in stack.secret_outputs


def test_no_other_output_is_secret(stack: RenderedStack) -> None:
    assert stack.secret_outputs == {"appConnectionString", "openalgoDatabaseUrls"}


def test_prod_connection_string_carries_the_generated_password(prod: RenderedStack) -> None:
    [password] = prod.of_type("random:index/randomPassword:RandomPassword")
    assert password.inputs["length"] >= 32
    assert "mock-password-app-password" in prod.outputs["appConnectionString"]


def test_insecure_stack_generates_no_password(dev: RenderedStack) -> None:
    assert dev.of_type("random:index/randomPassword:RandomPassword") == []


def test_private_keys_and_passwords_appear_only_inside_secrets(prod: RenderedStack) -> None:
    sensitive = ["PRIVATE KEY", "mock-password-"]
    for resource in prod.resources:
        if not resource.is_kubernetes or resource.kind == "Secret":
            continue
        text = json.dumps(resource.inputs)
        assert not any(marker in text for marker in sensitive), resource.name


def test_secret_contents_travel_as_pulumi_secrets(prod: RenderedStack) -> None:
    for secret in prod.of_type("kubernetes:core/v1:Secret"):
        if secret.name in ("cockroachdb-ca", "openalgo-app-ca", "openalgo-app-urls"):
            continue
        keys = [v for v in secret.manifest()["stringData"].values() if "PRIVATE KEY" in v]
        assert keys, secret.name
        assert set(keys) <= set(secret.secret_values)


def test_a_bad_config_registers_no_resource() -> None:
    config = stack_file_config("dev") | {"openalgo:replicas": "0"}
    mocks = RecordingMocks()
    with pytest.raises(Exception, match=r"openalgo:replicas = 0"):
        run_program("dev", config, mocks=mocks)
    assert mocks.resources == []


def test_a_missing_migrations_directory_registers_no_resource() -> None:
    config = stack_file_config("dev") | {
        "openalgo:schema": json.dumps({"migrationsDirectory": "sql/no-such-directory"})
    }
    mocks = RecordingMocks()
    with pytest.raises(Exception, match=r"openalgo:schema.migrationsDirectory = 'sql/no-such"):
        run_program("dev", config, mocks=mocks)
    assert mocks.resources == []


def test_a_plaintext_backup_destination_in_prod_registers_no_resource() -> None:
    mocks = RecordingMocks()
    with pytest.raises(Exception, match=r"openalgo:backupDestination = \[secret\]: a secret"):
        run_program("prod", stack_file_config("prod"), mocks=mocks)
    assert mocks.resources == []


def test_openalgo_urls_travel_as_a_pulumi_secret(prod: RenderedStack) -> None:
    secret = prod.one("kubernetes:core/v1:Secret", "openalgo-app-urls")
    urls = secret.manifest()["stringData"]
    assert urls
    assert set(urls.values()) <= set(secret.secret_values)
