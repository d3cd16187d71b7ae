"""CockroachDB's ``log.yaml`` for the nodes: operations to stderr, audit to files that stay.

Operations (DEV, OPS, HEALTH, STORAGE, schema changes, rebalancing) go to stderr at INFO, so
``kubectl logs`` works as before. The SQL audit channel (SENSITIVE_ACCESS: every read and write of
an audited table, see ``openalgo:logging.sqlAudit``) and the security channels (sessions, user
and privilege changes) go to files on the data volume, written unbuffered so an entry survives a
crash, and kept up to 1 GiB per group: they outlive a pod restart, unlike stderr. The file is the
same for every stack, so switching the audit on or off never restarts a node.
"""

from __future__ import annotations

import hashlib
from typing import Any

import yaml

from rules.names import DATA_DIR

LOG_CONFIG_DIR = "/cockroach/log-config"
LOG_CONFIG_FILE = "log.yaml"
LOG_DIR = f"{DATA_DIR}/logs"
AUDIT_GROUP = "sql-audit"
STDERR_CHANNELS = ("DEV", "OPS", "HEALTH", "STORAGE", "SQL_SCHEMA", "KV_DISTRIBUTION")


def log_config() -> dict[str, Any]:
    return {
        "file-defaults": {
            "dir": LOG_DIR,
            "max-file-size": "10MiB",
            "max-group-size": "100MiB",
            "file-permissions": "0640",
        },
        "sinks": {
            "stderr": {"channels": list(STDERR_CHANNELS), "filter": "INFO"},
            "file-groups": {
                AUDIT_GROUP: {
                    "channels": ["SENSITIVE_ACCESS"],
                    "buffered-writes": False,
                    "max-group-size": "1GiB",
                },
                "security": {
                    "channels": ["SESSIONS", "USER_ADMIN", "PRIVILEGES"],
                    "buffered-writes": False,
                    "max-group-size": "1GiB",
                },
            },
        },
        "capture-stray-errors": {"enable": True, "dir": LOG_DIR},
    }


def log_config_yaml() -> str:
    return yaml.safe_dump(log_config(), sort_keys=False)


def log_config_sha256() -> str:
    """Changes when the file does, so the nodes roll onto a new one."""
    return hashlib.sha256(log_config_yaml().encode()).hexdigest()


def audit_log_path() -> str:
    """Where a node writes its audit entries (cockroach-<group>.log, the current file)."""
    return f"{LOG_DIR}/cockroach-{AUDIT_GROUP}.log"
