"""Monitoring as code: Prometheus scrape config, alert rules and a Grafana dashboard.

CockroachDB serves Prometheus metrics on every node at ``/_status/vars`` on the HTTP port
(HTTPS, signed by the cluster CA, when the cluster is secure). The ServiceMonitor and
PrometheusRule are Prometheus Operator custom resources, so they are declared only when the
cluster has its CRDs; the dashboard is a ConfigMap that Grafana's dashboard sidecar loads.

Alert rules are built by pure functions so thresholds can be read and tested without Pulumi.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from rules.names import (
    CA_SECRET,
    HEADLESS_SERVICE,
    PUBLIC_SERVICE,
    selector_labels,
    standard_labels,
)
from rules.topology import service_fqdn

COMPONENT_TYPE = "openalgo:cockroachdb:Monitoring"
PROMETHEUS_API_VERSION = "monitoring.coreos.com/v1"
SERVICE_MONITOR = "cockroachdb"
PROMETHEUS_RULE = "cockroachdb-alerts"
DASHBOARD_CONFIGMAP = "cockroachdb-dashboard"
DASHBOARD_KEY = "cockroachdb.json"
DASHBOARD_FILE = Path(__file__).resolve().parent / "dashboards" / DASHBOARD_KEY
GRAFANA_DASHBOARD_LABEL = "grafana_dashboard"

METRICS_PATH = "/_status/vars"
METRICS_PORT_NAME = "http"
SCRAPE_INTERVAL = "30s"
CA_KEY = "ca.crt"
JOB = HEADLESS_SERVICE
"""The Prometheus Operator names a ServiceMonitor's job after the scraped Service."""

SECONDS_PER_DAY = 86400
DISK_AVAILABLE_WARNING = 0.20
"""Matches the status command: a store more than 80% full is degraded."""
DISK_AVAILABLE_CRITICAL = 0.10
DISK_FILL_LOOKBACK = "6h"
DISK_FILL_HORIZON_SECONDS = SECONDS_PER_DAY
DISK_FILL_GUARD = 0.40
"""Only predict exhaustion for stores already below this available fraction: less noise."""
MAX_CLOCK_OFFSET_NS = 500_000_000
"""CockroachDB's default --max-offset; a node stops itself at 80% of it."""
CLOCK_OFFSET_ALERT_NS = MAX_CLOCK_OFFSET_NS // 2
CERT_WARNING_DAYS = 30
CERT_CRITICAL_DAYS = 7
CERTIFICATE_METRICS = {
    "Node": "security_certificate_expiration_node",
    "CA": "security_certificate_expiration_ca",
    "Client": "security_certificate_expiration_client",
}
"""Unix timestamps of expiry; 0 means no certificate, so expressions require > 0."""


@dataclass(frozen=True)
class AlertRule:
    """One Prometheus alerting rule, in the shape a PrometheusRule group lists it."""

    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity},
            "annotations": {"summary": self.summary, "description": self.description},
        }


def metric_selector(namespace: str) -> str:
    """PromQL label matchers for this cluster's series, so other clusters never match."""
    return f'{{job="{JOB}",namespace="{namespace}"}}'


def availability_rules(selector: str, expected_nodes: int) -> list[AlertRule]:
    return [
        AlertRule(
            "CockroachNodeDown",
            f"up{selector} == 0",
            "5m",
            "critical",
            "CockroachDB node {{ $labels.pod }} is not answering",
            "Prometheus has not scraped {{ $labels.instance }} for 5 minutes; the node is down "
            "or unreachable. Check `kubectl -n {{ $labels.namespace }} describe pod "
            "{{ $labels.pod }}` and its logs.",
        ),
        AlertRule(
            "CockroachNoNodeAnswering",
            f"absent(up{selector} == 1)",
            "5m",
            "critical",
            "No CockroachDB node is answering",
            "No node of the cluster has been scraped successfully for 5 minutes.",
        ),
        AlertRule(
            "CockroachLiveNodesBelowExpected",
            f"min(liveness_livenodes{selector}) < {expected_nodes}",
            "5m",
            "critical",
            f"Fewer than {expected_nodes} CockroachDB nodes are live",
            f"The cluster sees {{{{ $value }}}} live nodes, {expected_nodes} are deployed. "
            "Another failure may cost quorum for some ranges.",
        ),
        AlertRule(
            "CockroachUnderReplicatedRanges",
            f"sum(ranges_underreplicated{selector}) > 0",
            "10m",
            "warning",
            "CockroachDB has under-replicated ranges",
            "{{ $value }} ranges have fewer replicas than their zone configuration asks for; "
            "a further node failure may make them unavailable.",
        ),
        AlertRule(
            "CockroachUnavailableRanges",
            f"sum(ranges_unavailable{selector}) > 0",
            "1m",
            "critical",
            "CockroachDB has unavailable ranges",
            "{{ $value }} ranges have lost quorum: reads and writes to them are blocked.",
        ),
    ]


def storage_rules(selector: str) -> list[AlertRule]:
    ratio = f"capacity_available{selector} / capacity{selector}"
    return [
        AlertRule(
            "CockroachStoreDiskLow",
            f"{ratio} < {DISK_AVAILABLE_WARNING}",
            "10m",
            "warning",
            "CockroachDB store {{ $labels.store }} on {{ $labels.pod }} is over "
            f"{100 - round(DISK_AVAILABLE_WARNING * 100)}% full",
            "Only {{ $value | humanizePercentage }} of the store's disk is available. "
            "Grow the volume or add nodes.",
        ),
        AlertRule(
            "CockroachStoreDiskCritical",
            f"{ratio} < {DISK_AVAILABLE_CRITICAL}",
            "5m",
            "critical",
            "CockroachDB store {{ $labels.store }} on {{ $labels.pod }} is nearly full",
            "Only {{ $value | humanizePercentage }} of the store's disk is available; "
            "CockroachDB stops writing when the disk is full.",
        ),
        AlertRule(
            "CockroachStoreDiskFillingUp",
            f"({ratio} < {DISK_FILL_GUARD}) and "
            f"(predict_linear(capacity_available{selector}[{DISK_FILL_LOOKBACK}], "
            f"{DISK_FILL_HORIZON_SECONDS}) < 0)",
            "30m",
            "warning",
            "CockroachDB store {{ $labels.store }} on {{ $labels.pod }} fills up within a day",
            f"At the growth rate of the last {DISK_FILL_LOOKBACK} the store's disk is full in "
            "less than 24 hours.",
        ),
    ]


def clock_rules(selector: str) -> list[AlertRule]:
    return [
        AlertRule(
            "CockroachClockOffsetHigh",
            f"abs(clock_offset_meannanos{selector}) > {CLOCK_OFFSET_ALERT_NS}",
            "5m",
            "critical",
            "CockroachDB node {{ $labels.pod }} clock is far from the cluster's",
            f"Mean clock offset is {{{{ $value }}}} ns; the maximum offset is "
            f"{MAX_CLOCK_OFFSET_NS // 1_000_000} ms and a node stops itself at 80% of it. "
            "Check NTP on the node's host.",
        ),
    ]


def certificate_rules(selector: str) -> list[AlertRule]:
    rules = []
    for kind, metric in CERTIFICATE_METRICS.items():
        series = f"{metric}{selector}"
        who = " for SQL user {{ $labels.sql_user }}" if kind == "Client" else ""
        for suffix, days, severity in (
            ("ExpiresSoon", CERT_WARNING_DAYS, "warning"),
            ("ExpiresVerySoon", CERT_CRITICAL_DAYS, "critical"),
        ):
            rules.append(
                AlertRule(
                    f"Cockroach{kind}Certificate{suffix}",
                    f"({series} > 0) and ({series} - time() < {days} * {SECONDS_PER_DAY})",
                    "15m",
                    severity,
                    f"CockroachDB {kind.lower()} certificate{who} expires in less than {days} days",
                    f"The {kind.lower()} certificate seen by {{{{ $labels.pod }}}}{who} expires "
                    "in {{ $value | humanizeDuration }}. `pulumi up` re-issues certificates "
                    "inside certificates.renewBeforeDays; check `python -m operations certs`.",
                )
            )
    return rules


def backup_rules(selector: str) -> list[AlertRule]:
    return [
        AlertRule(
            "CockroachScheduledBackupFailed",
            f"sum(increase(schedules_BACKUP_failed{selector}[1h])) > 0",
            "5m",
            "critical",
            "A scheduled CockroachDB backup failed",
            "{{ $value }} scheduled backup runs failed in the last hour; the newest restorable "
            "backup is older than planned. See `SHOW SCHEDULES` and `SHOW JOBS`.",
        ),
        AlertRule(
            "CockroachBackupJobFailed",
            f"sum(increase(jobs_backup_resume_failed{selector}[1h])) > 0",
            "5m",
            "warning",
            "A CockroachDB backup job failed",
            "{{ $value }} backup jobs failed with a non-retryable error in the last hour.",
        ),
        AlertRule(
            "CockroachBackupJobPaused",
            f"max(jobs_backup_currently_paused{selector}) > 0",
            "1h",
            "warning",
            "A CockroachDB backup job has been paused for an hour",
            "{{ $value }} backup jobs are paused; resume them with `RESUME JOB` or the "
            "schedule stops producing backups.",
        ),
    ]


def alert_rule_groups(namespace: str, expected_nodes: int, tls: bool) -> list[dict[str, Any]]:
    """The PrometheusRule's groups; certificate alerts only where certificates exist."""
    selector = metric_selector(namespace)
    groups = [
        ("cockroachdb.availability", availability_rules(selector, expected_nodes)),
        ("cockroachdb.storage", storage_rules(selector)),
        ("cockroachdb.clock", clock_rules(selector)),
        ("cockroachdb.backups", backup_rules(selector)),
    ]
    if tls:
        groups.append(("cockroachdb.certificates", certificate_rules(selector)))
    return [{"name": name, "rules": [rule.as_dict() for rule in rules]} for name, rules in groups]


def scrape_endpoint(tls: bool, server_name: str) -> dict[str, Any]:
    """The ServiceMonitor endpoint; HTTPS verified against the cluster CA when secure.

    Both Services carry the same labels, so only targets of the headless Service are kept:
    every pod is scraped once.
    """
    endpoint: dict[str, Any] = {
        "port": METRICS_PORT_NAME,
        "path": METRICS_PATH,
        "interval": SCRAPE_INTERVAL,
        "scheme": "https" if tls else "http",
        "relabelings": [
            {
                "action": "keep",
                "sourceLabels": ["__meta_kubernetes_service_name"],
                "regex": HEADLESS_SERVICE,
            }
        ],
    }
    if tls:
        endpoint["tlsConfig"] = {
            "ca": {"secret": {"name": CA_SECRET, "key": CA_KEY}},
            "serverName": server_name,
        }
    return endpoint


def service_monitor_spec(selector: dict[str, str], tls: bool, server_name: str) -> dict[str, Any]:
    return {
        "selector": {"matchLabels": dict(selector)},
        "endpoints": [scrape_endpoint(tls, server_name)],
    }


def load_dashboard(path: Path = DASHBOARD_FILE) -> dict[str, Any]:
    """The dashboard document, read and checked to be JSON at declaration time."""
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def object_labels(extra: dict[str, str]) -> dict[str, str]:
    """Standard labels plus the configured ones (which Prometheus' selectors may require)."""
    return {**standard_labels("monitoring"), **extra}


def created_name(resource: pulumi.CustomResource, name: str) -> pulumi.Output[str]:
    """The object's name, known once it exists (custom resources have no typed metadata)."""
    return resource.id.apply(lambda _: name)


@dataclass(frozen=True)
class ClusterMonitoringArgs:
    namespace: pulumi.Input[str]
    namespace_name: str
    cluster_domain: str
    tls: bool
    prometheus_operator: bool
    grafana_dashboard: bool
    expected_nodes: int
    labels: dict[str, str] = field(default_factory=dict)
    selector: dict[str, str] = field(default_factory=selector_labels)


class ClusterMonitoring(pulumi.ComponentResource):
    """ServiceMonitor + PrometheusRule (Prometheus Operator) and a Grafana dashboard."""

    service_monitor_name: pulumi.Output[str] | None
    prometheus_rule_name: pulumi.Output[str] | None
    dashboard_name: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: ClusterMonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = object_labels(args.labels)

        def meta(resource: str, extra: dict[str, str] | None = None) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(
                name=resource, namespace=args.namespace, labels={**labels, **(extra or {})}
            )

        self.service_monitor_name = None
        self.prometheus_rule_name = None
        self.dashboard_name = None
        if args.prometheus_operator:
            server_name = service_fqdn(PUBLIC_SERVICE, args.namespace_name, args.cluster_domain)
            monitor = k8s.apiextensions.CustomResource(
                f"{name}-service-monitor",
                api_version=PROMETHEUS_API_VERSION,
                kind="ServiceMonitor",
                metadata=meta(SERVICE_MONITOR),
                spec=service_monitor_spec(args.selector, args.tls, server_name),
                opts=child,
            )
            rule = k8s.apiextensions.CustomResource(
                f"{name}-alerts",
                api_version=PROMETHEUS_API_VERSION,
                kind="PrometheusRule",
                metadata=meta(PROMETHEUS_RULE),
                spec={
                    "groups": alert_rule_groups(args.namespace_name, args.expected_nodes, args.tls)
                },
                opts=child,
            )
            self.service_monitor_name = created_name(monitor, SERVICE_MONITOR)
            self.prometheus_rule_name = created_name(rule, PROMETHEUS_RULE)
        if args.grafana_dashboard:
            dashboard = k8s.core.v1.ConfigMap(
                f"{name}-dashboard",
                metadata=meta(DASHBOARD_CONFIGMAP, {GRAFANA_DASHBOARD_LABEL: "1"}),
                data={DASHBOARD_KEY: json.dumps(load_dashboard(), indent=2)},
                opts=child,
            )
            self.dashboard_name = dashboard.metadata.name
        self.register_outputs(
            {
                "serviceMonitorName": self.service_monitor_name,
                "prometheusRuleName": self.prometheus_rule_name,
                "dashboardName": self.dashboard_name,
            }
        )
