"""Stack config: every rule has a failing case whose message is asserted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from stack_harness import stack_file_config

from components.config import ConfigError, StackConfig, load_stack_config


def load(stack: str = "dev", kubeconfig: bool = False, **overrides: Any) -> StackConfig:
    values = stack_file_config(stack)
    for key, value in overrides.items():
        values[f"openalgo:{key}"] = value if isinstance(value, str) else json.dumps(value)
    return load_stack_config(stack, values, kubeconfig_present=kubeconfig)


def problems(stack: str = "dev", **overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(stack, **overrides)
    return [str(problem) for problem in caught.value.problems]


def test_committed_dev_stack_is_valid_and_small() -> None:
    config = load("dev")
    assert (config.replicas, config.storage.size, config.tls, config.client_pod) == (
        3,
        "10Gi",
        False,
        True,
    )


def test_committed_prod_stack_has_the_original_sizing_and_is_secure() -> None:
    config = load("prod")
    assert config.replicas == 4
    assert config.replication_factor == 3
    assert config.storage.size == "100Gi"
    assert config.storage.storage_class
    assert (config.resources.cpu_request, config.resources.memory_limit) == ("4", "16Gi")
    assert config.tls
    assert config.network_policy.enabled
    assert config.protect
    assert config.production


def test_defaults_are_secure_when_a_stack_sets_only_its_environment() -> None:
    config = load_stack_config(
        "staging", {"openalgo:environment": "staging"}, kubeconfig_present=True
    )
    assert config.tls
    assert config.namespace == "trading"
    assert config.image == "cockroachdb/cockroach:v25.2.8"
    assert config.resources.cpu_limit is None
    assert not config.liveness_probe


def test_missing_environment_is_required() -> None:
    with pytest.raises(ConfigError) as caught:
        load_stack_config("x", {}, kubeconfig_present=False)
    assert "openalgo:environment = (unset): required" in str(caught.value)


def test_unknown_key_is_refused_and_known_keys_are_listed() -> None:
    [message] = problems(replica=5)
    assert message.startswith("openalgo:replica = (set): unknown key; known keys are: ")
    assert "replicas" in message


def test_unknown_nested_key_is_refused() -> None:
    assert "openalgo:resources.cpu = '2': unknown key" in problems(resources={"cpu": "2"})


def test_keys_of_other_namespaces_are_ignored() -> None:
    values = stack_file_config("dev") | {"kubernetes:context": "kind-dev"}
    assert load_stack_config("dev", values, kubeconfig_present=False).replicas == 3


def test_every_problem_is_reported_together() -> None:
    found = problems(replicas=0, namespace="Trading", image="cockroachdb/cockroach:latest")
    keys = {message.split(" = ")[0] for message in found}
    assert {"openalgo:replicas", "openalgo:namespace", "openalgo:image"} <= keys


def test_field_errors_and_rule_errors_are_reported_together() -> None:
    found = problems(resources={"memoryLimit": "lots"}, replicas=0)
    assert any(m.startswith("openalgo:resources.memoryLimit = 'lots': must be") for m in found)
    assert any(m.startswith("openalgo:replicas = 0:") for m in found)


def test_replicas_must_be_at_least_one() -> None:
    assert "openalgo:replicas = 0: an integer >= 1" in problems(replicas=0, replicationFactor=1)


def test_replicas_must_be_at_least_three_with_tls() -> None:
    found = problems(tls=True, replicas=2, replicationFactor=1)
    assert any(m.startswith("openalgo:replicas = 2: an integer >= 3") for m in found)


def test_replicas_must_be_an_integer() -> None:
    assert any(m.startswith("openalgo:replicas = 'three': ") for m in problems(replicas="three"))


def test_replication_factor_must_be_odd() -> None:
    assert any(
        m.startswith("openalgo:replicationFactor = 2: an odd integer")
        for m in problems(replicationFactor=2)
    )


def test_replication_factor_cannot_exceed_replicas() -> None:
    found = problems(replicas=3, replicationFactor=5)
    assert (
        "openalgo:replicationFactor = 5: at most replicas (3): each replica needs its own node"
        in found
    )


def test_quantities_must_parse() -> None:
    found = problems(resources={"cpuRequest": "two cores"})
    assert found == [
        "openalgo:resources.cpuRequest = 'two cores': must be a Kubernetes quantity such as "
        "500m, 2, 512Mi, 16Gi or 100G"
    ]


def test_storage_size_must_parse() -> None:
    assert any(
        m.startswith("openalgo:storage.size = '10GB': must be")
        for m in problems(storage={"size": "10GB"})
    )


def test_memory_limit_must_not_be_below_request() -> None:
    found = problems(resources={"memoryRequest": "4Gi", "memoryLimit": "2Gi"})
    assert "openalgo:resources.memoryLimit = '2Gi': >= resources.memoryRequest (4Gi)" in found


def test_memory_limit_must_leave_cockroachdb_room_to_run() -> None:
    found = problems(resources={"memoryRequest": "512Mi", "memoryLimit": "1Gi"})
    assert any(m.startswith("openalgo:resources.memoryLimit = '1Gi': >= 2Gi") for m in found)


def test_cpu_limit_must_not_be_below_request() -> None:
    found = problems(resources={"cpuRequest": "2", "cpuLimit": "1", "memoryLimit": "2Gi"})
    assert any(
        m.startswith("openalgo:resources.cpuLimit = '1': >= resources.cpuRequest (2)")
        for m in found
    )


@pytest.mark.parametrize(
    "image",
    ["cockroachdb/cockroach:latest", "cockroachdb/cockroach", "cockroachdb/cockroach:v25.2"],
)
def test_image_must_be_pinned(image: str) -> None:
    assert any(
        m.startswith(f"openalgo:image = '{image}': an image pinned") for m in problems(image=image)
    )


def test_image_pinned_by_digest_is_accepted() -> None:
    digest = "cockroachdb/cockroach@sha256:" + "a" * 64
    config = load(image=digest)
    assert config.image == digest
    assert config.version is None


def test_image_version_is_read_from_its_tag() -> None:
    assert load(image="registry.local:5000/cockroachdb/cockroach:v25.2.8").version == "v25.2.8"


@pytest.mark.parametrize("namespace", ["Trading", "trading_db", "-trading", "t" * 64])
def test_namespace_must_be_a_dns_label(namespace: str) -> None:
    assert any(
        m.startswith(f"openalgo:namespace = '{namespace}': a DNS-1123 label")
        for m in problems(namespace=namespace)
    )


def test_insecure_needs_explicit_permission() -> None:
    found = problems(tls=False, allowInsecure=False)
    assert any(
        m.startswith("openalgo:tls = false: true, unless allowInsecure is true") for m in found
    )


def test_production_cannot_be_insecure() -> None:
    found = problems("prod", tls=False, allowInsecure=True)
    assert "openalgo:tls = false: true in prod: a production stack cannot be insecure" in found
    assert (
        "openalgo:allowInsecure = true: false in prod: a production stack cannot be insecure"
        in found
    )


def test_production_needs_the_network_policy() -> None:
    assert any(
        m.startswith("openalgo:networkPolicy.enabled = false: true in prod")
        for m in problems("prod", networkPolicy={"enabled": False})
    )


def test_production_needs_protection() -> None:
    assert "openalgo:protect = false: true in prod: guard against deletion" in problems(
        "prod", protect=False
    )


def test_production_needs_an_explicit_storage_class() -> None:
    assert any(
        m.startswith("openalgo:storage.storageClass = null: an SSD storage class")
        for m in problems("prod", storage={"size": "100Gi"})
    )


def test_production_needs_a_long_drain() -> None:
    assert any(
        m.startswith("openalgo:terminationGracePeriodSeconds = 120: >= 300 in prod")
        for m in problems("prod", terminationGracePeriodSeconds=120)
    )


def test_production_needs_restricted_pod_security() -> None:
    assert "openalgo:podSecurity = 'baseline': 'restricted' in prod" in problems(
        "prod", podSecurity="baseline"
    )


def test_production_refuses_dropping_the_schema() -> None:
    assert any(
        m.startswith("openalgo:schema.allowDrop = true: false in prod")
        for m in problems("prod", schema={"allowDrop": True})
    )


def test_production_never_guesses_its_kubernetes_target() -> None:
    assert any(
        m.startswith("openalgo:kubernetes.mode = 'auto':")
        for m in problems("prod", kubernetes={"mode": "auto"})
    )


def test_production_needs_three_replicas_of_each_range() -> None:
    found = problems("prod", replicationFactor=1)
    assert (
        "openalgo:replicationFactor = 1: 3 or more in prod, so a node failure loses no quorum"
        in found
    )


def test_grace_period_must_allow_a_drain() -> None:
    assert any(
        m.startswith("openalgo:terminationGracePeriodSeconds = 10: an integer >= 60")
        for m in problems(terminationGracePeriodSeconds=10)
    )


def test_environment_must_be_a_known_one() -> None:
    assert any(
        m.startswith("openalgo:environment = 'production': Input should be")
        for m in problems(environment="production")
    )


def test_certificate_renewal_must_start_before_expiry() -> None:
    found = problems(certificates={"validityDays": 30, "renewBeforeDays": 30})
    assert (
        "openalgo:certificates.renewBeforeDays = 30: fewer than certificates.validityDays (30)"
        in found
    )


def test_certificates_cannot_outlive_their_ca() -> None:
    found = problems(certificates={"caValidityDays": 365, "validityDays": 730})
    assert (
        "openalgo:certificates.validityDays = 730: at most certificates.caValidityDays (365)"
        in found
    )


def test_network_policy_peer_must_select_something() -> None:
    found = problems(networkPolicy={"enabled": True, "sqlClients": [{}]})
    assert any(
        m.startswith("openalgo:networkPolicy.sqlClients.0 = ") and "empty peer" in m for m in found
    )


def test_secret_values_are_never_echoed_in_errors() -> None:
    found = problems(adminDsn={"not": "a string"})
    assert found[0].startswith("openalgo:adminDsn = [secret]: ")
    assert "not" not in found[0].split(": ", 1)[0]


def test_auto_mode_deploys_when_a_kubeconfig_exists() -> None:
    assert load(kubeconfig=True).kubernetes_mode == "cluster"


def test_auto_mode_renders_manifests_without_a_kubeconfig() -> None:
    config = load(kubeconfig=False)
    assert (config.kubernetes_mode, config.render_directory) == ("render", "rendered/dev")


def test_error_message_counts_the_problems() -> None:
    with pytest.raises(ConfigError, match=r"invalid stack configuration \(2 problems\):"):
        load(replicas=5, replicationFactor=4, namespace="Bad")
