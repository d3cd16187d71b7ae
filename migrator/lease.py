"""A lease on the single row of the lock table: mutual exclusion without advisory locks.

CockroachDB has no advisory locks, so an apply claims row `id = 1` by writing its holder name and an
expiry computed from the server clock. A lease whose expiry has passed belongs to a crashed or hung
apply and may be taken over. The holder renews the lease from a background thread on its own
connection while migrations run, and every migration transaction re-checks (and extends) the lease
as its first statement, which also row-locks it until commit: a takeover cannot slip in while a
migration is being written. The transaction extends the lease again just before it commits, from
the clock at that moment, so a migration that ran longer than the lease leaves a live one behind.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import psycopg

from migrator.errors import LeaseLostError, LockUnavailableError
from migrator.session import Session

CLAIM_SQL = (
    "INSERT INTO public.schema_migrations_lock AS l (id, holder, acquired_at, expires_at) "
    "VALUES (1, %(holder)s, now(), now() + %(seconds)s * INTERVAL '1 second') "
    "ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, "
    "expires_at = excluded.expires_at "
    "WHERE l.holder IS NULL OR l.holder = excluded.holder OR l.expires_at < now() "
    "RETURNING l.holder"
)
RENEW_SQL = (
    "UPDATE public.schema_migrations_lock "
    "SET expires_at = clock_timestamp() + %(seconds)s * INTERVAL '1 second' "
    "WHERE id = 1 AND holder = %(holder)s RETURNING expires_at"
)
RELEASE_SQL = (
    "UPDATE public.schema_migrations_lock SET holder = NULL, expires_at = now() "
    "WHERE id = 1 AND holder = %(holder)s"
)
CURRENT_SQL = (
    "SELECT holder, expires_at, expires_at < now() FROM public.schema_migrations_lock WHERE id = 1"
)


@dataclass(frozen=True)
class LeaseSettings:
    """Lease length, how long to wait for a busy lease, and how often to poll and renew."""

    duration_s: float = 60.0
    wait_s: float = 300.0
    poll_s: float = 0.5

    @property
    def renew_every_s(self) -> float:
        return self.duration_s / 3

    def __post_init__(self) -> None:
        for name in ("duration_s", "wait_s", "poll_s"):
            value = getattr(self, name)
            if not value >= 0 or (name != "wait_s" and value == 0):
                raise ValueError(f"LeaseSettings.{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class LeaseHolder:
    holder: str | None
    expires_at: datetime | None
    expired: bool


class Lease:
    """The migration lock, held by `holder` while a `with` block runs."""

    def __init__(
        self, session: Session, holder: str, settings: LeaseSettings, logger: logging.Logger
    ) -> None:
        self._session = session
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
        params = {"holder": self.holder, "seconds": self._settings.duration_s}
        try:
            with self._guard:
                rows = self._session.rows(CLAIM_SQL, params)
        except psycopg.errors.SerializationFailure:
            return False
        return bool(rows)

    def acquire(self) -> None:
        """Claim the lease, waiting up to `wait_s` while a live lease is held by someone else."""
        deadline = time.monotonic() + self._settings.wait_s
        waited = False
        while True:
            before = self.current()
            if self.try_acquire():
                if before.holder and before.holder != self.holder:
                    self._log.warning(
                        "took over the expired migration lease of %s (expired %s)",
                        before.holder,
                        before.expires_at,
                    )
                if waited:
                    self._log.info("migration lease acquired after waiting")
                return
            if time.monotonic() >= deadline:
                now = self.current()
                raise LockUnavailableError(
                    f"migration lease in table public.schema_migrations_lock is held by "
                    f"{now.holder} until {now.expires_at}; waited {self._settings.wait_s:g}s. "
                    "Another apply is running: let it finish, or wait for its lease to expire "
                    "if that process is gone"
                )
            if not waited:
                self._log.info(
                    "waiting for the migration lease held by %s (expires %s)",
                    before.holder,
                    before.expires_at,
                )
                waited = True
            time.sleep(min(self._settings.poll_s, max(deadline - time.monotonic(), 0)))

    def renew(self) -> bool:
        params = {"holder": self.holder, "seconds": self._settings.duration_s}
        with self._guard:
            rows = self._session.rows(RENEW_SQL, params)
        if not rows:
            self._lost = True
        return bool(rows)

    def fence(self, work: Session) -> None:
        """Inside a migration transaction: extend the lease or abort if it was taken over."""
        params = {"holder": self.holder, "seconds": self._settings.duration_s}
        if not work.rows(RENEW_SQL, params):
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
                    self._log.error("migration lease lost: another apply took it over")
                    return
            except psycopg.Error as exc:
                self._log.warning("could not renew the migration lease: %s", exc.sqlstate)

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._heartbeat, name="lease-heartbeat", daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def release(self) -> None:
        self.stop_heartbeat()
        try:
            with self._guard:
                self._session.run(RELEASE_SQL, {"holder": self.holder})
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
