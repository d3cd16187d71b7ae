"""plan(), status() and apply(): the engine that runs a MigrationSet against one server.

apply() reads first and writes only when there is work: it plans without any write (refusals stop
the run before bootstrap), bootstraps what is missing, takes the lease, re-plans under it (another
apply may have finished meanwhile) and applies each pending migration in its own transaction
together with its history row. CockroachDB-only companion statements run afterwards, one by one
outside a transaction, with their progress recorded so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import LiteralString

import psycopg
from psycopg import sql

from database.redaction import dsn_problem, dsn_secrets, redact_dsn, scrub
from migrator.bootstrap import (
    BootstrapPlan,
    ServerFacts,
    check_identifier,
    check_role_name,
    drop_database_statement,
    plan_bootstrap,
    read_facts,
    run_bootstrap,
)
from migrator.dialect import Dialect, detect_dialect
from migrator.discovery import Migration, MigrationSet
from migrator.errors import (
    ApplyRefusedError,
    ConnectionFailedError,
    MigrationFailedError,
    ServerError,
)
from migrator.history import (
    HISTORY_TABLE,
    LOCK_TABLE,
    create_tables,
    read_history,
    record_applied,
    record_companion_progress,
)
from migrator.lease import Lease, LeaseSettings, timeout_literal
from migrator.placeholders import DEFAULT_APP_USER
from migrator.planning import make_plan, skipped_entry
from migrator.results import (
    AppliedMigration,
    ApplyResult,
    CompanionStatus,
    MigrationRun,
    Plan,
    SkippedCompanion,
)
from migrator.session import Counters, Session, connect
from migrator.splitting import Statement

SERIALIZATION_ATTEMPTS = 3
COCKROACH_SESSION_SETTINGS: tuple[LiteralString, ...] = ("SET autocommit_before_ddl = false",)
"""CockroachDB 25.x commits before each DDL by default; a migration must stay one transaction."""
SESSION_RESET: tuple[LiteralString, ...] = ("RESET ALL", "RESET ROLE")
"""Run before each migration, so a `SET search_path` (or any setting) in one migration cannot
change where the next one puts its tables. Both PostgreSQL and CockroachDB accept these; RESET
ALL leaves the role alone on PostgreSQL, hence RESET ROLE."""


def local_lock_timeout_statement(seconds: float) -> sql.Composed:
    """Bounds a migration's own lock waits for its transaction only (Migrator lock_timeout_s)."""
    return sql.SQL("SET LOCAL lock_timeout = {}").format(timeout_literal(seconds))


@dataclass(frozen=True)
class Target:
    """Where and as whom to migrate. Secrets are left out of repr()."""

    admin_dsn: str = field(repr=False)
    database: str = "openalgo"
    app_user: str = DEFAULT_APP_USER
    app_password: str | None = field(default=None, repr=False)
    replication_factor: int | None = None
    connect_options: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = dsn_problem(self.admin_dsn)
        if problem is not None:
            raise ValueError(f"admin DSN {redact_dsn(self.admin_dsn)} is not valid: {problem}")
        check_identifier("database", self.database)
        check_role_name("app_user", self.app_user)
        if self.replication_factor is not None and self.replication_factor < 1:
            raise ValueError(
                f"replication_factor {self.replication_factor} is not allowed: use 1 or more"
            )
        if self.app_password == "":
            raise ValueError("app_password is empty: pass None for a role without password")

    @property
    def secrets(self) -> tuple[str, ...]:
        app = (self.app_password,) if self.app_password else ()
        return (*dsn_secrets(self.admin_dsn), *app)


@dataclass(frozen=True)
class _State:
    facts: ServerFacts
    bootstrap: BootstrapPlan
    history: tuple[AppliedMigration, ...]
    history_table: bool
    lock_table: bool


@contextlib.contextmanager
def _server_errors(action: str, secrets: tuple[str, ...]) -> Iterator[None]:
    """Turn a failure of the engine's own queries into ServerError, without secrets."""
    try:
        yield
    except psycopg.Error as exc:
        message = exc.diag.message_primary or str(exc).strip() or type(exc).__name__
        state = f" [SQLSTATE {exc.sqlstate}]" if exc.sqlstate else ""
        raise ServerError(f"{action}: {scrub(message, secrets)}{state}") from None


def _holder_name() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()} run {uuid.uuid4().hex[:8]}"


class _ScriptFailedError(Exception):
    """The round trip of BEGIN, the lease check and a file's statements failed and its
    transaction rolled back: the file runs again statement by statement, which names the failing
    statement or engine step (or succeeds, if what failed was transient)."""


class Migrator:
    """Runs `migrations` against `target`; every public method opens and closes its connections."""

    def __init__(
        self,
        target: Target,
        migrations: MigrationSet,
        *,
        lease: LeaseSettings | None = None,
        application_name: str = "openalgo-migrator",
        lock_timeout_s: float | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.target = target
        self.migrations = migrations.for_app_user(target.app_user)
        self._lease_settings = lease or LeaseSettings()
        self._application_name = application_name
        self._lock_timeout_s = lock_timeout_s
        self._log = logger or logging.getLogger("migrator")

    def _connect(self, counters: Counters, *, target_database: bool) -> Session:
        return connect(
            self.target.admin_dsn,
            counters,
            dbname=self.target.database if target_database else None,
            options=self.target.connect_options,
            application_name=self._application_name,
            secrets=self.target.secrets,
        )

    def _open_first(self, counters: Counters) -> tuple[Session, bool]:
        """A session on the target database, or on the DSN's own database if that one is missing."""
        try:
            return self._connect(counters, target_database=True), True
        except ConnectionFailedError as on_target:
            admin = self._connect(counters, target_database=False)
            exists = admin.rows(
                "SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", (self.target.database,)
            )
            if exists:
                admin.close()
                try:  # another apply may have created it between the two checks
                    return self._connect(counters, target_database=True), True
                except ConnectionFailedError:
                    raise on_target from None
            return admin, False

    def _read_state(self, session: Session, on_target: bool) -> _State:
        target = self.target
        facts = read_facts(
            session,
            database=target.database,
            role=target.app_user,
            password=target.app_password,
            replication_factor=target.replication_factor,
        )
        history: tuple[AppliedMigration, ...] = ()
        history_table = lock_table = False
        if on_target and facts.database_exists:
            history_table = HISTORY_TABLE in facts.engine_tables
            lock_table = LOCK_TABLE in facts.engine_tables
            if history_table:
                history = read_history(session)
        bootstrap = plan_bootstrap(
            facts,
            role=target.app_user,
            password=target.app_password,
            replication_factor=target.replication_factor,
        )
        return _State(facts, bootstrap, history, history_table, lock_table)

    def _plan(self, state: _State) -> Plan:
        steps = list(state.bootstrap.describe(self.target.database, self.target.app_user))
        if not state.history_table:
            steps.append(f"create table {HISTORY_TABLE}")
        if not state.lock_table:
            steps.append(f"create table {LOCK_TABLE}")
        plan = make_plan(
            self.migrations,
            state.history,
            state.facts.dialect,
            self.target.database,
            bootstrap=steps,
            notes=state.bootstrap.notes,
        )
        return replace(
            plan,
            refusals=state.bootstrap.refusals + plan.refusals,
            database_exists=state.facts.database_exists,
        )

    def plan(self) -> Plan:
        """What apply() would do now. Reads only."""
        counters = Counters()
        with _server_errors(f"reading the state of {self.target.database}", self.target.secrets):
            session, on_target = self._open_first(counters)
            try:
                return self._plan(self._read_state(session, on_target))
            finally:
                session.close()

    def status(self) -> Plan:
        """Applied, pending and drifted migrations (the same read-only report as plan())."""
        return self.plan()

    def apply(self) -> ApplyResult:
        """Bootstrap if needed and apply every pending migration; a no-op run writes nothing."""
        with _server_errors(f"applying migrations to {self.target.database}", self.target.secrets):
            return self._apply()

    def _apply(self) -> ApplyResult:
        counters = Counters()
        sessions: list[Session] = []
        try:
            first, on_target = self._open_first(counters)
            sessions.append(first)
            state = self._read_state(first, on_target)
            plan = self._plan(state)
            if plan.refusals:
                raise ApplyRefusedError(list(plan.refusals))
            if not plan.has_work:
                self._log.info("%s: nothing to apply", self.target.database)
                return self._result(plan, (), (), counters)
            dialect = state.facts.dialect
            done = run_bootstrap(
                first,
                state.bootstrap,
                database=self.target.database,
                role=self.target.app_user,
                password=self.target.app_password,
            )
            for step in done:
                self._log.info("bootstrap: %s", step)
            work = first if on_target and state.facts.database_exists else None
            if work is None:
                work = self._connect(counters, target_database=True)
                sessions.append(work)
            done += create_tables(work, history=not state.history_table, lock=not state.lock_table)
            runs: list[MigrationRun] = []
            renewal = partial(self._connect, counters, target_database=True)
            lease = Lease(work, _holder_name(), self._lease_settings, self._log, renew_on=renewal)
            with lease:
                history = read_history(work)
                plan = make_plan(
                    self.migrations,
                    history,
                    dialect,
                    self.target.database,
                    bootstrap=plan.bootstrap,
                    notes=plan.notes,
                )
                if plan.refusals:
                    raise ApplyRefusedError(list(plan.refusals))
                applied_by = f"{state.facts.current_user} ({lease.holder})"
                try:
                    for pending in plan.pending:
                        migration = self._migration(pending.id)
                        runs.append(self._apply_one(work, lease, migration, dialect, applied_by))
                    for migration_id in plan.resume_companions:
                        row = next(r for r in history if r.id == migration_id)
                        runs.append(self._resume_companion(work, lease, row, dialect))
                except MigrationFailedError as exc:
                    exc.partial = self._result(plan, tuple(done), tuple(runs), counters)
                    raise
            return self._result(plan, tuple(done), tuple(runs), counters)
        finally:
            for session in sessions:
                session.close()

    def drop_database(self) -> bool:
        """DROP the target database if it exists (CASCADE on CockroachDB); True if dropped."""
        counters = Counters()
        with _server_errors(f"dropping database {self.target.database}", self.target.secrets):
            return self._drop_database(counters)

    def _drop_database(self, counters: Counters) -> bool:
        session = self._connect(counters, target_database=False)
        try:
            rows = session.rows(
                "SELECT version(), EXISTS (SELECT 1 FROM pg_catalog.pg_database "
                "WHERE datname = %s)",
                (self.target.database,),
            )
            version, exists = rows[0]
            if not exists:
                return False
            statement = drop_database_statement(self.target.database, detect_dialect(str(version)))
            session.run(statement, ddl=True)
            self._log.warning("dropped database %s", self.target.database)
            return True
        finally:
            session.close()

    def _migration(self, migration_id: str) -> Migration:
        migration = self.migrations.get(migration_id)
        if migration is None:
            raise KeyError(migration_id)
        return migration

    def _result(
        self,
        plan: Plan,
        bootstrap: tuple[str, ...],
        runs: tuple[MigrationRun, ...],
        counters: Counters,
    ) -> ApplyResult:
        ran = {run.id for run in runs}
        skipped: tuple[SkippedCompanion, ...] = tuple(
            skipped_entry(self._migration(run.id))
            for run in runs
            if run.companion_status is CompanionStatus.SKIPPED
        )
        return ApplyResult(
            dialect=plan.dialect,
            database=plan.database,
            bootstrap=bootstrap,
            notes=plan.notes,
            applied=runs,
            already_applied=tuple(r.id for r in plan.applied if r.id not in ran),
            skipped_companions=skipped,
            drift=plan.drift,
            ddl_statements=counters.ddl_statements,
            other_statements=counters.other_statements,
            round_trips=counters.round_trips,
            connections=counters.connections,
        )

    def _apply_one(
        self,
        work: Session,
        lease: Lease,
        migration: Migration,
        dialect: Dialect,
        applied_by: str,
    ) -> MigrationRun:
        statements = migration.portable.statements
        companion = migration.companion_statements
        if not companion:
            companion_status = CompanionStatus.NONE
        elif dialect.runs_companions:
            companion_status = CompanionStatus.PENDING
        else:
            companion_status = CompanionStatus.SKIPPED
        self._log.info("applying %s (%d statements)", migration.file_name, len(statements))
        self._reset_session(work, dialect, migration)
        settings = (
            ()
            if self._lock_timeout_s is None
            else (local_lock_timeout_statement(self._lock_timeout_s),)
        )
        one_trip = bool(statements)
        attempt = 1
        while True:
            started = time.monotonic()
            current: Statement | None = None
            step = "before its first statement, while checking the migration lease"
            try:
                with work.batched_transaction():
                    if one_trip:
                        step = (
                            f"while running statements 1 to {len(statements)} of "
                            f"{len(statements)} (lines {statements[0].line} to "
                            f"{statements[-1].line}), sent in one round trip after BEGIN and "
                            "the migration lease check"
                        )
                        try:
                            lease.begin_fenced(
                                work, settings, [statement.text for statement in statements]
                            )
                        except psycopg.Error:
                            if work.broken:
                                raise
                            raise _ScriptFailedError from None
                    else:
                        lease.begin_fenced(work, settings)
                        for statement in statements:
                            current = statement
                            work.run_statement(statement.text)
                    current = None
                    step = (
                        "after its last statement, while extending the migration lease and "
                        f"recording it in {HISTORY_TABLE}"
                    )
                    record_applied(
                        work,
                        lease,
                        migration_id=migration.id,
                        version=migration.version,
                        checksum=migration.checksum,
                        duration_ms=int((time.monotonic() - started) * 1000),
                        applied_by=applied_by,
                        statements=len(statements),
                        companion_statements=len(companion),
                        companion_status=companion_status,
                    )
                    step = "at COMMIT"
                break
            except _ScriptFailedError:
                one_trip = False
            except psycopg.errors.SerializationFailure as exc:
                if attempt == SERIALIZATION_ATTEMPTS:
                    raise self._failure(
                        migration, migration.file_name, statements, current, exc, step=step
                    ) from None
                self._log.warning(
                    "%s: serialization conflict, retrying (%d/%d)",
                    migration.file_name,
                    attempt,
                    SERIALIZATION_ATTEMPTS,
                )
                attempt += 1
            except psycopg.Error as exc:
                raise self._failure(
                    migration, migration.file_name, statements, current, exc, step=step
                ) from None
        duration_ms = int((time.monotonic() - started) * 1000)
        if companion_status is CompanionStatus.SKIPPED:
            self._log.info(
                "%s: %d CockroachDB-only statement(s) skipped (server is %s)",
                skipped_entry(migration).file_name,
                len(companion),
                dialect.label,
            )
        elif companion_status is CompanionStatus.PENDING:
            duration_ms += self._run_companion(work, lease, migration, 0)
            companion_status = CompanionStatus.APPLIED
        self._log.info("applied %s in %d ms", migration.id, duration_ms)
        return MigrationRun(
            id=migration.id,
            file_name=migration.file_name,
            statements=len(statements),
            companion_statements=len(companion) if dialect.runs_companions else 0,
            companion_status=companion_status,
            duration_ms=duration_ms,
        )

    def _reset_session(self, work: Session, dialect: Dialect, migration: Migration) -> None:
        """Every migration starts from the session's connect-time settings."""
        try:
            reset = SESSION_RESET
            if dialect is Dialect.COCKROACHDB:
                reset += COCKROACH_SESSION_SETTINGS
            work.script(reset)
        except psycopg.Error as exc:
            raise self._failure(
                migration,
                migration.file_name,
                migration.portable.statements,
                None,
                exc,
                step="before its first statement, while resetting the session",
                note=f"{migration.id} was not started; migrations applied before it stay recorded",
            ) from None

    def _resume_companion(
        self, work: Session, lease: Lease, row: AppliedMigration, dialect: Dialect
    ) -> MigrationRun:
        migration = self._migration(row.id)
        self._reset_session(work, dialect, migration)
        self._log.info(
            "resuming %s at statement %d",
            skipped_entry(migration).file_name,
            row.companion_done + 1,
        )
        duration_ms = self._run_companion(work, lease, migration, row.companion_done)
        return MigrationRun(
            id=migration.id,
            file_name=migration.file_name,
            statements=0,
            companion_statements=len(migration.companion_statements) - row.companion_done,
            companion_status=CompanionStatus.APPLIED,
            duration_ms=duration_ms,
        )

    def _run_companion(self, work: Session, lease: Lease, migration: Migration, skip: int) -> int:
        """Run companion statements after `skip`, each in its own implicit transaction."""
        statements = migration.companion_statements
        file_name = skipped_entry(migration).file_name
        total_ms = 0
        for statement in statements[skip:]:
            if lease.lost:
                lease.fence(work)
            started = time.monotonic()
            try:
                work.run_statement(statement.text)
            except psycopg.Error as exc:
                raise self._failure(
                    migration,
                    file_name,
                    statements,
                    statement,
                    exc,
                    note=(
                        f"the portable part of {migration.id} stays applied; the next apply "
                        f"resumes {file_name} at statement {statement.index}"
                    ),
                ) from None
            elapsed = int((time.monotonic() - started) * 1000)
            total_ms += elapsed
            record_companion_progress(
                work,
                migration.id,
                statement.index,
                finished=statement.index == len(statements),
                extra_ms=elapsed,
            )
        return total_ms

    def _failure(
        self,
        migration: Migration,
        file_name: str,
        statements: tuple[Statement, ...],
        statement: Statement | None,
        exc: psycopg.Error,
        *,
        note: str | None = None,
        step: str = "at COMMIT",
    ) -> MigrationFailedError:
        """The error for `statement`, or, when None, for the engine's own `step` around it."""
        secrets = self.target.secrets
        server = exc.diag.message_primary or str(exc).strip() or type(exc).__name__
        state = f" [SQLSTATE {exc.sqlstate}]" if exc.sqlstate else ""
        if statement is None:
            where = f"failed {step}"
            detail = ""
        else:
            where = f"statement {statement.index} of {len(statements)} (line {statement.line})"
            position = exc.diag.statement_position
            if position and position.isdigit():
                line, column = statement.position_of(int(position))
                where += f", error at line {line} column {column}"
            detail = f"\n  statement: {statement.excerpt()}"
        message = f"{file_name}: {where}: {server}{state}{detail}"
        message += "\n  " + (
            note or f"{migration.id} was rolled back; migrations applied before it stay recorded"
        )
        message = scrub(message, secrets)
        return MigrationFailedError(
            message,
            migration_id=migration.id,
            file_name=file_name,
            statement_index=statement.index if statement else None,
            line=statement.line if statement else None,
            sqlstate=exc.sqlstate,
        )
