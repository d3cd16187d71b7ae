"""Stack config: every rule has a failing case whose message is asserted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from stack_harness import operator_secret_keys, stack_file_config

from rules.config import (
    ConfigError,
    IntRange,
    QuantityRange,
    StackConfig,
    leaf_fields,
    load_stack_config,
)


def load(stack: str = "dev", kubeconfig: bool = False, **overrides: Any) -> StackConfig:
    values = stack_file_config(stack)
    for key, value in overrides.items():
        values[f"openalgo:{key}"] = value if isinstance(value, str) else json.dumps(value)
    return load_stack_config(
        stack, values, kubeconfig_present=kubeconfig, secret_keys=operator_secret_keys(stack)
    )


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


def test_unknown_key_is_refused_with_the_nearest_known_key_and_the_list() -> None:
    [message] = problems(replica=5)
    assert message.startswith(
        "openalgo:replica = '5': unknown key; did you mean replicas? known keys are: "
    )
    assert "replicationFactor" in message


def test_unknown_nested_key_is_refused_with_the_keys_of_its_section() -> None:
    [message] = problems(resources={"cpu": "2"})
    assert message == (
        "openalgo:resources.cpu = '2': unknown key; did you mean cpuLimit or cpuRequest? known "
        "keys are: "
        "cpuLimit, cpuRequest, memoryLimit, memoryRequest"
    )


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
    assert any(
        m.startswith("openalgo:replicas = 0: an integer from 1 to 100")
        for m in problems(replicas=0, replicationFactor=1)
    )


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
        "500m, 2, 512Mi, 16Gi or 100G (digits 0-9, no sign, no spaces), from 100m to 32"
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
    assert (
        "openalgo:resources.memoryLimit = '1Gi': a quantity from 2Gi to 256Gi (CockroachDB "
        "needs at least 2Gi per node)" in found
    )


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


def test_image_pinned_by_tag_and_digest_is_accepted() -> None:
    image = "cockroachdb/cockroach:v25.2.8@sha256:" + "a" * 64
    config = load(image=image)
    assert (config.image, config.version) == (image, "v25.2.8")


def test_image_pinned_by_digest_alone_is_refused_as_its_version_is_unknown() -> None:
    image = "cockroachdb/cockroach@sha256:" + "a" * 64
    [message] = problems(image=image)
    assert message.startswith(f"openalgo:image = '{image}': an image pinned to a release tag")
    assert "a digest alone are refused" in message


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
        m.startswith("openalgo:terminationGracePeriodSeconds = 10: an integer from 60 to 3600")
        for m in problems(terminationGracePeriodSeconds=10)
    )


def test_environment_must_be_a_known_one() -> None:
    assert any(
        m == "openalgo:environment = 'production': one of 'dev', 'staging' or 'prod'"
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
        "openalgo:certificates.validityDays = 730: at most certificates.caValidityDays (365): "
        "a certificate never outlives the CA that signed it" in found
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


# --- Bounds, strict scalars and the rules from trying single-key mistakes.


def test_every_integer_key_has_a_lower_and_an_upper_bound() -> None:
    unbounded = [
        key
        for key, field in leaf_fields()
        if field.annotation is int
        and not any(isinstance(rule, IntRange) for rule in field.metadata)
    ]
    assert unbounded == []


def test_every_quantity_key_has_a_lower_and_an_upper_bound() -> None:
    bounded = {
        key
        for key, field in leaf_fields()
        if any(isinstance(rule, QuantityRange) for rule in field.metadata)
    }
    assert bounded == {
        "resources.cpuRequest",
        "resources.cpuLimit",
        "resources.memoryRequest",
        "resources.memoryLimit",
        "storage.size",
    }


def only(stack: str = "dev", **overrides: Any) -> str:
    """The one problem a single-key mistake causes."""
    [message] = problems(stack, **overrides)
    return message


def test_replicas_have_an_upper_bound() -> None:
    assert only(replicas="99999999999") == (
        "openalgo:replicas = 99999999999: an integer from 1 to 100"
    )


@pytest.mark.parametrize("text", ["1_000", "\uff13", "3.0", "1e3", "+3", " 3", "true"])
def test_integers_are_plain_ascii_decimal(text: str) -> None:
    assert only(replicas=text) == (
        f"openalgo:replicas = {text!r}: an integer written with the digits 0-9, from 1 to 100"
    )


def test_a_bool_is_true_or_false() -> None:
    assert only(tls="yes") == "openalgo:tls = 'yes': true or false"


@pytest.mark.parametrize("namespace", ["kube-system", "kube-public", "default"])
def test_system_namespaces_are_refused(namespace: str) -> None:
    assert only(namespace=namespace) == (
        f"openalgo:namespace = {namespace!r}: a namespace of your own: 'default' and kube-* "
        "belong to the cluster (set allowSystemNamespace: true only if you mean it)"
    )


def test_a_system_namespace_can_be_allowed_explicitly() -> None:
    assert load(namespace="kube-trading", allowSystemNamespace="true").namespace == "kube-trading"


def test_an_image_with_a_trailing_newline_is_refused() -> None:
    assert only(image="cockroachdb/cockroach:v25.2.8\n") == (
        "openalgo:image = 'cockroachdb/cockroach:v25.2.8\\n': text without control characters "
        "(found U+000A)"
    )


def test_invisible_formatting_characters_are_refused_in_any_text() -> None:
    assert only(storage={"size": "10Gi", "storageClass": "fast\u202essd"}) == (
        "openalgo:storage.storageClass = 'fast\\u202essd': text without control characters "
        "(found U+202E)"
    )


def test_an_image_older_than_the_supported_release_is_refused() -> None:
    assert only(image="cockroachdb/cockroach:v1.0.0") == (
        "openalgo:image = 'cockroachdb/cockroach:v1.0.0': CockroachDB v25.2.0 or later: the "
        "release this program's flags and SQL are written for"
    )


def test_an_image_newer_than_the_upgrade_rules_know_is_refused() -> None:
    assert only(image="cockroachdb/cockroach:v27.1.0") == (
        "openalgo:image = 'cockroachdb/cockroach:v27.1.0': a CockroachDB release in 25.2, 25.3, "
        "25.4, 26.1, 26.2: the upgrade rules in rules/upgrades.py know no later one"
    )


def test_an_image_reference_with_spaces_is_refused() -> None:
    assert only(image="cockroachdb/ cockroach:v25.2.8").startswith(
        "openalgo:image = 'cockroachdb/ cockroach:v25.2.8': an image pinned to a release tag"
    )


@pytest.mark.parametrize("quantity", ["-1Gi", " 16Gi", "\uff11\uff16Gi", "1e9999999", "2 Gi"])
def test_quantities_are_parsed_strictly_and_name_their_key(quantity: str) -> None:
    assert only(resources={"memoryRequest": "2Gi", "memoryLimit": quantity}) == (
        f"openalgo:resources.memoryLimit = {quantity!r}: must be a Kubernetes quantity such as "
        "500m, 2, 512Mi, 16Gi or 100G (digits 0-9, no sign, no spaces), from 2Gi to 256Gi"
    )


def test_a_memory_request_of_zero_is_refused() -> None:
    assert only(resources={"memoryRequest": "0", "memoryLimit": "2Gi"}) == (
        "openalgo:resources.memoryRequest = '0': a quantity from 2Gi to 256Gi (CockroachDB "
        "needs at least 2Gi per node)"
    )


def test_a_memory_limit_beyond_any_node_is_refused() -> None:
    assert only(resources={"memoryRequest": "2Gi", "memoryLimit": "1000Ei"}) == (
        "openalgo:resources.memoryLimit = '1000Ei': a quantity from 2Gi to 256Gi (CockroachDB "
        "needs at least 2Gi per node)"
    )


def test_a_cpu_request_below_a_tenth_of_a_core_is_refused() -> None:
    assert only(resources={"cpuRequest": "1m", "memoryRequest": "2Gi", "memoryLimit": "2Gi"}) == (
        "openalgo:resources.cpuRequest = '1m': a quantity from 100m to 32 (CockroachDB is "
        "tested up to 32 vCPUs per node)"
    )


def test_storage_has_the_production_checklists_upper_bound() -> None:
    assert only(storage={"size": "11Ti"}) == (
        "openalgo:storage.size = '11Ti': a quantity from 1Gi to 10Ti (CockroachDB's production "
        "checklist: at most 10 TiB)"
    )


def test_a_grace_period_beyond_an_hour_is_refused() -> None:
    assert only(terminationGracePeriodSeconds="9223372036854775808") == (
        "openalgo:terminationGracePeriodSeconds = 9223372036854775808: an integer from 60 to "
        "3600 (time for a node to drain, at most an hour)"
    )


def test_replication_factor_has_an_upper_bound() -> None:
    found = problems(replicas=9, replicationFactor=9)
    assert found == [
        "openalgo:replicationFactor = 9: an integer from 1 to 7 (CockroachDB's documented "
        "replication factors are 3, 5 and 7)"
    ]


def test_a_ca_validity_of_a_billion_days_is_refused() -> None:
    assert only(certificates={"caValidityDays": 1_000_000_000}) == (
        "openalgo:certificates.caValidityDays = 1000000000: an integer from 365 to 7305 (one to "
        "twenty years; the CA signs every other certificate)"
    )


def test_a_certificate_valid_for_a_day_is_refused() -> None:
    assert only(certificates={"validityDays": 1, "renewBeforeDays": 1}) == (
        "openalgo:certificates.validityDays = 1: an integer from 7 to 1826 (a week to five "
        "years, cockroach cert's default node lifetime)"
    )


def test_backup_retention_has_an_upper_bound() -> None:
    assert only(backup={"enabled": True, "retentionDays": 4000}) == (
        "openalgo:backup.retentionDays = 4000: an integer from 1 to 3653 (up to ten years; the "
        "bucket's lifecycle rule keeps them)"
    )


def test_a_full_backup_cron_out_of_range_is_refused() -> None:
    assert only(backup={"enabled": True, "fullSchedule": "61 25 * * *"}) == (
        "openalgo:backup.fullSchedule = '61 25 * * *': a cron expression of five fields (minute "
        "hour day-of-month month day-of-week, e.g. '0 2 * * *') or one of @yearly, @annually, "
        "@monthly, @weekly, @daily, @midnight, @hourly (a field is out of range)"
    )


def test_retention_covers_two_periods_of_any_full_backup_cron() -> None:
    assert only(backup={"enabled": True, "fullSchedule": "0 3 * * 0", "retentionDays": 2}) == (
        "openalgo:backup.retentionDays = 2: >= 14: two full backup periods of "
        "backup.fullSchedule ('0 3 * * 0' runs at least every 7 days), so a complete chain is kept"
    )


def test_a_bad_full_schedule_is_blamed_instead_of_the_retention_that_depends_on_it() -> None:
    found = problems(backup={"enabled": True, "fullSchedule": "0 0 30 2 *", "retentionDays": 1})
    assert [m.split(" = ")[0] for m in found] == ["openalgo:backup.fullSchedule"]


def test_a_monitoring_label_key_kubernetes_refuses_is_refused() -> None:
    assert only(monitoring={"labels": {"release/": "x"}}) == (
        'openalgo:monitoring.labels = {"release/": "x"}: a label key\'s name must be 1-63 '
        "letters, digits, '-', '_' or '.', starting and ending with a letter or digit "
        "(in 'release/': 'x')"
    )


def test_a_label_value_kubernetes_refuses_is_refused() -> None:
    assert only(monitoring={"labels": {"release": "kube prometheus"}}) == (
        'openalgo:monitoring.labels = {"release": "kube prometheus"}: a label value must be '
        "empty or 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or "
        "digit (in 'release': 'kube prometheus')"
    )


def test_monitoring_labels_cannot_replace_the_programs_own() -> None:
    assert only(monitoring={"labels": {"app.kubernetes.io/name": "x"}}) == (
        'openalgo:monitoring.labels = {"app.kubernetes.io/name": "x"}: labels other than '
        "app.kubernetes.io/* (set by this program; found app.kubernetes.io/name)"
    )


def test_network_policy_peer_labels_follow_kubernetes_rules() -> None:
    peers = [{"podLabels": {"Bad Key": "x"}}]
    assert only(networkPolicy={"enabled": True, "sqlClients": peers}).startswith(
        'openalgo:networkPolicy.sqlClients.0.podLabels = {"Bad Key": "x"}: a label key\'s name'
    )


def test_a_list_key_given_text_asks_for_a_yaml_list() -> None:
    assert only(networkPolicy={"enabled": True, "sqlClients": "openalgo"}) == (
        "openalgo:networkPolicy.sqlClients = 'openalgo': a YAML list"
    )


def test_a_section_given_text_asks_for_a_yaml_map_with_its_keys() -> None:
    assert only(certificates="long") == (
        "openalgo:certificates = 'long': a YAML map with the keys caValidityDays, validityDays, "
        "renewBeforeDays"
    )


def test_a_misspelt_project_namespace_is_refused_with_did_you_mean() -> None:
    values = stack_file_config("dev") | {"openalog:replicas": "5"}
    with pytest.raises(ConfigError) as caught:
        load_stack_config("dev", values, kubeconfig_present=False)
    assert [str(p) for p in caught.value.problems] == [
        "openalog:replicas = '5': no part of this program reads the namespace 'openalog'; "
        "did you mean openalgo:replicas? (namespaces read: openalgo, kubernetes, pulumi, random, "
        "tls)"
    ]


def test_a_namespace_no_provider_of_the_program_reads_is_refused() -> None:
    values = stack_file_config("dev") | {"aws:region": "eu-west-1"}
    with pytest.raises(ConfigError) as caught:
        load_stack_config("dev", values, kubeconfig_present=False)
    assert [str(p) for p in caught.value.problems] == [
        "aws:region = 'eu-west-1': no part of this program reads the namespace 'aws'; did you "
        "mean openalgo:region? (namespaces read: openalgo, kubernetes, pulumi, random, tls)"
    ]


def test_a_near_miss_of_a_provider_namespace_suggests_that_provider() -> None:
    values = stack_file_config("dev") | {"kubernete:context": "kind-dev"}
    with pytest.raises(ConfigError) as caught:
        load_stack_config("dev", values, kubeconfig_present=False)
    assert "did you mean kubernetes:context?" in str(caught.value)


def test_a_secret_under_a_misspelt_namespace_is_never_shown() -> None:
    values = stack_file_config("dev") | {"openalog:adminDsn": "postgresql://root:hunter2@db"}
    with pytest.raises(ConfigError) as caught:
        load_stack_config(
            "dev", values, kubeconfig_present=False, secret_keys=["openalog:adminDsn"]
        )
    assert "hunter2" not in str(caught.value)
    assert str(caught.value.problems[0]).startswith("openalog:adminDsn = [secret]: ")


def test_keys_of_the_providers_namespaces_are_accepted() -> None:
    values = stack_file_config("dev") | {"tls:x": "1", "random:y": "2", "pulumi:tags": "{}"}
    assert load_stack_config("dev", values, kubeconfig_present=False).replicas == 3


@pytest.mark.parametrize(
    "destination", ["NODELOCAL://1/backups", "userfile:///backups", "Nodelocal://1/b"]
)
def test_prod_refuses_on_cluster_backups_whatever_the_scheme_case(destination: str) -> None:
    assert only("prod", backupDestination=destination) == (
        "openalgo:backupDestination = [secret]: an off-cluster URI in prod (s3://, gs://, "
        "azure-blob://): nodelocal and userfile backups are lost with the nodes"
    )


def test_a_backup_destination_with_spaces_is_refused_without_showing_it() -> None:
    assert only(backupDestination="nodelocal://1/backups ") == (
        "openalgo:backupDestination = [secret]: a URI without spaces"
    )


def test_prod_sees_an_on_cluster_backup_through_surrounding_spaces() -> None:
    assert problems("prod", backupDestination=" nodelocal://1/backups") == [
        "openalgo:backupDestination = [secret]: a URI without spaces",
        "openalgo:backupDestination = [secret]: an off-cluster URI in prod (s3://, gs://, "
        "azure-blob://): nodelocal and userfile backups are lost with the nodes",
    ]


def test_a_backup_destination_of_an_unknown_scheme_is_refused() -> None:
    assert only(backupDestination="ftp://host/backups").startswith(
        "openalgo:backupDestination = [secret]: a CockroachDB backup URI (s3://, gs://"
    )


def test_prod_backup_destination_must_be_a_pulumi_secret() -> None:
    values = stack_file_config("prod")
    with pytest.raises(ConfigError) as caught:
        load_stack_config("prod", values, kubeconfig_present=True, secret_keys=["openalgo:license"])
    assert [str(p) for p in caught.value.problems] == [
        "openalgo:backupDestination = [secret]: a secret in prod, as it may hold credentials: "
        "set it with `pulumi config set --secret openalgo:backupDestination ...`"
    ]


def test_the_stack_named_prod_cannot_declare_another_environment() -> None:
    assert only("prod", environment="staging") == (
        "openalgo:environment = 'staging': 'prod' in the stack named prod: its production rules "
        "cannot be switched off"
    )


def test_prod_needs_the_production_checklists_four_vcpus() -> None:
    resources = {"cpuRequest": "2", "memoryRequest": "16Gi", "memoryLimit": "16Gi"}
    assert only("prod", resources=resources) == (
        "openalgo:resources.cpuRequest = '2': >= 4 in prod: CockroachDB's production checklist "
        "asks for at least 4 vCPUs per node"
    )


def test_prod_needs_four_gib_of_memory_per_vcpu() -> None:
    found = problems(
        "prod", resources={"cpuRequest": "8", "memoryRequest": "16Gi", "memoryLimit": "32Gi"}
    )
    assert found == [
        "openalgo:resources.memoryRequest = '16Gi': >= 32Gi in prod: CockroachDB's production "
        "checklist asks for 4 GiB of RAM per vCPU (2 GiB is for testing only)"
    ]


def test_prod_memory_floor_for_a_fractional_vcpu_count_is_rounded_up_to_a_mebibyte() -> None:
    resources = {"cpuRequest": "4100m", "memoryRequest": "16Gi", "memoryLimit": "32Gi"}
    assert only("prod", resources=resources).startswith(
        "openalgo:resources.memoryRequest = '16Gi': >= 16794Mi in prod"
    )


def test_an_empty_migrations_directory_key_is_refused() -> None:
    assert only(schema={"migrationsDirectory": ""}) == (
        "openalgo:schema.migrationsDirectory = '': a non-empty path without surrounding spaces"
    )


def test_a_missing_migrations_directory_is_refused_before_anything_is_declared() -> None:
    assert only(schema={"migrationsDirectory": "sql/migration"}) == (
        "openalgo:schema.migrationsDirectory = 'sql/migration': a directory of the project "
        "holding migrations ([0-9][0-9][0-9][0-9]_*.sql); set schema.enabled: false to apply none"
    )


def test_the_migrations_directory_is_not_needed_when_the_schema_is_off() -> None:
    config = load(schema={"enabled": False, "migrationsDirectory": "nowhere"})
    assert not config.schema_.enabled


def test_a_cluster_domain_too_long_for_pod_names_is_refused() -> None:
    message = only(clusterDomain=".".join(["a" * 40] * 4))
    assert message.startswith("openalgo:clusterDomain = 'aaaa")
    assert message.endswith(
        ": a DNS subdomain such as cluster.local, at most 158 characters (so every pod's name "
        "stays within DNS's 253)"
    )


def test_an_admin_dsn_must_be_a_postgresql_uri_and_is_never_shown() -> None:
    assert only(adminDsn="mysql://root:hunter2@db") == (
        "openalgo:adminDsn = [secret]: a postgresql:// connection URI"
    )


def test_an_admin_dsn_that_is_no_url_at_all_is_refused_without_a_traceback() -> None:
    assert only(adminDsn="postgresql://[::1") == (
        "openalgo:adminDsn = [secret]: a postgresql:// connection URI"
    )


def test_an_admin_dsn_libpq_cannot_read_is_refused_by_key_without_its_password() -> None:
    message = only(adminDsn="postgresql://admin:SEKRETpw%zz@db:26257/defaultdb")
    assert message.startswith(
        "openalgo:adminDsn = [secret]: a postgresql:// connection URI libpq can read ("
    )
    assert "SEKRET" not in message


def test_a_value_marked_secret_on_an_ordinary_key_is_never_shown() -> None:
    values = stack_file_config("dev") | {"openalgo:namespace": "Hunter2"}
    with pytest.raises(ConfigError) as caught:
        load_stack_config(
            "dev", values, kubeconfig_present=False, secret_keys=["openalgo:namespace"]
        )
    assert "Hunter2" not in str(caught.value)
    assert str(caught.value.problems[0]).startswith("openalgo:namespace = [secret]: ")


def test_a_kubeconfig_context_with_surrounding_spaces_is_refused() -> None:
    assert only(kubernetes={"context": "kind-dev "}) == (
        "openalgo:kubernetes.context = 'kind-dev ': a non-empty name without surrounding spaces"
    )


def test_decommissioned_ordinals_are_bounded() -> None:
    assert only(scaling={"decommissioned": [100]}) == (
        "openalgo:scaling.decommissioned.0 = 100: an integer from 0 to 99"
    )


def test_decommissioned_ordinals_are_plain_integers() -> None:
    assert only(scaling={"decommissioned": ["3x"]}) == (
        'openalgo:scaling.decommissioned = ["3x"]: a YAML list of pod ordinals (integers '
        "written with 0-9)"
    )


def test_a_wrong_key_is_blamed_instead_of_a_key_that_depends_on_it() -> None:
    found = problems(replicas=9999, replicationFactor=5)
    assert found == ["openalgo:replicas = 9999: an integer from 1 to 100"]


def test_a_shape_error_is_blamed_instead_of_a_key_that_depends_on_it() -> None:
    found = problems(replicas="five", replicationFactor=5)
    assert found == [
        "openalgo:replicas = 'five': an integer written with the digits 0-9, from 1 to 100"
    ]


# Scheduling


def test_scheduling_is_empty_unless_configured() -> None:
    scheduling = load("prod").scheduling
    assert (scheduling.priority_class_name, scheduling.node_selector, scheduling.tolerations) == (
        None,
        {},
        (),
    )


def test_priority_class_must_be_a_kubernetes_name() -> None:
    assert problems(scheduling={"priorityClassName": "Trading_Critical"}) == [
        "openalgo:scheduling.priorityClassName = 'Trading_Critical': a DNS-1123 subdomain: "
        "lower-case labels joined by '.', at most 253 characters"
    ]


def test_node_selector_follows_label_rules() -> None:
    [found] = problems(scheduling={"nodeSelector": {"pool": "db nodes"}})
    assert found.startswith("openalgo:scheduling.nodeSelector = ")
    assert "a label value must be empty or 1-63 letters" in found


def test_toleration_operator_is_equal_or_exists() -> None:
    found = problems(scheduling={"tolerations": [{"key": "dedicated", "operator": "In"}]})
    assert found == [
        "openalgo:scheduling.tolerations.0.operator = 'In': one of 'Equal' or 'Exists'"
    ]


def test_toleration_with_equal_needs_a_key() -> None:
    assert problems(scheduling={"tolerations": [{"value": "db"}]}) == [
        "openalgo:scheduling.tolerations.0.key = null: a taint key with operator Equal (only "
        "Exists may leave it unset, tolerating all)"
    ]


def test_toleration_with_exists_takes_no_value() -> None:
    found = problems(scheduling={"tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]})
    assert found == [
        "openalgo:scheduling.tolerations.0.value = 'v': no value with operator Exists (it "
        "matches the key whatever its value)"
    ]


def test_toleration_seconds_only_with_no_execute() -> None:
    tolerations = [{"key": "k", "value": "v", "effect": "NoSchedule", "tolerationSeconds": "30"}]
    assert problems(scheduling={"tolerations": tolerations}) == [
        "openalgo:scheduling.tolerations.0.tolerationSeconds = 30: only with effect NoExecute "
        "(other taints never evict a running pod)"
    ]


def test_toleration_seconds_are_bounded() -> None:
    tolerations = [{"key": "k", "effect": "NoExecute", "tolerationSeconds": "90000"}]
    [found] = problems(scheduling={"tolerations": tolerations})
    assert found.startswith("openalgo:scheduling.tolerations.0.tolerationSeconds = 90000: ")
    assert "from 0 to 86400" in found


def test_toleration_effect_is_a_kubernetes_taint_effect() -> None:
    [found] = problems(scheduling={"tolerations": [{"key": "k", "effect": "Evict"}]})
    assert found.startswith("openalgo:scheduling.tolerations.0.effect = 'Evict': one of ")


# Licence and cluster settings


def test_prod_without_a_licence_is_refused_unless_waived() -> None:
    values = stack_file_config("prod")
    del values["openalgo:license"]
    with pytest.raises(ConfigError) as caught:
        load_stack_config(
            "prod", values, kubeconfig_present=True, secret_keys=["openalgo:backupDestination"]
        )
    [found] = [str(p) for p in caught.value.problems]
    assert found.startswith("openalgo:license = (unset): a licence in prod (`pulumi config set")
    assert "openalgo:licenseWaived: true" in found


def test_prod_may_run_unlicensed_when_it_says_so() -> None:
    values = stack_file_config("prod") | {"openalgo:licenseWaived": "true"}
    del values["openalgo:license"]
    config = load_stack_config(
        "prod", values, kubeconfig_present=True, secret_keys=["openalgo:backupDestination"]
    )
    assert (config.license, config.license_waived) == (None, True)


def test_dev_runs_without_a_licence() -> None:
    assert load("dev").license is None


def test_a_licence_must_be_a_pulumi_secret() -> None:
    found = problems(license="crl-0-abc", organization="OpenAlgo")
    assert found == [
        "openalgo:license = [secret]: a secret: set it with `pulumi config set --secret "
        "openalgo:license ...`"
    ]


def test_a_licence_needs_its_organization() -> None:
    values = stack_file_config("prod")
    del values["openalgo:organization"]
    with pytest.raises(ConfigError) as caught:
        load_stack_config(
            "prod", values, kubeconfig_present=True, secret_keys=operator_secret_keys("prod")
        )
    assert [str(p) for p in caught.value.problems] == [
        "openalgo:organization = (unset): the organization the licence was issued to, whenever "
        "openalgo:license is set"
    ]


def test_a_malformed_licence_is_refused_without_echoing_it() -> None:
    found = problems("prod", license="paste error")
    assert found == [
        "openalgo:license = [secret]: a CockroachDB licence key (crl-0-...), as issued, "
        "without spaces"
    ]


def test_a_setting_the_program_owns_cannot_be_overridden() -> None:
    [found] = problems(clusterSettings={"cluster.preserve_downgrade_option": "25.2"})
    assert found.startswith("openalgo:clusterSettings = ")
    assert found.endswith(
        "'cluster.preserve_downgrade_option' = '25.2': set by the program; change the upgrade "
        "guard (openalgo:upgrade.finalize) instead"
    )


def test_a_sensitive_setting_in_plain_config_is_refused_without_showing_it() -> None:
    found = problems(clusterSettings={"server.oidc_authentication.client_secret": "s3cr3t"})
    assert found == [
        "openalgo:clusterSettings = (a plain value, not shown): "
        "'server.oidc_authentication.client_secret' is one of CockroachDB's sensitive settings: "
        "set it as a secret (`pulumi config set --secret --path "
        "'openalgo:clusterSettings[\"server.oidc_authentication.client_secret\"]' ...`)"
    ]


def test_a_sensitive_setting_is_accepted_when_the_settings_are_a_secret() -> None:
    values = stack_file_config("dev") | {
        "openalgo:clusterSettings": json.dumps({"server.oidc_authentication.client_secret": "s"})
    }
    config = load_stack_config(
        "dev", values, kubeconfig_present=False, secret_keys=["openalgo:clusterSettings"]
    )
    assert config.cluster_settings_secret is True


def test_plain_cluster_settings_are_not_a_secret() -> None:
    assert load(clusterSettings={"kv.x.y": 1}).cluster_settings_secret is False


def test_a_non_finite_setting_value_is_refused() -> None:
    [found] = problems(clusterSettings={"kv.x.y": float("inf")})
    assert found.endswith("'kv.x.y': a string, finite number or true/false value")


def test_the_sql_audit_needs_the_schema_tables() -> None:
    found = problems(logging={"sqlAudit": True}, schema={"enabled": False})
    assert found == [
        "openalgo:logging.sqlAudit = true: false while schema.enabled is false: the audited "
        "tables are the schema's"
    ]


def test_cluster_settings_keep_their_yaml_types() -> None:
    settings = {"server.time_until_store_dead": "5m", "kv.x.enabled": True, "kv.y.n": 3}
    assert load(clusterSettings=settings).cluster_settings == settings


def test_a_licence_put_among_the_cluster_settings_is_never_shown() -> None:
    for secret_keys in ([], ["openalgo:clusterSettings"]):
        values = stack_file_config("dev") | {
            "openalgo:clusterSettings": json.dumps({"enterprise.license": "crl-0-hunter2"})
        }
        with pytest.raises(ConfigError) as caught:
            load_stack_config("dev", values, kubeconfig_present=False, secret_keys=secret_keys)
        [found] = [str(p) for p in caught.value.problems]
        assert "hunter2" not in found
        assert "'enterprise.license': set by the program; change openalgo:license" in found
