"""Entry point: validate the stack config, then declare CockroachDB for OpenAlgo."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime.config import (
    CONFIG,
    get_config_env,
    get_config_secret_keys_env,
    is_config_secret,
)

from components.trading_database import TradingDatabase
from rules.config import ConfigError, StackConfig, load_stack_config
from rules.names import SQL_PORT


def kubeconfig_present() -> bool:
    paths = os.environ.get("KUBECONFIG", "").split(os.pathsep)
    paths.append(str(Path.home() / ".kube" / "config"))
    return any(path and Path(path).is_file() for path in paths)


def read_config() -> StackConfig:
    values = {**get_config_env(), **CONFIG.get()}
    secret_keys = set(get_config_secret_keys_env()) | {k for k in values if is_config_secret(k)}
    try:
        return load_stack_config(
            pulumi.get_stack(),
            values,
            kubeconfig_present=kubeconfig_present(),
            secret_keys=secret_keys,
        )
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None


def kubernetes_provider(config: StackConfig) -> k8s.Provider:
    if config.kubernetes_mode == "render":
        pulumi.log.info(
            f"no cluster targeted: rendering manifests to {config.render_directory}/ "
            "(Secrets in there hold private keys; the directory is git-ignored)"
        )
        return k8s.Provider("kubernetes", render_yaml_to_directory=config.render_directory)
    return k8s.Provider("kubernetes", context=config.kubernetes.context)


config = read_config()
database = TradingDatabase(
    "openalgo",
    config,
    opts=pulumi.ResourceOptions(providers={"kubernetes": kubernetes_provider(config)}),
)

pulumi.export("namespace", database.namespace)
pulumi.export("publicHost", database.public_host)
pulumi.export("sqlPort", SQL_PORT)
pulumi.export("adminUiCommand", database.admin_ui_command)
pulumi.export("sqlShellCommand", database.sql_shell_command)
pulumi.export("appConnectionString", database.app_connection_string)
pulumi.export("kubernetesMode", config.kubernetes_mode)
if database.schema is not None:
    pulumi.export("schemaMigrations", database.schema.applied_ids)
    pulumi.export("schemaMigrationsDeclared", database.schema.migration_ids)
if database.openalgo is not None:
    pulumi.export("openalgoNamespace", database.openalgo.namespace)
    pulumi.export("openalgoDatabaseUrls", database.openalgo.urls)
if database.monitoring.prometheus_rule_name is not None:
    pulumi.export("prometheusRule", database.monitoring.prometheus_rule_name)
if database.monitoring.dashboard_name is not None:
    pulumi.export("grafanaDashboard", database.monitoring.dashboard_name)

# Everything built so far lives until the process exits, and the engine waits for that exit:
# frozen, it is left out of CPython's collections, the last of which would otherwise walk every
# module and resource object (about 0.3 s of each `pulumi up`).
gc.freeze()
