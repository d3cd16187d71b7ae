"""What plan(), status() and apply() report, as plain immutable values (JSON-ready via as_dict)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from migrator.dialect import Dialect


class CompanionStatus(enum.Enum):
    """State of a migration's CockroachDB-only part, as kept in the history table."""

    NONE = "none"
    SKIPPED = "skipped"
    PENDING = "pending"
    APPLIED = "applied"


@dataclass(frozen=True)
class AppliedMigration:
    """One row of the history table."""

    id: str
    version: int
    checksum: str
    applied_at: datetime
    duration_ms: int
    applied_by: str
    statements: int
    companion_statements: int
    companion_done: int
    companion_status: CompanionStatus

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "checksum": self.checksum,
            "applied_at": self.applied_at.isoformat(),
            "duration_ms": self.duration_ms,
            "applied_by": self.applied_by,
            "statements": self.statements,
            "companion": self.companion_status.value,
            "companion_statements": self.companion_statements,
            "companion_done": self.companion_done,
        }


@dataclass(frozen=True)
class PendingMigration:
    id: str
    file_name: str
    checksum: str
    statements: int
    companion_statements: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file": self.file_name,
            "checksum": self.checksum,
            "statements": self.statements,
            "companion_statements": self.companion_statements,
        }


@dataclass(frozen=True)
class SkippedCompanion:
    """CockroachDB-only statements that were not (or will not be) run on this server."""

    id: str
    file_name: str
    statements: int

    def describe(self, dialect: Dialect) -> str:
        return (
            f"{self.file_name}: {self.statements} CockroachDB-only statement(s) skipped "
            f"(server is {dialect.label})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "file": self.file_name, "statements": self.statements}


@dataclass(frozen=True)
class Plan:
    """The database compared with the directory; status() and plan() both return this."""

    dialect: Dialect
    database: str
    bootstrap: tuple[str, ...]
    notes: tuple[str, ...]
    applied: tuple[AppliedMigration, ...]
    pending: tuple[PendingMigration, ...]
    resume_companions: tuple[str, ...]
    skipped_companions: tuple[SkippedCompanion, ...]
    drift: tuple[str, ...]
    refusals: tuple[str, ...]
    database_exists: bool = True

    @property
    def has_work(self) -> bool:
        return bool(self.bootstrap or self.pending or self.resume_companions)

    @property
    def applied_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.applied)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect.value,
            "database": self.database,
            "database_exists": self.database_exists,
            "bootstrap": list(self.bootstrap),
            "notes": list(self.notes),
            "applied": [m.as_dict() for m in self.applied],
            "pending": [m.as_dict() for m in self.pending],
            "resume_companions": list(self.resume_companions),
            "skipped_companions": [s.as_dict() for s in self.skipped_companions],
            "drift": list(self.drift),
            "refusals": list(self.refusals),
        }


@dataclass(frozen=True)
class MigrationRun:
    """A migration applied (or whose companion was completed) by this run."""

    id: str
    file_name: str
    statements: int
    companion_statements: int
    companion_status: CompanionStatus
    duration_ms: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file": self.file_name,
            "statements": self.statements,
            "companion": self.companion_status.value,
            "companion_statements": self.companion_statements,
            "duration_ms": self.duration_ms,
        }


@dataclass(frozen=True)
class ApplyResult:
    """What apply() did. `ddl_statements` counts every schema or role change it sent (bootstrap
    included), `other_statements` the migration statements that are not DDL (INSERT, UPDATE,
    SET, ...); the engine's own bookkeeping counts in neither."""

    dialect: Dialect
    database: str
    bootstrap: tuple[str, ...]
    notes: tuple[str, ...]
    applied: tuple[MigrationRun, ...]
    already_applied: tuple[str, ...]
    skipped_companions: tuple[SkippedCompanion, ...]
    drift: tuple[str, ...]
    ddl_statements: int
    other_statements: int
    round_trips: int
    connections: int

    @property
    def applied_ids(self) -> tuple[str, ...]:
        return tuple(run.id for run in self.applied)

    @property
    def all_applied_ids(self) -> tuple[str, ...]:
        """Ids recorded in the history after this run, in version order."""
        return tuple(sorted({*self.already_applied, *self.applied_ids}))

    def as_dict(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect.value,
            "database": self.database,
            "bootstrap": list(self.bootstrap),
            "notes": list(self.notes),
            "applied": [run.as_dict() for run in self.applied],
            "already_applied": list(self.already_applied),
            "skipped_companions": [s.as_dict() for s in self.skipped_companions],
            "drift": list(self.drift),
            "ddl_statements": self.ddl_statements,
            "other_statements": self.other_statements,
            "round_trips": self.round_trips,
            "connections": self.connections,
        }
