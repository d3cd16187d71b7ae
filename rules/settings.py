"""CockroachDB cluster settings as config: which names are valid, which the program owns, and
the SQL that sets, reads back and resets them (parsed with CockroachDB's parser in the tests)."""

from __future__ import annotations

import re
from collections.abc import Mapping

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

SettingValue = str | int | float | bool


def setting_refusal(name: str, value: object) -> str | None:
    """Why ``name: value`` cannot go in openalgo:clusterSettings; None when it can."""
    if name in OWNED_SETTINGS:
        return f"{name!r}: set by the program; change {OWNED_SETTINGS[name]} instead"
    if not SETTING_NAME.fullmatch(name):
        return (
            f"{name!r}: a cluster setting name, dot-separated lower-case words "
            "(e.g. kv.snapshot_rebalance.max_rate)"
        )
    if not isinstance(value, str | int | float) or (isinstance(value, str) and "\x00" in value):
        return f"{name!r}: a string, number or true/false value"
    return None


def setting_literal(value: SettingValue) -> str:
    """A SQL literal CockroachDB accepts for a setting of the matching type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"


def set_setting_sql(name: str, value: SettingValue) -> str:
    return f"SET CLUSTER SETTING {name} = {setting_literal(value)}"


def reset_setting_sql(name: str) -> str:
    return f"RESET CLUSTER SETTING {name}"


def show_setting_sql(name: str) -> str:
    return f"SHOW CLUSTER SETTING {name}"


def audit_sql(table: str, on: bool) -> str:
    """Every read and write of ``table`` logged to the SENSITIVE_ACCESS channel (or no more)."""
    return f"ALTER TABLE {table} EXPERIMENTAL_AUDIT SET {'READ WRITE' if on else 'OFF'}"
