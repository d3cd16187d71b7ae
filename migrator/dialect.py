"""Which server the engine talks to, decided from `SELECT version()`."""

from __future__ import annotations

import enum


class Dialect(enum.Enum):
    POSTGRESQL = "postgresql"
    COCKROACHDB = "cockroachdb"

    @property
    def runs_companions(self) -> bool:
        """CockroachDB-only companion files run on CockroachDB and nowhere else."""
        return self is Dialect.COCKROACHDB

    @property
    def label(self) -> str:
        return "CockroachDB" if self is Dialect.COCKROACHDB else "PostgreSQL"


def detect_dialect(version_text: str) -> Dialect:
    return Dialect.COCKROACHDB if "CockroachDB" in version_text else Dialect.POSTGRESQL
