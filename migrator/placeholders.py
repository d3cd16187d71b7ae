"""Placeholders a migration file may use, filled in before the engine splits or hashes it.

`{{app_user}}` stands for the application role the migrations grant to, so the grants follow
`--app-user` (or the stack's app user) instead of a role name written into the file. It is
replaced by the role as an SQL identifier: bare when a bare name means the same role, double-quoted
otherwise. For the default role `openalgo` the rendered text is therefore byte for byte what a
file naming `openalgo` held, and so is its checksum: stacks that applied such a file see no change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_APP_USER = "openalgo"
APP_USER = "app_user"
PLACEHOLDER_RULE = "{{app_user}} (the application role, as an identifier)"

_PLACEHOLDER = re.compile(r"\{\{\s*(?P<name>[^{}]*?)\s*\}\}")
_BARE = re.compile(r"^[a-z_][a-z0-9_]*$")
_KEYWORDS = frozenset(
    """
    all analyse analyze and any array as asc asymmetric authorization between bigint binary bit
    boolean both case cast char character check coalesce collate collation column concurrently
    constraint create cross current_catalog current_date current_role current_schema
    current_time current_timestamp current_user dec decimal default deferrable desc distinct do
    else end except exists extract false family fetch float for foreign freeze from full grant
    greatest group grouping having ilike in index initially inner inout int integer intersect
    interval into is isnull join lateral leading least left like limit localtime localtimestamp
    national natural nchar none normalize not nothing notnull null nullif numeric of offset on
    only or order out outer overlaps overlay placing position precision primary real references
    returning right row select session_user setof similar smallint some substring symmetric
    system_user table tablesample then time timestamp to trailing treat trim true union unique
    user using values varchar variadic verbose when where window with
    """.split()  # noqa: SIM905 - a word list reads better than 130 quoted strings
)
"""Reserved, type/function-name and column-name keywords of PostgreSQL and CockroachDB: a role of
one of these names must be quoted. Quoting more than needed is harmless (same role)."""


@dataclass(frozen=True)
class Rendered:
    """A file's text with its placeholders filled in, and the problems found on the way."""

    text: str
    problems: tuple[str, ...]
    uses_placeholders: bool


def identifier(name: str) -> str:
    """`name` as an SQL identifier: bare when that means the same name, else double-quoted."""
    if _BARE.match(name) and name not in _KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def render(file_name: str, text: str, app_user: str) -> Rendered:
    """`text` with every `{{app_user}}` replaced; an unknown placeholder is a problem naming
    the file and line."""
    problems: list[str] = []

    def fill(match: re.Match[str]) -> str:
        if match["name"] == APP_USER:
            return identifier(app_user)
        line = text.count("\n", 0, match.start()) + 1
        problems.append(
            f"{file_name}: line {line}: unknown placeholder {match.group(0)}; "
            f"the only placeholder is {PLACEHOLDER_RULE}"
        )
        return match.group(0)

    rendered, count = _PLACEHOLDER.subn(fill, text)
    return Rendered(rendered, tuple(problems), count > 0)
