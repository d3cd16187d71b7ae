"""Compare the history table with the directory: pending, drift and refusals (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from migrator.dialect import Dialect
from migrator.discovery import Migration, MigrationSet
from migrator.results import (
    AppliedMigration,
    CompanionStatus,
    PendingMigration,
    Plan,
    SkippedCompanion,
)


def pending_entry(migration: Migration) -> PendingMigration:
    return PendingMigration(
        id=migration.id,
        file_name=migration.file_name,
        checksum=migration.checksum,
        statements=len(migration.portable.statements),
        companion_statements=len(migration.companion_statements),
    )


def skipped_entry(migration: Migration) -> SkippedCompanion:
    return SkippedCompanion(
        id=migration.id,
        file_name=migration.companion.name if migration.companion else migration.file_name,
        statements=len(migration.companion_statements),
    )


def checksum_refusal(migration: Migration, row: AppliedMigration, app_user: str) -> str:
    applied_at = row.applied_at.strftime("%Y-%m-%d %H:%M:%S%z")
    refusal = (
        f"{migration.file_name}: changed after it was applied (applied {applied_at} with "
        f"checksum {row.checksum[:12]}, the files now hash to {migration.checksum[:12]}); "
        "revert the edit and put the change in a new migration"
    )
    if migration.uses_placeholders:
        refusal += (
            f". It uses {{{{app_user}}}}, here rendered for app user {app_user}: if only the "
            "app user changed, keep the one it was applied for, or grant to the new role in a "
            "new migration"
        )
    return refusal


def make_plan(
    migrations: MigrationSet,
    history: Sequence[AppliedMigration],
    dialect: Dialect,
    database: str,
    bootstrap: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> Plan:
    """What apply() would do; refusals are found here, before anything is written."""
    applied_by_id = {row.id: row for row in history}
    refusals: list[str] = []
    pending: list[PendingMigration] = []
    skipped: list[SkippedCompanion] = []
    resume: list[str] = []
    latest = max((row.version for row in history), default=-1)
    latest_id = next((row.id for row in history if row.version == latest), "")
    for migration in migrations:
        row = applied_by_id.get(migration.id)
        if row is not None:
            if row.checksum != migration.checksum:
                refusals.append(checksum_refusal(migration, row, migrations.app_user))
            elif (
                dialect.runs_companions
                and row.companion_status is CompanionStatus.PENDING
                and migration.companion_statements
            ):
                resume.append(migration.id)
            continue
        if migration.version <= latest:
            refusals.append(
                f"{migration.file_name}: not applied, but its version {migration.version:04d} is "
                f"not above the latest applied migration {latest_id}; renumber it after "
                f"{latest_id} (out-of-order migrations are refused)"
            )
            continue
        pending.append(pending_entry(migration))
        if migration.companion_statements and not dialect.runs_companions:
            skipped.append(skipped_entry(migration))
    drift = tuple(row.id for row in history if migrations.get(row.id) is None)
    return Plan(
        dialect=dialect,
        database=database,
        bootstrap=tuple(bootstrap),
        notes=tuple(notes),
        applied=tuple(history),
        pending=tuple(pending),
        resume_companions=tuple(resume),
        skipped_companions=tuple(skipped),
        drift=drift,
        refusals=tuple(refusals),
    )
