"""Monitoring as code: alert rules, the ServiceMonitor, the dashboard and its ConfigMap."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import kubernetes_validate
import pulumi
import pytest
from stack_harness import Recorded, RecordingMocks

from components.monitoring import (
    CERT_CRITICAL_DAYS,
    CERT_WARNING_DAYS,
    COMPONENT_TYPE,
    DASHBOARD_FILE,
    DASHBOARD_KEY,
    ClusterMonitoring,
    ClusterMonitoringArgs,
    alert_rule_groups,
    load_dashboard,
    metric_selector,
)
from rules.names import selector_labels, standard_labels
from rules.topology import node_certificate_sans

KUBERNETES_VERSIONS = ("1.30", "1.33")
SELECTOR = '{job="cockroachdb",namespace="trading"}'
SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
DURATION = re.compile(r"^(0|(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?)$")
"""Prometheus durations as the Operator's CRDs accept them: units largest first."""
PUBLIC_FQDN = "cockroachdb-public.trading.svc.cluster.local"


# Rule groups (pure)


def rules_by_name(tls: bool = True, expected_nodes: int = 3) -> dict[str, dict[str, Any]]:
    return {
        rule["alert"]: rule
        for group in alert_rule_groups("trading", expected_nodes, tls)
        for rule in group["rules"]
    }


def expr(name: str, **kwargs: Any) -> str:
    text: str = rules_by_name(**kwargs)[name]["expr"]
    return text


def test_metric_selector_scopes_series_to_the_cluster_job_and_namespace() -> None:
    assert metric_selector("trading") == SELECTOR


def test_insecure_cluster_gets_availability_storage_clock_and_backup_groups() -> None:
    names = [group["name"] for group in alert_rule_groups("trading", 3, tls=False)]
    assert names == [
        "cockroachdb.availability",
        "cockroachdb.storage",
        "cockroachdb.clock",
        "cockroachdb.backups",
    ]


def test_certificate_alerts_exist_only_on_tls_clusters() -> None:
    assert not [name for name in rules_by_name(tls=False) if "Certificate" in name]
    assert [name for name in rules_by_name(tls=True) if "Certificate" in name]


def test_every_alert_has_a_severity_summary_description_and_duration() -> None:
    for name, rule in rules_by_name().items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["summary"], name
        assert rule["annotations"]["description"], name
        assert DURATION.match(rule["for"]), f"{name}: for = {rule['for']!r}"


def test_alert_names_are_unique() -> None:
    names = [
        rule["alert"] for group in alert_rule_groups("trading", 3, True) for rule in group["rules"]
    ]
    assert len(names) == len(set(names))


def test_every_series_in_every_expression_is_scoped_to_the_cluster() -> None:
    for name, rule in rules_by_name().items():
        matchers = re.findall(r"\{[^}]*\}", rule["expr"])
        assert matchers, name
        assert set(matchers) == {SELECTOR}, name


def test_node_down_fires_when_a_scrape_fails() -> None:
    assert expr("CockroachNodeDown") == f"up{SELECTOR} == 0"


def test_no_node_answering_fires_when_every_scrape_fails() -> None:
    assert expr("CockroachNoNodeAnswering") == f"absent(up{SELECTOR} == 1)"


def test_live_nodes_alert_compares_with_the_deployed_node_count() -> None:
    assert expr("CockroachLiveNodesBelowExpected", expected_nodes=4) == (
        f"min(liveness_livenodes{SELECTOR}) < 4"
    )


def test_under_replicated_ranges_alert_fires_above_zero() -> None:
    assert expr("CockroachUnderReplicatedRanges") == f"sum(ranges_underreplicated{SELECTOR}) > 0"


def test_unavailable_ranges_alert_fires_above_zero_and_is_critical() -> None:
    rule = rules_by_name()["CockroachUnavailableRanges"]
    assert rule["expr"] == f"sum(ranges_unavailable{SELECTOR}) > 0"
    assert rule["labels"]["severity"] == "critical"


def test_disk_alerts_fire_at_twenty_and_ten_percent_available() -> None:
    ratio = f"capacity_available{SELECTOR} / capacity{SELECTOR}"
    assert expr("CockroachStoreDiskLow") == f"{ratio} < 0.2"
    assert expr("CockroachStoreDiskCritical") == f"{ratio} < 0.1"


def test_disk_filling_alert_predicts_exhaustion_within_a_day() -> None:
    assert f"predict_linear(capacity_available{SELECTOR}[6h], 86400) < 0" in expr(
        "CockroachStoreDiskFillingUp"
    )


def test_clock_offset_alert_fires_at_half_the_500ms_maximum_offset() -> None:
    assert expr("CockroachClockOffsetHigh") == (
        f"abs(clock_offset_meannanos{SELECTOR}) > 250000000"
    )


@pytest.mark.parametrize(
    ("kind", "metric"),
    [
        ("Node", "security_certificate_expiration_node"),
        ("CA", "security_certificate_expiration_ca"),
        ("Client", "security_certificate_expiration_client"),
    ],
)
def test_certificate_alerts_fire_30_and_7_days_before_expiry(kind: str, metric: str) -> None:
    rules = rules_by_name()
    soon = rules[f"Cockroach{kind}CertificateExpiresSoon"]
    very_soon = rules[f"Cockroach{kind}CertificateExpiresVerySoon"]
    series = f"{metric}{SELECTOR}"
    assert soon["expr"] == f"({series} > 0) and ({series} - time() < 30 * 86400)"
    assert very_soon["expr"] == f"({series} > 0) and ({series} - time() < 7 * 86400)"
    assert (soon["labels"]["severity"], very_soon["labels"]["severity"]) == (
        "warning",
        "critical",
    )
    assert (CERT_WARNING_DAYS, CERT_CRITICAL_DAYS) == (30, 7)


def test_failed_scheduled_backups_alert() -> None:
    assert expr("CockroachScheduledBackupFailed") == (
        f"sum(increase(schedules_BACKUP_failed{SELECTOR}[1h])) > 0"
    )


def test_failed_backup_jobs_alert() -> None:
    assert expr("CockroachBackupJobFailed") == (
        f"sum(increase(jobs_backup_resume_failed{SELECTOR}[1h])) > 0"
    )


def test_paused_backup_jobs_alert_after_an_hour() -> None:
    rule = rules_by_name()["CockroachBackupJobPaused"]
    assert rule["expr"] == f"max(jobs_backup_currently_paused{SELECTOR}) > 0"
    assert rule["for"] == "1h"


# Dashboard


def panels() -> dict[str, dict[str, Any]]:
    return {panel["title"]: panel for panel in load_dashboard()["panels"]}


def test_dashboard_file_is_json() -> None:
    assert isinstance(json.loads(DASHBOARD_FILE.read_text()), dict)


def test_dashboard_has_the_operator_panels() -> None:
    assert set(panels()) == {
        "SQL queries per second",
        "SQL p99 latency",
        "Live nodes",
        "Under-replicated and unavailable ranges",
        "Capacity used per node",
        "Clock offset",
        "Days until certificate expiry",
    }


def test_every_panel_queries_the_selected_namespace_of_the_cluster_job() -> None:
    for title, panel in panels().items():
        assert panel["targets"], title
        for target in panel["targets"]:
            matchers = set(re.findall(r"\{[^}]*\}", target["expr"]))
            assert matchers == {'{job="cockroachdb",namespace="$namespace"}'}, title


@pytest.mark.parametrize(
    ("title", "metric"),
    [
        ("SQL queries per second", "sql_select_count"),
        ("SQL p99 latency", "sql_service_latency_bucket"),
        ("Live nodes", "liveness_livenodes"),
        ("Under-replicated and unavailable ranges", "ranges_underreplicated"),
        ("Under-replicated and unavailable ranges", "ranges_unavailable"),
        ("Capacity used per node", "capacity_available"),
        ("Clock offset", "clock_offset_meannanos"),
        ("Days until certificate expiry", "security_certificate_expiration_node"),
        ("Days until certificate expiry", "security_certificate_expiration_ca"),
        ("Days until certificate expiry", "security_certificate_expiration_client"),
    ],
)
def test_panel_plots_its_metric(title: str, metric: str) -> None:
    assert any(metric in target["expr"] for target in panels()[title]["targets"])


def test_p99_panel_takes_the_99th_percentile() -> None:
    assert all(
        target["expr"].startswith("histogram_quantile(0.99,")
        for target in panels()["SQL p99 latency"]["targets"]
    )


def test_panel_ids_are_unique() -> None:
    ids = [panel["id"] for panel in load_dashboard()["panels"]]
    assert len(ids) == len(set(ids))


def test_dashboard_picks_its_prometheus_data_source_and_namespace() -> None:
    variables = {v["name"]: v for v in load_dashboard()["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["namespace"]["type"] == "query"


# The component under Pulumi's mocks


@dataclass
class Declared:
    component: ClusterMonitoring
    resources: list[Recorded]
    options: dict[str, pulumi.ResourceOptions]
    outputs: dict[str, Any]

    def of_type(self, typ: str) -> list[Recorded]:
        return [resource for resource in self.resources if resource.typ == typ]

    def manifest(self, typ: str) -> dict[str, Any]:
        (found,) = self.of_type(typ)
        return found.manifest()


def declare(**overrides: Any) -> Declared:
    values: dict[str, Any] = {
        "namespace": "trading",
        "namespace_name": "trading",
        "cluster_domain": "cluster.local",
        "tls": True,
        "prometheus_operator": True,
        "grafana_dashboard": True,
        "expected_nodes": 4,
    }
    values.update(overrides)
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, "openalgo-cockroachdb", "test", preview=False)
    options: dict[str, pulumi.ResourceOptions] = {}

    def record(
        transform: pulumi.ResourceTransformationArgs,
    ) -> pulumi.ResourceTransformationResult | None:
        options[transform.type_] = transform.opts
        return None

    component = ClusterMonitoring(
        "monitoring",
        ClusterMonitoringArgs(**values),
        opts=pulumi.ResourceOptions(transformations=[record]),
    )
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def resolve() -> pulumi.Output[None]:
        def keep(names: list[Any]) -> None:
            outputs.update(service_monitor=names[0], prometheus_rule=names[1], dashboard=names[2])

        return pulumi.Output.all(
            component.service_monitor_name,
            component.prometheus_rule_name,
            component.dashboard_name,
        ).apply(keep)

    resolve()
    return Declared(component, mocks.resources, options, outputs)


@pytest.fixture(scope="module")
def secure() -> Declared:
    return declare()


@pytest.fixture(scope="module")
def insecure() -> Declared:
    return declare(tls=False)


def endpoint(declared: Declared) -> dict[str, Any]:
    (only,) = declared.manifest(SERVICE_MONITOR)["spec"]["endpoints"]
    result: dict[str, Any] = only
    return result


def test_component_has_the_monitoring_type_token(secure: Declared) -> None:
    assert secure.resources[0].typ == COMPONENT_TYPE == "openalgo:cockroachdb:Monitoring"


def test_nothing_is_created_when_both_flags_are_off() -> None:
    declared = declare(prometheus_operator=False, grafana_dashboard=False)
    assert [r.typ for r in declared.resources] == [COMPONENT_TYPE]
    assert declared.outputs == {
        "service_monitor": None,
        "prometheus_rule": None,
        "dashboard": None,
    }


def test_without_the_prometheus_operator_only_the_dashboard_is_created() -> None:
    declared = declare(prometheus_operator=False)
    assert [r.typ for r in declared.resources] == [COMPONENT_TYPE, CONFIG_MAP]


def test_without_the_dashboard_only_the_operator_objects_are_created() -> None:
    declared = declare(grafana_dashboard=False)
    assert [r.typ for r in declared.resources] == [COMPONENT_TYPE, SERVICE_MONITOR, PROMETHEUS_RULE]


def test_children_are_parented_to_the_component(secure: Declared) -> None:
    for typ in (SERVICE_MONITOR, PROMETHEUS_RULE, CONFIG_MAP):
        assert secure.options[typ].parent is secure.component, typ


def test_outputs_name_the_created_objects(secure: Declared) -> None:
    assert secure.outputs == {
        "service_monitor": "cockroachdb",
        "prometheus_rule": "cockroachdb-alerts",
        "dashboard": "cockroachdb-dashboard",
    }


def test_service_monitor_scrapes_status_vars_on_the_http_port(secure: Declared) -> None:
    scrape = endpoint(secure)
    assert (scrape["port"], scrape["path"]) == ("http", "/_status/vars")


def test_tls_scrape_is_https_verified_by_the_cluster_ca(secure: Declared) -> None:
    scrape = endpoint(secure)
    assert scrape["scheme"] == "https"
    assert scrape["tlsConfig"] == {
        "ca": {"secret": {"name": "cockroachdb-ca", "key": "ca.crt"}},
        "serverName": PUBLIC_FQDN,
    }


def test_tls_server_name_is_a_name_of_the_node_certificate(secure: Declared) -> None:
    sans = node_certificate_sans("cockroachdb-public", "cockroachdb", "trading", "cluster.local")
    assert endpoint(secure)["tlsConfig"]["serverName"] in sans


def test_insecure_scrape_is_plain_http_without_tls_config(insecure: Declared) -> None:
    scrape = endpoint(insecure)
    assert scrape["scheme"] == "http"
    assert "tlsConfig" not in scrape


def test_service_monitor_selects_stable_labels_of_the_database_services(secure: Declared) -> None:
    match_labels = secure.manifest(SERVICE_MONITOR)["spec"]["selector"]["matchLabels"]
    assert match_labels == selector_labels()
    service_labels = standard_labels("database", "v25.2.8")
    assert match_labels.items() <= service_labels.items()
    assert "app.kubernetes.io/version" not in match_labels


def test_service_monitor_keeps_only_targets_of_the_headless_service(secure: Declared) -> None:
    assert endpoint(secure)["relabelings"] == [
        {
            "action": "keep",
            "sourceLabels": ["__meta_kubernetes_service_name"],
            "regex": "cockroachdb",
        }
    ]


def test_prometheus_rule_holds_the_rule_groups_for_the_cluster(secure: Declared) -> None:
    spec = secure.manifest(PROMETHEUS_RULE)["spec"]
    assert spec == {"groups": alert_rule_groups("trading", 4, tls=True)}


def test_insecure_prometheus_rule_has_no_certificate_group(insecure: Declared) -> None:
    groups = insecure.manifest(PROMETHEUS_RULE)["spec"]["groups"]
    assert "cockroachdb.certificates" not in [group["name"] for group in groups]


def test_configured_labels_are_added_to_every_object() -> None:
    declared = declare(labels={"release": "kube-prometheus-stack"})
    for typ in (SERVICE_MONITOR, PROMETHEUS_RULE, CONFIG_MAP):
        labels = declared.manifest(typ)["metadata"]["labels"]
        assert labels["release"] == "kube-prometheus-stack", typ
        assert labels["app.kubernetes.io/part-of"] == "openalgo", typ


def test_dashboard_configmap_carries_the_grafana_sidecar_label(secure: Declared) -> None:
    assert secure.manifest(CONFIG_MAP)["metadata"]["labels"]["grafana_dashboard"] == "1"


def test_dashboard_configmap_holds_the_dashboard(secure: Declared) -> None:
    data = secure.manifest(CONFIG_MAP)["data"]
    assert json.loads(data[DASHBOARD_KEY]) == load_dashboard()


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_dashboard_configmap_is_strictly_valid(secure: Declared, version: str) -> None:
    kubernetes_validate.validate(secure.manifest(CONFIG_MAP), version, strict=True)


# The custom resources' structure (no schema for CRDs in kubernetes-validate)

ENDPOINT_FIELDS = {"port", "path", "interval", "scheme", "tlsConfig", "relabelings"}
RELABEL_FIELDS = {"action", "sourceLabels", "regex"}
RULE_FIELDS = {"alert", "expr", "for", "labels", "annotations"}


@pytest.mark.parametrize("typ", [SERVICE_MONITOR, PROMETHEUS_RULE])
def test_custom_resource_is_a_namespaced_prometheus_operator_object(
    secure: Declared, typ: str
) -> None:
    manifest = secure.manifest(typ)
    assert set(manifest) == {"apiVersion", "kind", "metadata", "spec"}
    assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
    assert manifest["kind"] == typ.rsplit(":", 1)[1]
    assert manifest["metadata"]["namespace"] == "trading"


@pytest.mark.parametrize("tls", [True, False])
def test_service_monitor_uses_only_known_fields(tls: bool) -> None:
    spec = declare(tls=tls).manifest(SERVICE_MONITOR)["spec"]
    assert set(spec) == {"selector", "endpoints"}
    assert set(spec["selector"]) == {"matchLabels"}
    for scrape in spec["endpoints"]:
        assert set(scrape) <= ENDPOINT_FIELDS
        assert scrape["scheme"] in {"http", "https"}
        assert DURATION.match(scrape["interval"])
        for relabel in scrape["relabelings"]:
            assert set(relabel) <= RELABEL_FIELDS
        if "tlsConfig" in scrape:
            assert set(scrape["tlsConfig"]) == {"ca", "serverName"}
            assert set(scrape["tlsConfig"]["ca"]) == {"secret"}
            assert set(scrape["tlsConfig"]["ca"]["secret"]) == {"name", "key"}


def test_prometheus_rule_uses_only_known_fields_with_string_values(secure: Declared) -> None:
    spec = secure.manifest(PROMETHEUS_RULE)["spec"]
    assert set(spec) == {"groups"}
    for group in spec["groups"]:
        assert set(group) == {"name", "rules"}
        for rule in group["rules"]:
            assert set(rule) == RULE_FIELDS
            assert all(isinstance(v, str) for v in rule["labels"].values())
            assert all(isinstance(v, str) for v in rule["annotations"].values())
            assert isinstance(rule["expr"], str)
