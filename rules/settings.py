"""CockroachDB cluster settings as config: which names are valid, which the program owns, and
the SQL that sets, reads back and resets them (parsed with CockroachDB's parser in the tests)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

SETTING_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
LICENSE_SETTING = "enterprise.license"
ORGANIZATION_SETTING = "cluster.organization"
OWNED_SETTINGS: Mapping[str, str] = {
    "cluster.preserve_downgrade_option": "the upgrade guard (openalgo:upgrade.finalize)",
    "version": "the upgrade guard (openalgo:upgrade.finalize)",
    LICENSE_SETTING: "openalgo:license",
    ORGANIZATION_SETTING: "openalgo:organization",
}
"""Settings another part of the program sets, with where to change them instead."""
SENSITIVE_SETTINGS = frozenset(
    {
        "cloudstorage.http.custom_ca",
        "cluster.secret",
        LICENSE_SETTING,
        "server.host_based_authentication.configuration",
        "server.identity_map.configuration",
        "server.jwt_authentication.issuers.custom_ca",
        "server.ldap_authentication.client.tls_certificate",
        "server.ldap_authentication.client.tls_key",
        "server.ldap_authentication.domain.custom_ca",
        "server.oidc_authentication.client_id",
        "server.oidc_authentication.client_secret",
        "server.oidc_authentication.provider.custom_ca",
    }
)
"""CockroachDB's sensitive settings (those ``server.redact_sensitive_settings.enabled`` hides):
their values are kept as secrets and never read back into the state."""
AUDIT_PREFIX = "audit:"
"""Marks a table's audit mode among the values read back, apart from the settings' names."""

SettingValue = str | int | float | bool


def setting_refusal(name: str, value: object) -> str | None:
    """Why ``name: value`` cannot go in openalgo:clusterSettings; None when it can."""
    if name in OWNED_SETTINGS:
        shown = "" if name in SENSITIVE_SETTINGS else f" = {value!r}"
        return f"{name!r}{shown}: set by the program; change {OWNED_SETTINGS[name]} instead"
    if not SETTING_NAME.fullmatch(name):
        return (
            f"{name!r}: a cluster setting name, dot-separated lower-case words "
            "(e.g. kv.snapshot_rebalance.max_rate)"
        )
    if (
        not isinstance(value, str | int | float)
        or (isinstance(value, str) and "\x00" in value)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        return f"{name!r}: a string, finite number or true/false value"
    return None


def string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def setting_literal(value: SettingValue) -> str:
    """A SQL literal CockroachDB accepts for a setting of the matching type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return string_literal(value)


def secret_readback(declared: SettingValue, read: str) -> str:
    """What the state keeps of a secret setting read back: whether it holds the declared value,
    never the value."""
    if read == "":
        return "unset"
    return "as declared" if read == str(declared) else "another value"


def set_setting_sql(name: str, value: SettingValue) -> str:
    return f"SET CLUSTER SETTING {name} = {setting_literal(value)}"


def reset_setting_sql(name: str) -> str:
    return f"RESET CLUSTER SETTING {name}"


def show_setting_sql(name: str) -> str:
    return f"SHOW CLUSTER SETTING {name}"


def audit_modes_sql(tables: Sequence[str]) -> str:
    """Each live ``database.table`` of ``tables`` with its audit mode (READWRITE or DISABLED)."""
    names = ", ".join(string_literal(table) for table in tables)
    return (
        "SELECT database_name || '.' || name, audit_mode FROM crdb_internal.tables "
        "WHERE schema_name = 'public' AND drop_time IS NULL "
        f"AND database_name || '.' || name IN ({names})"
    )


def audit_sql(table: str, on: bool) -> str:
    """Every read and write of ``table`` logged to the SENSITIVE_ACCESS channel (or no more)."""
    return f"ALTER TABLE {table} EXPERIMENTAL_AUDIT SET {'READ WRITE' if on else 'OFF'}"
