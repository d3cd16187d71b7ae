"""The CockroachDB StatefulSet, its Services, budget and account, as the API receives them."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
from stack_harness import RenderedStack, run_stack_file

from components.cluster import CERTIFICATES_ANNOTATION

STATEFULSET = "kubernetes:apps/v1:StatefulSet"
SERVICE = "kubernetes:core/v1:Service"


def statefulset(stack: RenderedStack) -> dict[str, Any]:
    return stack.one(STATEFULSET).manifest()


def container(stack: RenderedStack) -> dict[str, Any]:
    [only] = statefulset(stack)["spec"]["template"]["spec"]["containers"]
    return dict(only)


def flag(stack: RenderedStack, name: str) -> str:
    [value] = [
        arg.split("=", 1)[1] for arg in container(stack)["args"] if arg.startswith(f"{name}=")
    ]
    return str(value)


def test_names_match_the_original_deployment(prod: RenderedStack) -> None:
    assert statefulset(prod)["metadata"]["name"] == "cockroachdb"
    names = {service.manifest()["metadata"]["name"] for service in prod.of_type(SERVICE)}
    assert names == {"cockroachdb", "cockroachdb-public"}
    database_side = [
        m
        for m in prod.manifests()
        if m["metadata"].get("labels", {}).get("app.kubernetes.io/component") != "openalgo-access"
    ]
    assert all(m["metadata"].get("namespace") in (None, "trading") for m in database_side)


def test_pods_start_in_parallel_and_update_one_at_a_time(prod: RenderedStack) -> None:
    spec = statefulset(prod)["spec"]
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["updateStrategy"] == {"type": "RollingUpdate"}


def test_replicas_come_from_config(prod: RenderedStack, dev: RenderedStack) -> None:
    assert statefulset(prod)["spec"]["replicas"] == 4
    assert statefulset(dev)["spec"]["replicas"] == 3


def test_volumes_are_kept_when_the_statefulset_is_deleted_or_scaled_down(
    prod: RenderedStack,
) -> None:
    assert statefulset(prod)["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }


def test_volume_claims_take_size_and_storage_class_from_config(prod: RenderedStack) -> None:
    [claim] = statefulset(prod)["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"] == {"storage": "100Gi"}
    assert claim["spec"]["storageClassName"] == "premium-rwo"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_dev_volume_claims_use_the_cluster_default_storage_class(dev: RenderedStack) -> None:
    [claim] = statefulset(dev)["spec"]["volumeClaimTemplates"]
    assert "storageClassName" not in claim["spec"]
    assert claim["spec"]["resources"]["requests"] == {"storage": "10Gi"}


def test_image_is_pinned(prod: RenderedStack) -> None:
    assert container(prod)["image"] == "cockroachdb/cockroach:v25.2.8"


def test_join_names_the_first_three_pods(prod: RenderedStack) -> None:
    assert flag(prod, "--join").split(",") == [
        f"cockroachdb-{n}.cockroachdb.trading.svc.cluster.local:26257" for n in range(3)
    ]


def test_nodes_advertise_their_stable_fqdn(prod: RenderedStack) -> None:
    assert flag(prod, "--advertise-host") == "$(POD_NAME).cockroachdb.trading.svc.cluster.local"
    [pod_name] = [e for e in container(prod)["env"] if e["name"] == "POD_NAME"]
    assert pod_name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_cache_and_sql_memory_are_computed_from_the_memory_limit(prod: RenderedStack) -> None:
    assert flag(prod, "--cache") == "4096MiB"
    assert flag(prod, "--max-sql-memory") == "4096MiB"


def test_secure_nodes_read_certificates_from_the_node_secret(prod: RenderedStack) -> None:
    args = container(prod)["args"]
    assert "--certs-dir=/cockroach/cockroach-certs" in args
    assert "--insecure" not in args
    volumes = statefulset(prod)["spec"]["template"]["spec"]["volumes"]
    [certs] = [v for v in volumes if "secret" in v]
    assert certs["secret"]["secretName"] == "cockroachdb-node-certs"
    assert certs["secret"]["defaultMode"] == 0o440


def test_insecure_flag_only_where_the_stack_allows_it(dev: RenderedStack) -> None:
    args = container(dev)["args"]
    assert "--insecure" in args
    assert not any(arg.startswith("--certs-dir") for arg in args)


def test_gomaxprocs_matches_the_cpu_request(prod: RenderedStack, dev: RenderedStack) -> None:
    def gomaxprocs(stack: RenderedStack) -> str:
        [env] = [e for e in container(stack)["env"] if e["name"] == "GOMAXPROCS"]
        return str(env["value"])

    assert gomaxprocs(prod) == "4"
    assert gomaxprocs(dev) == "1"


def test_transparent_huge_pages_are_off_for_the_go_runtime(prod: RenderedStack) -> None:
    assert {"name": "GODEBUG", "value": "disablethp=1"} in container(prod)["env"]


def test_readiness_probe_asks_for_sql_readiness_over_https_under_tls(prod: RenderedStack) -> None:
    probe = container(prod)["readinessProbe"]["httpGet"]
    assert (probe["path"], probe["port"], probe["scheme"]) == ("/health?ready=1", "http", "HTTPS")


def test_readiness_probe_is_plain_http_when_insecure(dev: RenderedStack) -> None:
    assert container(dev)["readinessProbe"]["httpGet"]["scheme"] == "HTTP"


def test_no_liveness_probe_by_default(prod: RenderedStack) -> None:
    assert "livenessProbe" not in container(prod)


def test_liveness_probe_can_be_enabled() -> None:
    stack = run_stack_file("dev", livenessProbe=True)
    assert container(stack)["livenessProbe"]["httpGet"]["path"] == "/health"


def test_grace_period_allows_a_full_drain_in_prod(prod: RenderedStack) -> None:
    assert statefulset(prod)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 300


def test_requests_and_memory_limit_without_cpu_limit(prod: RenderedStack) -> None:
    resources = container(prod)["resources"]
    assert resources["requests"] == {"cpu": "4", "memory": "16Gi"}
    assert resources["limits"] == {"memory": "16Gi"}


def test_cpu_limit_is_set_only_when_configured() -> None:
    stack = run_stack_file(
        "dev",
        resources={
            "cpuRequest": "1",
            "cpuLimit": "2",
            "memoryLimit": "2Gi",
            "memoryRequest": "2Gi",
        },
    )
    assert container(stack)["resources"]["limits"] == {"memory": "2Gi", "cpu": "2"}


def test_container_runs_unprivileged_with_a_read_only_root(prod: RenderedStack) -> None:
    security = container(prod)["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] != 0
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["readOnlyRootFilesystem"] is True


def test_writable_paths_are_volumes(prod: RenderedStack) -> None:
    mounts = {m["mountPath"] for m in container(prod)["volumeMounts"] if not m.get("readOnly")}
    assert mounts == {"/cockroach/cockroach-data", "/tmp"}


def test_service_account_token_is_not_mounted(prod: RenderedStack) -> None:
    account = prod.one("kubernetes:core/v1:ServiceAccount").manifest()
    assert account["automountServiceAccountToken"] is False
    pod = statefulset(prod)["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == account["metadata"]["name"]


def test_pods_prefer_separate_hosts_and_spread_across_zones(prod: RenderedStack) -> None:
    pod = statefulset(prod)["spec"]["template"]["spec"]
    [term] = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    [spread] = pod["topologySpreadConstraints"]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    assert spread["maxSkew"] == 1


def test_headless_service_publishes_unready_pods_on_both_ports(prod: RenderedStack) -> None:
    headless = prod.one(SERVICE, "cluster-headless").manifest()["spec"]
    assert headless["clusterIP"] == "None"
    assert headless["publishNotReadyAddresses"] is True
    assert {p["port"] for p in headless["ports"]} == {26257, 8080}


def test_public_service_selects_only_database_pods(prod: RenderedStack) -> None:
    public = prod.one(SERVICE, "cluster-public").manifest()["spec"]
    pod_labels = statefulset(prod)["spec"]["template"]["metadata"]["labels"]
    assert public["selector"].items() <= pod_labels.items()
    client_labels = prod.one("kubernetes:core/v1:Pod").manifest()["metadata"]["labels"]
    assert not public["selector"].items() <= client_labels.items()


def test_disruption_budget_allows_one_node_down(prod: RenderedStack) -> None:
    budget = prod.one("kubernetes:policy/v1:PodDisruptionBudget").manifest()["spec"]
    assert budget["maxUnavailable"] == 1
    assert budget["selector"]["matchLabels"] == statefulset(prod)["spec"]["selector"]["matchLabels"]


def test_statefulset_readiness_is_not_awaited(prod: RenderedStack) -> None:
    annotations = statefulset(prod)["metadata"]["annotations"]
    assert annotations["pulumi.com/skipAwait"] == "true"


def test_statefulset_is_protected_in_prod(prod: RenderedStack, dev: RenderedStack) -> None:
    assert prod.opts_of(STATEFULSET, "cluster-statefulset").protect is True
    assert not dev.opts_of(STATEFULSET, "cluster-statefulset").protect


def test_renewed_certificates_roll_the_nodes_one_at_a_time(prod: RenderedStack) -> None:
    template = statefulset(prod)["spec"]["template"]["metadata"]
    assert len(template["annotations"]["openalgo.io/certificates-sha256"]) == 64
    assert statefulset(prod)["spec"]["updateStrategy"] == {"type": "RollingUpdate"}


def test_insecure_nodes_carry_no_certificate_annotation(dev: RenderedStack) -> None:
    annotations = statefulset(dev)["spec"]["template"]["metadata"]["annotations"]
    assert CERTIFICATES_ANNOTATION not in annotations


# Scheduling

SCHEDULING = {
    "priorityClassName": "trading-critical",
    "nodeSelector": {"node-pool": "database"},
    "tolerations": [
        {"key": "dedicated", "value": "database", "effect": "NoSchedule"},
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": "60",
        },
    ],
}
POD_SPEC_PATHS = {
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}


@pytest.fixture(scope="module")
def scheduled() -> RenderedStack:
    return run_stack_file("prod", scheduling=SCHEDULING)


def pod_spec(stack: RenderedStack, kind: str) -> dict[str, Any]:
    spec: dict[str, Any] = stack.one(kind).manifest()
    for step in POD_SPEC_PATHS[kind]:
        spec = spec[step]
    return spec


@pytest.mark.parametrize("kind", sorted(POD_SPEC_PATHS))
def test_every_database_pod_gets_the_configured_placement(
    scheduled: RenderedStack, kind: str
) -> None:
    spec = pod_spec(scheduled, kind)
    assert spec["priorityClassName"] == "trading-critical"
    assert spec["nodeSelector"] == {"node-pool": "database"}
    assert spec["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "database", "effect": "NoSchedule"},
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 60,
        },
    ]


@pytest.mark.parametrize("kind", sorted(POD_SPEC_PATHS))
def test_pods_carry_no_placement_unless_configured(prod: RenderedStack, kind: str) -> None:
    spec = pod_spec(prod, kind)
    assert not {"priorityClassName", "nodeSelector", "tolerations"} & set(spec)


@pytest.mark.parametrize("version", ["1.30.0", "1.33.0"])
def test_placed_pods_are_strictly_valid(scheduled: RenderedStack, version: str) -> None:
    for kind in POD_SPEC_PATHS:
        kubernetes_validate.validate(scheduled.one(kind).manifest(), version, strict=True)
