"""The cluster's licence, settings and SQL audit, applied as config and read back on refresh.

``openalgo:clusterSettings`` (plus ``cluster.organization`` and the secret licence) are set with
``SET CLUSTER SETTING``; right after, each is read back and the reading kept as ``applied``:
a plain setting in CockroachDB's own spelling (e.g. ``00:05:00`` for ``'5m'``), a secret one (the
licence, or every setting when ``openalgo:clusterSettings`` is a secret) only as whether it holds
the declared value, and each audited table's audit mode. A refresh reads them again into
``observed``: a setting or an audit changed by hand shows as a diff and the next `pulumi up` sets
it back (the licence included). Comparing two readings, never a reading with config, keeps a
value CockroachDB spells or redacts its own way from diffing forever. A setting dropped from
config is reset to its default. ``openalgo:logging.sqlAudit`` turns on CockroachDB's audit of
every read and write of the trading tables.

On delete the settings and the audit are reset; the licence and organization stay, because the
cluster (and its volumes) outlive the stack and an unlicensed cluster is throttled; so does a
licence removed from config. A server that is not CockroachDB (the PostgreSQL stand-in of the
tests) gets nothing; the resource says so in its status.
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
    AUDIT_PREFIX,
    LICENSE_SETTING,
    ORGANIZATION_SETTING,
    audit_modes_sql,
    audit_sql,
    reset_setting_sql,
    secret_readback,
    set_setting_sql,
    show_setting_sql,
)


class ClusterSettingsError(Exception):
    """A setting could not be applied or read; the message holds no secret."""


def drifted(state: Mapping[str, Any]) -> list[str]:
    """Values whose live reading (``observed``) differs from what the last apply left."""
    applied = state.get("applied") or {}
    observed = state.get("observed") or {}
    return sorted(name for name in applied if name in observed and observed[name] != applied[name])


def declared_settings(props: Mapping[str, Any]) -> dict[str, Any]:
    """The plain settings to hold, the organization among them."""
    settings = dict(props.get("settings") or {})
    if props.get("organization"):
        settings[ORGANIZATION_SETTING] = props["organization"]
    return settings


def secret_settings(props: Mapping[str, Any]) -> dict[str, Any]:
    """The settings whose values are secrets, the licence among them."""
    settings = dict(props.get("secret_settings") or {})
    if props.get("license"):
        settings[LICENSE_SETTING] = props["license"]
    return settings


def held_names(props: Mapping[str, Any]) -> set[str]:
    """Every setting ``props`` holds from config, which a delete or a removal resets."""
    return set(props.get("settings") or {}) | set(props.get("secret_settings") or {})


class ClusterSettingsProvider(DeclaredProvider):
    INPUT_KEYS = (
        "settings",
        "secret_settings",
        "organization",
        "license",
        "audited_tables",
        *ADMIN_KEYS,
    )
    SECRET_KEYS = ("secret_settings", "license", *ADMIN_SECRET_KEYS)
    OUTPUT_KEYS = ("applied", "observed", "status")
    FAILURE = ClusterSettingsError
    WHAT = "cluster settings"

    def changes_beyond_inputs(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        return [f"applied.{name}" for name in drifted(olds)]

    def created(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "cluster-settings", self._apply({}, props)

    def updated(self, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return self._apply(olds, news)

    def refreshed(self, resource_id: str, props: dict[str, Any]) -> dict[str, Any] | None:
        if not props.get("applied"):
            return {}
        with self.admin_session(props) as connection:
            if not is_cockroachdb(connection):
                return {}
            return {"observed": self._read(connection, props)}

    def deleted(self, props: dict[str, Any]) -> None:
        with self.admin_session(props) as connection:
            if not is_cockroachdb(connection):
                return
            for name in sorted(held_names(props)):
                connection.execute(reset_setting_sql(name))
            for table in props.get("audited_tables") or []:
                connection.execute(audit_sql(table, on=False))

    def _apply(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        with self.admin_session(news) as connection:
            if not is_cockroachdb(connection):
                return {"applied": {}, "observed": {}, "status": "skipped: not CockroachDB"}
            license_drifted = LICENSE_SETTING in drifted(olds)
            if news.get("license") and (news["license"] != olds.get("license") or license_drifted):
                connection.execute(set_setting_sql(LICENSE_SETTING, news["license"]))
            held = {**declared_settings(news), **dict(news.get("secret_settings") or {})}
            for name, value in held.items():
                connection.execute(set_setting_sql(name, value))
            for name in sorted(held_names(olds) - set(held)):
                connection.execute(reset_setting_sql(name))
            audited = list(news.get("audited_tables") or [])
            for table in audited:
                connection.execute(audit_sql(table, on=True))
            for table in olds.get("audited_tables") or []:
                if table not in audited:
                    connection.execute(audit_sql(table, on=False))
            applied = self._read(connection, news)
            return {"applied": applied, "observed": applied, "status": "applied"}

    @staticmethod
    def _read(connection: Any, props: Mapping[str, Any]) -> dict[str, str]:
        """The live values of what ``props`` declares: plain settings as CockroachDB spells
        them, secret ones only as whether they hold the declared value, audited tables' modes."""

        def show(name: str) -> str:
            row = connection.execute(show_setting_sql(name)).fetchone()
            return "" if row is None else str(row[0])

        values = {name: show(name) for name in declared_settings(props)}
        for name, declared in secret_settings(props).items():
            values[name] = secret_readback(declared, show(name))
        audited = list(props.get("audited_tables") or [])
        if audited:
            modes = dict.fromkeys(audited, "")
            for table, mode in connection.execute(audit_modes_sql(audited)).fetchall():
                modes[str(table)] = str(mode)
            values |= {f"{AUDIT_PREFIX}{table}": mode for table, mode in modes.items()}
        return values


class ClusterSettingsResource(dynamic.Resource, module="openalgo", name="ClusterSettings"):
    status: pulumi.Output[str]


@dataclass(frozen=True)
class ClusterSettingsArgs:
    settings: Mapping[str, Any]
    settings_secret: bool
    """The settings are a secret in config: all of them are kept as ``secret_settings``."""
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
                "settings": {} if args.settings_secret else dict(args.settings),
                "secret_settings": (
                    dict(args.settings) if args.settings_secret and args.settings else None
                ),
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
