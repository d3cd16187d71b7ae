"""The nodes' log.yaml: operations on stderr, the SQL audit and security channels in files."""

from __future__ import annotations

from typing import Any

import yaml
from stack_harness import RenderedStack, run_stack_file

from components.node_logging import (
    LOG_DIR,
    audit_log_path,
    log_config,
    log_config_sha256,
    log_config_yaml,
)


def node(stack: RenderedStack) -> dict[str, Any]:
    spec: dict[str, Any] = stack.one("kubernetes:apps/v1:StatefulSet").manifest()["spec"]
    return spec


def test_nodes_read_the_log_config_from_the_mounted_config_map(prod: RenderedStack) -> None:
    [container] = node(prod)["template"]["spec"]["containers"]
    assert "--log-config-file=/cockroach/log-config/log.yaml" in container["args"]
    assert not [arg for arg in container["args"] if arg.startswith("--logtostderr")]
    assert {"name": "log-config", "mountPath": "/cockroach/log-config", "readOnly": True} in (
        container["volumeMounts"]
    )


def test_the_config_map_holds_the_log_yaml(prod: RenderedStack) -> None:
    config_map = prod.one("kubernetes:core/v1:ConfigMap", "cluster-log-config").manifest()
    assert config_map["metadata"]["name"] == "cockroachdb-log-config"
    assert yaml.safe_load(config_map["data"]["log.yaml"]) == log_config()


def test_operations_go_to_stderr_at_info() -> None:
    stderr = log_config()["sinks"]["stderr"]
    assert stderr["filter"] == "INFO"
    assert {"OPS", "HEALTH", "STORAGE"} <= set(stderr["channels"])
    assert "SENSITIVE_ACCESS" not in stderr["channels"]


def test_the_audit_channel_goes_unbuffered_to_a_file_on_the_data_volume() -> None:
    config = log_config()
    audit = config["sinks"]["file-groups"]["sql-audit"]
    assert (audit["channels"], audit["buffered-writes"]) == (["SENSITIVE_ACCESS"], False)
    assert config["file-defaults"]["dir"] == LOG_DIR == "/cockroach/cockroach-data/logs"
    assert audit_log_path() == "/cockroach/cockroach-data/logs/cockroach-sql-audit.log"


def test_a_changed_log_config_rolls_the_nodes(prod: RenderedStack) -> None:
    annotations = node(prod)["template"]["metadata"]["annotations"]
    assert annotations["openalgo.io/log-config-sha256"] == log_config_sha256()


def test_switching_the_audit_on_restarts_no_node(prod: RenderedStack) -> None:
    audited = run_stack_file("prod", logging={"sqlAudit": False})
    assert node(audited)["template"] == node(prod)["template"]


def test_the_log_yaml_is_plain_yaml_in_a_stable_order() -> None:
    assert log_config_yaml().splitlines()[0] == "file-defaults:"
    assert yaml.safe_load(log_config_yaml()) == log_config()
