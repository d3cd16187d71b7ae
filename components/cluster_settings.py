"""The cluster's licence, settings and SQL audit, applied as config and read back on refresh.

``openalgo:clusterSettings`` (plus ``cluster.organization`` and the secret licence) are set with
``SET CLUSTER SETTING``; right after, each setting is read back, and that value (CockroachDB's own
spelling, e.g. ``00:05:00`` for ``'5m'``) is kept as ``applied``. A refresh reads them again into
``observed``: a setting changed by hand shows as a diff and the next `pulumi up` sets it back. A
setting dropped from config is reset to its default. ``openalgo:logging.sqlAudit`` turns on
CockroachDB's audit of every read and write of the trading tables.

On delete the settings and the audit are reset; the licence and organization stay, because the
cluster (and its volumes) outlive the stack and an unlicensed cluster is throttled. A server that
is not CockroachDB (the PostgreSQL stand-in of the tests) gets nothing; the resource says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from components.dynamic_provider import DeclaredProvider
from database.admin import ADMIN_KEYS, ADMIN_SECRET_KEYS, AdminAccess, is_cockroachdb
from rules.names import AUDITED_TABLES, DATABASE
from rules.settings import (
    LICENSE_SETTING,
    ORGANIZATION_SETTING,
    audit_sql,
    reset_setting_sql,
    set_setting_sql,
    show_setting_sql,
)


class ClusterSettingsError(Exception):
    """A setting could not be applied or read; the message holds no secret."""


def drifted(state: Mapping[str, Any]) -> list[str]:
    """Settings whose live value (``observed``) differs from what the last apply left."""
    applied = state.get("applied") or {}
    observed = state.get("observed") or {}
    return sorted(name for name in applied if name in observed and observed[name] != applied[name])


def declared_settings(props: Mapping[str, Any]) -> dict[str, Any]:
    """The settings to hold, the organization among them; the licence is handled apart."""
    settings = dict(props.get("settings") or {})
    if props.get("organization"):
        settings[ORGANIZATION_SETTING] = props["organization"]
    return settings


class ClusterSettingsProvider(DeclaredProvider):
    INPUT_KEYS = ("settings", "organization", "license", "audited_tables", *ADMIN_KEYS)
    SECRET_KEYS = ("license", *ADMIN_SECRET_KEYS)
    OUTPUT_KEYS = ("applied", "observed", "status")
    FAILURE = ClusterSettingsError
    WHAT = "cluster settings"

    def changes_beyond_inputs(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        return [f"settings.{name}" for name in drifted(olds)]

    def created(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "cluster-settings", self._apply({}, props)

    def updated(self, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return self._apply(olds, news)

    def refreshed(self, resource_id: str, props: dict[str, Any]) -> dict[str, Any] | None:
        applied = props.get("applied") or {}
        if not applied:
            return {}
        with self.admin_session(props) as connection:
            if not is_cockroachdb(connection):
                return {}
            return {"observed": self._read(connection, list(applied))}

    def deleted(self, props: dict[str, Any]) -> None:
        with self.admin_session(props) as connection:
            if not is_cockroachdb(connection):
                return
            for name in props.get("settings") or {}:
                connection.execute(reset_setting_sql(name))
            for table in props.get("audited_tables") or []:
                connection.execute(audit_sql(table, on=False))

    def _apply(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        with self.admin_session(news) as connection:
            if not is_cockroachdb(connection):
                return {"applied": {}, "observed": {}, "status": "skipped: not CockroachDB"}
            if news.get("license") and news.get("license") != olds.get("license"):
                connection.execute(set_setting_sql(LICENSE_SETTING, news["license"]))
            settings = declared_settings(news)
            for name, value in settings.items():
                connection.execute(set_setting_sql(name, value))
            for name in olds.get("settings") or {}:
                if name not in settings:
                    connection.execute(reset_setting_sql(name))
            audited = list(news.get("audited_tables") or [])
            for table in audited:
                connection.execute(audit_sql(table, on=True))
            for table in olds.get("audited_tables") or []:
                if table not in audited:
                    connection.execute(audit_sql(table, on=False))
            applied = self._read(connection, list(settings))
            return {"applied": applied, "observed": applied, "status": "applied"}

    @staticmethod
    def _read(connection: Any, names: list[str]) -> dict[str, str]:
        values = {}
        for name in names:
            row = connection.execute(show_setting_sql(name)).fetchone()
            values[name] = "" if row is None else str(row[0])
        return values


class ClusterSettingsResource(dynamic.Resource, module="openalgo", name="ClusterSettings"):
    status: pulumi.Output[str]


@dataclass(frozen=True)
class ClusterSettingsArgs:
    settings: Mapping[str, Any]
    organization: str | None
    license: str | None
    sql_audit: bool
    admin: AdminAccess


class ClusterSettings(pulumi.ComponentResource):
    """Holds the cluster settings the stack declares; apply after ``cockroach init``."""

    status: pulumi.Output[str]

    def __init__(
        self, name: str, args: ClusterSettingsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:cockroachdb:ClusterSettings", name, None, opts)
        resource = ClusterSettingsProvider().declare(
            ClusterSettingsResource,
            f"{name}-values",
            self,
            {
                "settings": dict(args.settings),
                "organization": args.organization,
                "license": args.license,
                "audited_tables": (
                    [f"{DATABASE}.{table}" for table in AUDITED_TABLES] if args.sql_audit else []
                ),
            },
            args.admin,
        )
        self.status = resource.status
        self.register_outputs({"status": self.status})
