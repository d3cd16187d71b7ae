"""A stand-in for a CockroachDB connection in provider tests: it answers ``SELECT version()``,
keeps cluster settings (read back in CockroachDB's spelling of durations) and records every
statement; ``serve`` hands it to a provider's admin session."""

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
        self.statements: list[str] = []
        self._row: tuple[Any, ...] | None = None

    def execute(self, statement: str) -> FakeCockroach:
        self.statements.append(statement)
        words = statement.split()
        if statement == "SELECT version()":
            self._row = (self.server,)
        elif statement.startswith("SET CLUSTER SETTING"):
            value = statement.split(" = ", 1)[1].strip("'")
            self.settings[words[3]] = SPELLED.get(value, value)
        elif statement.startswith("RESET CLUSTER SETTING"):
            self.settings.pop(words[3], None)
        elif statement.startswith("SHOW CLUSTER SETTING"):
            self._row = (self.settings.get(words[3], ""),)
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._row


def serve(monkeypatch: pytest.MonkeyPatch, provider: type, database: FakeCockroach) -> None:
    """Every admin session of ``provider`` talks to ``database``."""

    @contextlib.contextmanager
    def session(self: Any, props: Any) -> Iterator[FakeCockroach]:
        yield database

    monkeypatch.setattr(provider, "admin_session", session)
