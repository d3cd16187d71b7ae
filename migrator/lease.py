"""A lease on the single row of the lock table: mutual exclusion without advisory locks.

CockroachDB has no advisory locks, so an apply claims row `id = 1` by writing its holder name and an
expiry computed from the server clock. A lease whose expiry has passed belongs to a crashed or hung
apply and may be taken over. The apply claims the lease on the session it migrates on, before its
first migration, and releases it there after the last; meanwhile a background thread renews it on
a connection of its own, opened when the first renewal is due (an apply shorter than that opens
none). Every migration transaction re-checks (and extends) the lease as its first statement,
which also row-locks it until commit: a takeover cannot slip in while a migration is being
written. The transaction extends the lease again just before it commits, from the clock at that
moment, so a migration that ran longer than the lease leaves a live one behind.

Every wait is bounded on the server too. Lease statements run with a short lock_timeout and a
statement_timeout, so a claim never queues behind the row lock of a transaction a killed apply
left open, and a renewal that could not get the row in time is cancelled by the server instead
of extending the lease later, after its process is gone. While it waits, acquire() says what it
waits for: a live lease (whose, and until when) or a row locked by an open transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString

import psycopg
from psycopg import errors, sql

from migrator.errors import ConnectionFailedError, LeaseLostError, LockUnavailableError
from migrator.session import Query, Session

ROW_BUSY_ERRORS = (errors.LockNotAvailable, errors.QueryCanceled)
"""lock_timeout (55P03) or statement_timeout (57014) on a lease statement: the row is locked."""
ROW_LOCKED = (
    "its row is locked by another session's open transaction: a migration running now, or one "
    "a killed apply left open until the server notices its client is gone"
)

CLAIM_SQL = (
    "INSERT INTO public.schema_migrations_lock AS l (id, holder, acquired_at, expires_at) "
    "VALUES (1, %(holder)s, now(), now() + %(seconds)s::FLOAT8 * INTERVAL '1 second') "
    "ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, "
    "expires_at = excluded.expires_at "
    "WHERE l.holder IS NULL OR l.holder = excluded.holder OR l.expires_at < now() "
    "RETURNING l.holder"
)
RENEW_UPDATE = (
    "UPDATE public.schema_migrations_lock "
    "SET expires_at = clock_timestamp() + %(seconds)s::FLOAT8 * INTERVAL '1 second' "
    "WHERE id = 1 AND holder = %(holder)s"
)
RENEW_SQL = RENEW_UPDATE + " RETURNING expires_at"


def fenced_sql(statement: LiteralString) -> LiteralString:
    """`statement`, an INSERT ... SELECT ... FROM lease ... RETURNING, made to extend the lease
    and to write nothing once the lease was taken over, in one round trip."""
    return "WITH lease AS (" + RENEW_UPDATE + " RETURNING 1) " + statement


RELEASE_SQL = (
    "UPDATE public.schema_migrations_lock SET holder = NULL, expires_at = now() "
    "WHERE id = 1 AND holder = %(holder)s"
)
LOCK_TABLE_NAME = "public.schema_migrations_lock"
CURRENT_SQL = (
    "SELECT holder, expires_at, expires_at < now() FROM public.schema_migrations_lock WHERE id = 1"
)


@dataclass(frozen=True)
class LeaseSettings:
    """Lease length, how long to wait for a busy lease, how often to poll, renew and report.

    row_lock_timeout_s bounds how long one lease statement waits for the row lock, and
    statement_timeout_s any lease statement, on the server; progress_every_s is how often a
    waiting apply says that it still waits.
    """

    duration_s: float = 60.0
    wait_s: float = 300.0
    poll_s: float = 0.5
    row_lock_timeout_s: float = 1.0
    statement_timeout_s: float = 10.0
    progress_every_s: float = 10.0

    @property
    def renew_every_s(self) -> float:
        return self.duration_s / 3

    def __post_init__(self) -> None:
        for name in (
            "duration_s",
            "wait_s",
            "poll_s",
            "row_lock_timeout_s",
            "statement_timeout_s",
            "progress_every_s",
        ):
            value = getattr(self, name)
            if not value >= 0 or (name != "wait_s" and value == 0):
                raise ValueError(f"LeaseSettings.{name} must be a positive number, got {value!r}")


def timeout_literal(seconds: float) -> sql.Literal:
    """A timeout as the server reads it; at least 1 ms, since 0 would mean no limit at all."""
    return sql.Literal(f"{max(int(seconds * 1000), 1)}ms")


def lease_session_settings(settings: LeaseSettings) -> tuple[sql.Composed, ...]:
    """SET statements for lease statements: bounded lock and statement waits (both dialects)."""
    return (
        sql.SQL("SET lock_timeout = {}").format(timeout_literal(settings.row_lock_timeout_s)),
        sql.SQL("SET statement_timeout = {}").format(timeout_literal(settings.statement_timeout_s)),
    )


@dataclass(frozen=True)
class LeaseHolder:
    holder: str | None
    expires_at: datetime | None
    expired: bool


class Lease:
    """The migration lock, held by `holder` while a `with` block runs."""

    def __init__(
        self,
        session: Session,
        holder: str,
        settings: LeaseSettings,
        logger: logging.Logger,
        *,
        renew_on: Callable[[], Session] | None = None,
    ) -> None:
        """`session` claims and releases the lease. The heartbeat renews it on `session` too, or,
        given `renew_on`, on a session it opens from that when the first renewal is due and
        closes when it stops, so `session` is free to migrate on meanwhile."""
        self._session = session
        self._renew_on = renew_on
        self._renewal: Session | None = None
        self.holder = holder
        self._settings = settings
        self._log = logger
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost = False

    @property
    def lost(self) -> bool:
        return self._lost

    def current(self) -> LeaseHolder:
        with self._guard:
            rows = self._session.rows(CURRENT_SQL)
        if not rows:
            return LeaseHolder(None, None, True)
        holder, expires_at, expired = rows[0]
        return LeaseHolder(holder, expires_at, bool(expired) if holder else True)

    def try_acquire(self) -> bool:
        try:
            with self._guard:
                rows = self._session.rows(CLAIM_SQL, self._lease_params())
        except psycopg.errors.SerializationFailure:
            return False
        return bool(rows)

    def prepare_session(self) -> None:
        """Bound every lease statement on the server (see lease_session_settings)."""
        with self._guard:
            self._bound(self._session)

    def _bound(self, session: Session) -> None:
        session.script(lease_session_settings(self._settings))

    def _attempt(self) -> tuple[bool, LeaseHolder | None]:
        """(claimed, holder seen before the claim); holder None when the row was locked."""
        try:
            before = self.current()
            return self.try_acquire(), before
        except ROW_BUSY_ERRORS:
            return False, None

    def acquire(self) -> None:
        """Claim the lease, waiting up to `wait_s` while it is held by someone else, saying what
        it waits for when it starts waiting and every `progress_every_s` after that."""
        settings = self._settings
        self.prepare_session()
        started = time.monotonic()
        deadline = started + settings.wait_s
        next_report = started
        waited = False
        while True:
            claimed, before = self._attempt()
            if claimed:
                if before is not None and before.holder and before.holder != self.holder:
                    self._log.warning(
                        "took over the expired migration lease of %s (expired %s)",
                        before.holder,
                        before.expires_at,
                    )
                if waited:
                    self._log.info(
                        "migration lease acquired after waiting %.0fs", time.monotonic() - started
                    )
                return
            now = time.monotonic()
            if now >= deadline:
                raise LockUnavailableError(self._unavailable(before))
            if now >= next_report:
                self._log.warning(
                    "waiting for the migration lease in table %s: %s; giving up in %.0fs",
                    LOCK_TABLE_NAME,
                    self._describe(before),
                    deadline - now,
                )
                next_report = now + settings.progress_every_s
            waited = True
            time.sleep(min(settings.poll_s, max(deadline - time.monotonic(), 0)))

    @staticmethod
    def _describe(holder: LeaseHolder | None) -> str:
        if holder is None:
            return ROW_LOCKED
        return f"held by {holder.holder} until {holder.expires_at}"

    def _unavailable(self, holder: LeaseHolder | None) -> str:
        waited = f"waited {self._settings.wait_s:g}s"
        if holder is None:
            return (
                f"migration lease in table {LOCK_TABLE_NAME}: {ROW_LOCKED}; {waited}. "
                "Re-run once that transaction has ended (on PostgreSQL, pg_stat_activity lists "
                "it with application_name openalgo-migrator)"
            )
        return (
            f"migration lease in table {LOCK_TABLE_NAME} is held by {holder.holder} until "
            f"{holder.expires_at}; {waited}. Another apply is running: let it finish, or wait "
            "for its lease to expire if that process is gone"
        )

    def renew(self) -> bool:
        with self._guard:
            rows = self._renewing_session().rows(RENEW_SQL, self._lease_params())
        if not rows:
            self._lost = True
        return bool(rows)

    def _renewing_session(self) -> Session:
        if self._renew_on is None:
            return self._session
        if self._renewal is None:
            session = self._renew_on()
            try:
                self._bound(session)
            except BaseException:
                session.close()
                raise
            self._renewal = session
        return self._renewal

    def fence(self, work: Session) -> None:
        """Inside a migration transaction: extend the lease or abort if it was taken over."""
        self._fenced(work, RENEW_SQL, {})

    def begin_fenced(
        self, work: Session, settings: Sequence[Query] = (), statements: Sequence[str] = ()
    ) -> None:
        """Open a migration transaction (in Session.batched_transaction) with fence() as its
        first statement, followed by `settings` and `statements`, in one round trip. Once the
        lease was taken over, the statements have run but LeaseLostError rolls them back."""
        fence = work.bind(RENEW_SQL, self._lease_params())
        self._check(work.begin_with(fence, settings, statements))

    def fenced_write(self, work: Session, statement: LiteralString, params: dict[str, Any]) -> None:
        """Inside a migration transaction: fence() and `statement` (see fenced_sql) at once."""
        self._fenced(work, fenced_sql(statement), params)

    def _lease_params(self) -> dict[str, Any]:
        """The holder and the lease length, as every statement that claims or extends takes them."""
        return {"holder": self.holder, "seconds": self._settings.duration_s}

    def _fenced(self, work: Session, statement: LiteralString, params: dict[str, Any]) -> None:
        self._check(work.rows(statement, {**params, **self._lease_params()}))

    def _check(self, fence_rows: Sequence[object]) -> None:
        if not fence_rows:
            self._lost = True
        if self._lost:
            raise LeaseLostError(
                f"the migration lease of {self.holder} expired and was taken over; "
                "stopping before applying more"
            )

    def _heartbeat(self) -> None:
        while not self._stop.wait(self._settings.renew_every_s):
            try:
                if not self.renew():
                    # Not an error line of its own: the next fence raises LeaseLostError.
                    self._log.info("migration lease lost: another apply took it over")
                    return
            except ROW_BUSY_ERRORS:
                self._log.debug("lease row locked by this apply's migration transaction")
            except psycopg.Error as exc:
                self._log.warning("could not renew the migration lease: %s", exc.sqlstate)
            except ConnectionFailedError as exc:
                self._log.warning("could not renew the migration lease: %s", exc)

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._heartbeat, name="lease-heartbeat", daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._renewal is not None:
            self._renewal.close()
            self._renewal = None

    def release(self) -> None:
        """Give the lease up, with the lease statements' bounds set again: `session` may have
        run migrations, which reset its settings, since the claim."""
        self.stop_heartbeat()
        try:
            with self._guard:
                self._session.script(
                    (
                        *lease_session_settings(self._settings),
                        self._session.bind(RELEASE_SQL, {"holder": self.holder}),
                    )
                )
        except psycopg.Error as exc:
            self._log.warning(
                "could not release the migration lease (%s); it expires on its own within %gs",
                exc.sqlstate or type(exc).__name__,
                self._settings.duration_s,
            )

    def __enter__(self) -> Lease:
        self.acquire()
        self.start_heartbeat()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
