"""The history table (one row per applied migration) and the single-row lease table.

Both live in the `public` schema of the target database and use only types and syntax that
CockroachDB and PostgreSQL share.
"""

from __future__ import annotations

from typing import Any

from psycopg import errors, sql

from migrator.lease import Lease
from migrator.results import AppliedMigration, CompanionStatus
from migrator.session import Session

HISTORY_TABLE = "schema_migrations"
LOCK_TABLE = "schema_migrations_lock"

HISTORY_DDL = sql.SQL(
    """CREATE TABLE IF NOT EXISTS public.schema_migrations (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL UNIQUE,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    duration_ms BIGINT NOT NULL,
    applied_by TEXT NOT NULL,
    statements BIGINT NOT NULL,
    companion_statements BIGINT NOT NULL,
    companion_done BIGINT NOT NULL,
    companion_status TEXT NOT NULL
        CHECK (companion_status IN ('none', 'skipped', 'pending', 'applied'))
)"""
)

LOCK_DDL = sql.SQL(
    """CREATE TABLE IF NOT EXISTS public.schema_migrations_lock (
    id INT PRIMARY KEY CHECK (id = 1),
    holder TEXT,
    acquired_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ
)"""
)

READ_HISTORY_SQL = (
    "SELECT id, version, checksum, applied_at, duration_ms, applied_by, statements, "
    "companion_statements, companion_done, companion_status "
    "FROM public.schema_migrations ORDER BY version"
)
RECORD_APPLIED_SQL = (
    "INSERT INTO public.schema_migrations (id, version, checksum, duration_ms, applied_by, "
    "statements, companion_statements, companion_done, companion_status) "
    "SELECT %(id)s, %(version)s, %(checksum)s, %(duration_ms)s, %(applied_by)s, %(statements)s, "
    "%(companion_statements)s, 0, %(companion_status)s FROM lease RETURNING id"
)
"""Run through Lease.fenced_write, which supplies the `lease` row while the lease is held."""
RECORD_PROGRESS_SQL = (
    "UPDATE public.schema_migrations SET companion_done = %s, companion_status = %s, "
    "duration_ms = duration_ms + %s WHERE id = %s"
)

_RACE_ERRORS = (errors.UniqueViolation, errors.DuplicateTable, errors.DuplicateObject)


def create_tables(session: Session, *, history: bool, lock: bool) -> list[str]:
    """Create the missing tables; a concurrent creator winning the race counts as success."""
    done: list[str] = []
    for needed, ddl, name in ((history, HISTORY_DDL, HISTORY_TABLE), (lock, LOCK_DDL, LOCK_TABLE)):
        if not needed:
            continue
        try:
            session.run(ddl, ddl=True)
        except _RACE_ERRORS:
            continue
        done.append(f"created table {name}")
    return done


def read_history(session: Session) -> tuple[AppliedMigration, ...]:
    rows = session.rows(READ_HISTORY_SQL)
    return tuple(_row_to_applied(row) for row in rows)


def _row_to_applied(row: tuple[Any, ...]) -> AppliedMigration:
    return AppliedMigration(
        id=str(row[0]),
        version=int(row[1]),
        checksum=str(row[2]),
        applied_at=row[3],
        duration_ms=int(row[4]),
        applied_by=str(row[5]),
        statements=int(row[6]),
        companion_statements=int(row[7]),
        companion_done=int(row[8]),
        companion_status=CompanionStatus(row[9]),
    )


def record_applied(
    session: Session,
    lease: Lease,
    *,
    migration_id: str,
    version: int,
    checksum: str,
    duration_ms: int,
    applied_by: str,
    statements: int,
    companion_statements: int,
    companion_status: CompanionStatus,
) -> None:
    """Record a migration inside its transaction, extending the lease in the same round trip;
    LeaseLostError, and nothing recorded, once another apply took the lease over."""
    lease.fenced_write(
        session,
        RECORD_APPLIED_SQL,
        {
            "id": migration_id,
            "version": version,
            "checksum": checksum,
            "duration_ms": duration_ms,
            "applied_by": applied_by,
            "statements": statements,
            "companion_statements": companion_statements,
            "companion_status": companion_status.value,
        },
    )


def record_companion_progress(
    session: Session, migration_id: str, done: int, *, finished: bool, extra_ms: int
) -> None:
    status = CompanionStatus.APPLIED if finished else CompanionStatus.PENDING
    session.run(RECORD_PROGRESS_SQL, (done, status.value, extra_ms, migration_id))
