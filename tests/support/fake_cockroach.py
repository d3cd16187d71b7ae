"""A stand-in for a CockroachDB connection in provider tests: it answers ``SELECT version()``,
keeps cluster settings (read back in CockroachDB's spelling of durations) and tables' audit modes
(as ``crdb_internal.tables`` shows them) and records every statement; ``serve`` hands it to a
provider's admin session."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

SPELLED = {"5m": "00:05:00"}
"""Values CockroachDB reads back in another spelling than they were set in."""


class FakeCockroach:
    def __init__(self, server: str = "CockroachDB CCL v25.3.1 (x86_64-pc-linux-gnu)") -> None:
        self.server = server
        self.settings: dict[str, str] = {}
        self.audit_modes: dict[str, str] = {}
        self.statements: list[str] = []
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, statement: str) -> FakeCockroach:
        self.statements.append(statement)
        words = statement.split()
        self._rows = []
        if statement == "SELECT version()":
            self._rows = [(self.server,)]
        elif statement.startswith("SET CLUSTER SETTING"):
            value = statement.split(" = ", 1)[1].strip("'")
            self.settings[words[3]] = SPELLED.get(value, value)
        elif statement.startswith("RESET CLUSTER SETTING"):
            self.settings.pop(words[3], None)
        elif statement.startswith("SHOW CLUSTER SETTING"):
            self._rows = [(self.settings.get(words[3], ""),)]
        elif statement.startswith("ALTER TABLE") and "EXPERIMENTAL_AUDIT" in statement:
            self.audit_modes[words[2]] = "DISABLED" if words[-1] == "OFF" else "READWRITE"
        elif "FROM crdb_internal.tables" in statement:
            self._rows = [
                (table, mode)
                for table, mode in self.audit_modes.items()
                if f"'{table}'" in statement
            ]
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._rows)


def serve(monkeypatch: pytest.MonkeyPatch, provider: type, database: FakeCockroach) -> None:
    """Every admin session of ``provider`` talks to ``database``."""

    @contextlib.contextmanager
    def session(self: Any, props: Any) -> Iterator[FakeCockroach]:
        yield database

    monkeypatch.setattr(provider, "admin_session", session)
