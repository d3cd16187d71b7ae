"""Namespace, certificates, init job, client pod and network policy, each as a specification."""

from __future__ import annotations

from typing import Any

from repo import MIGRATIONS_DIR
from stack_harness import RenderedStack, run_stack_file

from components.init_job import ALREADY_INITIALIZED, init_script
from rules.names import OPERATOR_USER

HOURS_PER_DAY = 24


def labels(stack: RenderedStack, typ: str, name: str | None = None) -> dict[str, str]:
    result: dict[str, str] = stack.one(typ, name).manifest()["metadata"]["labels"]
    return result


# Namespace


def test_namespace_is_named_from_config() -> None:
    stack = run_stack_file("dev", namespace="trading-dev")
    namespace = stack.one("kubernetes:core/v1:Namespace", "namespace").manifest()
    assert namespace["metadata"]["name"] == "trading-dev"
    statefulset = stack.one("kubernetes:apps/v1:StatefulSet").manifest()
    assert statefulset["metadata"]["namespace"] == "trading-dev"


def test_prod_namespace_enforces_the_restricted_pod_security_profile(prod: RenderedStack) -> None:
    namespace = labels(prod, "kubernetes:core/v1:Namespace", "namespace")
    for mode in ("enforce", "audit", "warn"):
        assert namespace[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_namespace_pod_security_level_comes_from_config() -> None:
    stack = run_stack_file("dev", podSecurity="baseline")
    assert (
        labels(stack, "kubernetes:core/v1:Namespace", "namespace")[
            "pod-security.kubernetes.io/enforce"
        ]
        == "baseline"
    )


def test_namespace_carries_standard_labels(prod: RenderedStack) -> None:
    assert (
        labels(prod, "kubernetes:core/v1:Namespace", "namespace")["app.kubernetes.io/part-of"]
        == "openalgo"
    )


def test_namespace_is_protected_in_prod_only(prod: RenderedStack, dev: RenderedStack) -> None:
    assert prod.opts_of("kubernetes:core/v1:Namespace", "namespace").protect is True
    assert not dev.opts_of("kubernetes:core/v1:Namespace", "namespace").protect


# Certificates


def secret_files(stack: RenderedStack, name: str) -> set[str]:
    secret = stack.one("kubernetes:core/v1:Secret", name).manifest()
    return set(secret["stringData"])


def test_node_secret_holds_the_files_cockroach_start_expects(prod: RenderedStack) -> None:
    assert secret_files(prod, "cockroachdb-node-certs") == {"ca.crt", "node.crt", "node.key"}


def test_ca_secret_holds_no_key(prod: RenderedStack) -> None:
    assert secret_files(prod, "cockroachdb-ca") == {"ca.crt"}


def test_client_secrets_hold_the_files_cockroach_sql_expects(prod: RenderedStack) -> None:
    assert secret_files(prod, "cockroachdb-client-root") == {
        "ca.crt",
        "client.root.crt",
        "client.root.key",
    }
    assert secret_files(prod, "cockroachdb-client-openalgo") == {
        "ca.crt",
        "client.openalgo.crt",
        "client.openalgo.key",
    }
    assert secret_files(prod, "cockroachdb-client-operator") == {
        "ca.crt",
        "client.openalgo_operator.crt",
        "client.openalgo_operator.key",
    }


def test_operator_certificate_is_for_the_operator_role(prod: RenderedStack) -> None:
    request = prod.one("tls:index/certRequest:CertRequest", "certificates-client-operator-csr")
    assert request.inputs["subject"]["commonName"] == OPERATOR_USER


def test_node_certificate_is_for_user_node_with_every_service_name(prod: RenderedStack) -> None:
    request = prod.one("tls:index/certRequest:CertRequest", "certificates-node-csr").inputs
    assert request["subject"]["commonName"] == "node"
    assert "cockroachdb-public.trading.svc.cluster.local" in request["dnsNames"]
    assert "*.cockroachdb.trading.svc.cluster.local" in request["dnsNames"]
    assert request["ipAddresses"] == ["127.0.0.1"]


def test_client_certificates_name_their_sql_user(prod: RenderedStack) -> None:
    for user in ("root", "openalgo"):
        request = prod.one("tls:index/certRequest:CertRequest", f"certificates-client-{user}-csr")
        assert request.inputs["subject"]["commonName"] == user


def test_certificates_are_signed_by_the_cluster_ca(prod: RenderedStack) -> None:
    ca_pem = "CERTIFICATE-certificates-ca\n"
    for cert in prod.of_type("tls:index/locallySignedCert:LocallySignedCert"):
        assert cert.inputs["caCertPem"].endswith(ca_pem + "-----END CERTIFICATE-----\n")


def test_node_certificate_serves_and_authenticates(prod: RenderedStack) -> None:
    node = prod.one("tls:index/locallySignedCert:LocallySignedCert", "certificates-node").inputs
    assert {"server_auth", "client_auth"} <= set(node["allowedUses"])


def test_certificates_renew_early_by_the_configured_margin(prod: RenderedStack) -> None:
    for cert in prod.of_type("tls:index/locallySignedCert:LocallySignedCert"):
        assert cert.inputs["validityPeriodHours"] == 365 * HOURS_PER_DAY
        assert cert.inputs["earlyRenewalHours"] == 30 * HOURS_PER_DAY
    ca = prod.one("tls:index/selfSignedCert:SelfSignedCert").inputs
    assert ca["isCaCertificate"] is True
    assert ca["validityPeriodHours"] == 3650 * HOURS_PER_DAY


def test_validity_comes_from_config() -> None:
    stack = run_stack_file("prod", certificates={"validityDays": 90, "renewBeforeDays": 14})
    node = stack.one("tls:index/locallySignedCert:LocallySignedCert", "certificates-node").inputs
    assert (node["validityPeriodHours"], node["earlyRenewalHours"]) == (90 * 24, 14 * 24)


def test_insecure_stack_issues_no_certificates(dev: RenderedStack) -> None:
    assert [r for r in dev.resources if r.typ.startswith("tls:")] == []
    secrets = [s.manifest()["metadata"]["name"] for s in dev.of_type("kubernetes:core/v1:Secret")]
    assert secrets == ["openalgo-database"]


# Init job


def job(stack: RenderedStack) -> dict[str, Any]:
    return stack.one("kubernetes:batch/v1:Job").manifest()


def job_script(stack: RenderedStack) -> str:
    [container] = job(stack)["spec"]["template"]["spec"]["containers"]
    script: str = container["command"][-1]
    return script


def test_init_job_keeps_the_original_name(prod: RenderedStack) -> None:
    assert job(prod)["metadata"]["name"] == "cockroachdb-init"


def test_init_targets_the_first_pod_by_stable_name_with_root_certificates(
    prod: RenderedStack,
) -> None:
    script = job_script(prod)
    assert "--host=cockroachdb-0.cockroachdb.trading.svc.cluster.local:26257" in script
    assert "--certs-dir=/cockroach/cockroach-certs" in script
    volumes = job(prod)["spec"]["template"]["spec"]["volumes"]
    assert {"secretName": "cockroachdb-client-root", "defaultMode": 0o440} in [
        v.get("secret") for v in volumes
    ]


def test_init_treats_an_initialized_cluster_as_success() -> None:
    script = init_script("h:26257", tls=False)
    branch = script.split(f'*"{ALREADY_INITIALIZED}"*)', 1)[1].split(";;", 1)[0]
    assert "exit 0" in branch


def test_init_retries_until_the_nodes_answer() -> None:
    script = init_script("h:26257", tls=False)
    assert "for attempt in $(seq 1 60)" in script
    assert "sleep 5" in script
    assert script.rstrip().endswith("exit 1")


def test_insecure_init_uses_the_insecure_flag(dev: RenderedStack) -> None:
    assert "init --insecure --host=" in job_script(dev)


def test_init_job_never_changes_after_creation(prod: RenderedStack) -> None:
    assert prod.opts_of("kubernetes:batch/v1:Job", "init").ignore_changes == ["spec"]


def test_init_job_runs_after_the_cluster_resources(prod: RenderedStack) -> None:
    depends = prod.opts_of("openalgo:cockroachdb:Init", "init").depends_on
    assert isinstance(depends, list)
    assert [type(d).__name__ for d in depends] == ["CockroachCluster"]


def test_init_job_passes_restricted_pod_security(prod: RenderedStack) -> None:
    [container] = job(prod)["spec"]["template"]["spec"]["containers"]
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


# Client pod


def client(stack: RenderedStack) -> dict[str, Any]:
    return stack.one("kubernetes:core/v1:Pod").manifest()


def test_client_pod_keeps_the_original_name(prod: RenderedStack) -> None:
    assert client(prod)["metadata"]["name"] == "cockroachdb-client"


def test_client_pod_mounts_certificates_where_cockroach_sql_looks(prod: RenderedStack) -> None:
    [container] = client(prod)["spec"]["containers"]
    assert {"name": "COCKROACH_CERTS_DIR", "value": "/cockroach/cockroach-certs"} in container[
        "env"
    ]
    assert any(m["mountPath"] == "/cockroach/cockroach-certs" for m in container["volumeMounts"])


def test_client_pod_carries_the_operator_certificate_and_never_roots(prod: RenderedStack) -> None:
    secrets = [v["secret"]["secretName"] for v in client(prod)["spec"]["volumes"] if "secret" in v]
    assert secrets == ["cockroachdb-client-operator"]


def test_client_pod_shell_signs_in_as_the_operator_without_a_flag(prod: RenderedStack) -> None:
    [container] = client(prod)["spec"]["containers"]
    assert {"name": "COCKROACH_USER", "value": OPERATOR_USER} in container["env"]


def test_insecure_client_pod_mounts_no_certificate(dev: RenderedStack) -> None:
    assert not [v for v in client(dev)["spec"]["volumes"] if "secret" in v]


def operator_statements() -> list[str]:
    text = (MIGRATIONS_DIR / "0009_operator_role.crdb.sql").read_text()
    code = " ".join(line for line in text.splitlines() if not line.startswith("--"))
    return [" ".join(part.split()) for part in code.split(";") if part.strip()]


def test_operator_role_is_the_one_the_client_pod_signs_in_as() -> None:
    assert operator_statements()[0] == f"CREATE ROLE IF NOT EXISTS {OPERATOR_USER} WITH LOGIN"


def test_operator_role_may_only_read() -> None:
    granted = {
        statement.split(" ON ")[0].split(" TO ")[0]
        for statement in operator_statements()
        if "GRANT" in statement
    }
    assert granted == {
        "GRANT SELECT",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT",
        "GRANT SYSTEM VIEWACTIVITY, VIEWCLUSTERMETADATA, VIEWCLUSTERSETTING",
    }


def test_client_pod_is_optional() -> None:
    stack = run_stack_file("dev", clientPod=False)
    assert stack.of_type("kubernetes:core/v1:Pod") == []
    assert "clientPod=false" in stack.outputs["sqlShellCommand"]


# Network policy


def policy(stack: RenderedStack, name: str) -> dict[str, Any]:
    spec = stack.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", name).manifest()["spec"]
    return dict(spec)


def test_namespace_denies_ingress_by_default(prod: RenderedStack) -> None:
    deny = policy(prod, "network-policy-default-deny")
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_nodes_reach_each_other_on_both_ports(prod: RenderedStack) -> None:
    rules = policy(prod, "network-policy-cockroachdb")["ingress"]
    statefulset = prod.one("kubernetes:apps/v1:StatefulSet").manifest()
    selector = statefulset["spec"]["selector"]["matchLabels"]
    node_rule = rules[0]
    assert node_rule["from"] == [{"podSelector": {"matchLabels": selector}}]
    assert {p["port"] for p in node_rule["ports"]} == {26257, 8080}


def test_sql_port_is_open_to_configured_clients_only(prod: RenderedStack) -> None:
    sql_rule = policy(prod, "network-policy-cockroachdb")["ingress"][1]
    assert [p["port"] for p in sql_rule["ports"]] == [26257]
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openalgo"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "openalgo"}},
    } in sql_rule["from"]


def test_init_job_and_client_pod_may_reach_sql(prod: RenderedStack) -> None:
    sql_rule = policy(prod, "network-policy-cockroachdb")["ingress"][1]
    [local] = [peer for peer in sql_rule["from"] if "namespaceSelector" not in peer]
    required = local["podSelector"]["matchLabels"]
    assert required.items() <= job(prod)["spec"]["template"]["metadata"]["labels"].items()
    assert required.items() <= client(prod)["metadata"]["labels"].items()


def test_metrics_port_is_open_to_monitoring(prod: RenderedStack) -> None:
    metrics_rule = policy(prod, "network-policy-cockroachdb")["ingress"][2]
    assert [p["port"] for p in metrics_rule["ports"]] == [8080]


def test_dev_has_no_network_policy(dev: RenderedStack) -> None:
    assert dev.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") == []
