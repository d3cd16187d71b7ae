"""Versioned SQL migrations for CockroachDB, usable with or without Pulumi.

Typical use::

    migrations = load_migrations("sql/migrations")
    result = Migrator(Target(admin_dsn=dsn, app_password=pw), migrations).apply()
"""

from database.redaction import redact_dsn
from migrator.dialect import Dialect, detect_dialect
from migrator.discovery import (
    Migration,
    MigrationSet,
    compute_checksum,
    load_migrations,
    migrations_from_texts,
)
from migrator.engine import Migrator, Target
from migrator.errors import (
    ApplyRefusedError,
    BootstrapError,
    ConnectionFailedError,
    InvalidMigrationsError,
    LeaseLostError,
    LockUnavailableError,
    MigrationFailedError,
    MigratorError,
    ServerError,
)
from migrator.lease import LeaseSettings
from migrator.results import (
    AppliedMigration,
    ApplyResult,
    CompanionStatus,
    MigrationRun,
    PendingMigration,
    Plan,
    SkippedCompanion,
)

__all__ = [
    "AppliedMigration",
    "ApplyRefusedError",
    "ApplyResult",
    "BootstrapError",
    "CompanionStatus",
    "ConnectionFailedError",
    "Dialect",
    "InvalidMigrationsError",
    "LeaseLostError",
    "LeaseSettings",
    "LockUnavailableError",
    "Migration",
    "MigrationFailedError",
    "MigrationRun",
    "MigrationSet",
    "Migrator",
    "MigratorError",
    "PendingMigration",
    "Plan",
    "ServerError",
    "SkippedCompanion",
    "Target",
    "compute_checksum",
    "detect_dialect",
    "load_migrations",
    "migrations_from_texts",
    "redact_dsn",
]
