"""Exceptions the engine raises; every message names the file, object or setting involved.

The classes split along what a caller does next: `InvalidMigrationsError` and
`ApplyRefusedError` need a person to fix files or the database; `ConnectionFailedError`,
`LockUnavailableError` and `MigrationFailedError` describe a run that did not complete (the
history keeps every migration that did).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migrator.results import ApplyResult


class MigratorError(Exception):
    """Base class of every error the engine raises on purpose."""


class InvalidMigrationsError(MigratorError):
    """The migrations directory breaks a naming, ordering or syntax rule."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid migrations:\n  " + "\n  ".join(problems))
        self.problems = tuple(problems)


class ApplyRefusedError(MigratorError):
    """The database and the directory disagree in a way only a person should resolve."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("refusing to apply, nothing was changed:\n  " + "\n  ".join(reasons))
        self.reasons = tuple(reasons)


class ConnectionFailedError(MigratorError):
    """The server could not be reached or rejected the login (DSN shown without password)."""


class LockUnavailableError(MigratorError):
    """Another apply holds the migration lease and did not release it in time."""


class LeaseLostError(MigratorError):
    """This apply's lease expired and was taken over; it stopped before doing more."""


class ServerError(MigratorError):
    """The server failed one of the engine's own queries (catalogs, history, lease)."""


class BootstrapError(MigratorError):
    """Creating or checking the database, the role or the zone configuration failed."""


class MigrationFailedError(MigratorError):
    """A statement of one migration failed; that migration was rolled back, earlier ones stay."""

    def __init__(
        self,
        message: str,
        *,
        migration_id: str,
        file_name: str,
        statement_index: int | None,
        line: int | None,
        sqlstate: str | None,
        partial: ApplyResult | None = None,
    ) -> None:
        super().__init__(message)
        self.migration_id = migration_id
        self.file_name = file_name
        self.statement_index = statement_index
        self.line = line
        self.sqlstate = sqlstate
        self.partial = partial
