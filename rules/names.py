"""Fixed resource names and labels.

Names are explicit, never auto-named, so the original deployment's kubectl commands keep
working: ``kubectl -n trading exec -it cockroachdb-client -- ./cockroach sql ...``.
"""

from __future__ import annotations

STATEFULSET = "cockroachdb"
HEADLESS_SERVICE = "cockroachdb"
PUBLIC_SERVICE = "cockroachdb-public"
SERVICE_ACCOUNT = "cockroachdb"
DISRUPTION_BUDGET = "cockroachdb-budget"
LOG_CONFIG_MAP = "cockroachdb-log-config"
INIT_JOB = "cockroachdb-init"
CLIENT_POD = "cockroachdb-client"
NODE_CERTS_SECRET = "cockroachdb-node-certs"
ROOT_CLIENT_CERTS_SECRET = "cockroachdb-client-root"
APP_CLIENT_CERTS_SECRET = "cockroachdb-client-openalgo"
OPERATOR_CLIENT_CERTS_SECRET = "cockroachdb-client-operator"
"""What the standing client pod carries instead of root's certificate."""
CA_SECRET = "cockroachdb-ca"
"""The CA certificate alone, for readers such as Prometheus that must not see any key."""
DATA_VOLUME = "datadir"
OPENALGO_URLS_SECRET = "openalgo-database"
"""In OpenAlgo's namespace: its five *_DATABASE_URL variables, for envFrom."""
OPENALGO_CA_MOUNT_DIR = "/etc/openalgo/cockroachdb"
"""Where OpenAlgo's pods mount the CA-only Secret; the URLs' sslrootcert points there."""

SQL_PORT = 26257
HTTP_PORT = 8080
DATA_DIR = "/cockroach/cockroach-data"
CERTS_DIR = "/cockroach/cockroach-certs"
COCKROACH_BINARY = "/cockroach/cockroach"
TMP_DIR = "/tmp"
"""Inside the container, on an emptyDir: the root filesystem is read-only."""

DATABASE = "openalgo"
AUDITED_TABLES = (
    "orders",
    "trades",
    "positions",
    "position_history",
    "strategies",
    "risk_limits",
    "daily_risk_metrics",
    "audit_log",
)
"""The trading tables a compliance review reads the access of (openalgo:logging.sqlAudit);
ticks, candles and signals are left out for their volume."""
APP_USER = "openalgo"
ROOT_USER = "root"
OPERATOR_USER = "openalgo_operator"
"""The SQL role of the client pod's shell: reads the trading tables and the cluster's state,
changes nothing (created by sql/migrations/0009_operator_role.crdb.sql)."""

RUN_AS_USER = 1000
"""Non-root uid the cockroach image runs as under the restricted Pod Security profile."""

CLIENT_ROLE_LABEL = "openalgo.io/cockroachdb-client"
"""Pods carrying this label (init job, client pod) may reach the SQL port under the policy."""


def selector_labels() -> dict[str, str]:
    """Labels that pick the CockroachDB pods; never change them on a live cluster."""
    return {"app.kubernetes.io/name": "cockroachdb", "app.kubernetes.io/instance": STATEFULSET}


def standard_labels(
    component: str, version: str | None = None, name: str = "cockroachdb"
) -> dict[str, str]:
    """Recommended Kubernetes labels; only the database pods carry name ``cockroachdb``."""
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": STATEFULSET,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "openalgo",
        "app.kubernetes.io/managed-by": "pulumi",
    }
    if version:
        labels["app.kubernetes.io/version"] = version
    return labels
