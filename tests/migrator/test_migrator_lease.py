"""The lease row that keeps two applies apart (CockroachDB has no advisory locks)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from conftest import MigrationWriter, Names
from pg_queries import fetch, history_ids, table_exists
from postgres_server import ServerInfo

from migrator import (
    ApplyResult,
    CompanionStatus,
    LeaseLostError,
    LeaseSettings,
    LockUnavailableError,
    MigrationFailedError,
    Migrator,
    load_migrations,
)
from migrator.history import record_applied
from migrator.lease import Lease, lease_session_settings
from migrator.session import Counters, Session, connect

pytestmark = pytest.mark.postgres

MakeMigrator = Callable[..., Migrator]
SLOW = "CREATE TABLE {name} (id INT);\nSELECT pg_sleep(0.3);\n"
RELEASE_ALL = "UPDATE schema_migrations_lock SET holder = NULL RETURNING id"


@pytest.fixture
def bootstrapped(
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> Migrator:
    """A database whose history and lock tables exist (one migration applied)."""
    write_migration("0001_orders", "CREATE TABLE orders (id INT);")
    migrator = migrator_for(names, migrations_dir)
    migrator.apply()
    return migrator


@pytest.fixture
def session_on(pg_server: ServerInfo, names: Names) -> Iterator[Callable[[], Session]]:
    opened: list[Session] = []

    def open_session() -> Session:
        session = connect(pg_server.dsn(), Counters(), dbname=names.database)
        opened.append(session)
        return session

    yield open_session
    for session in opened:
        session.close()


def set_lease(info: ServerInfo, dbname: str, holder: str, seconds_from_now: float) -> None:
    fetch(
        info,
        dbname,
        "UPDATE schema_migrations_lock SET holder = %s, "
        "expires_at = now() + %s * INTERVAL '1 second' WHERE id = 1 RETURNING id",
        (holder, seconds_from_now),
    )


def lease_holder(info: ServerInfo, dbname: str) -> str | None:
    holder: str | None = fetch(info, dbname, "SELECT holder FROM schema_migrations_lock")[0][0]
    return holder


def test_two_applies_started_at_once_apply_each_migration_exactly_once(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    migrator_for: MakeMigrator,
    write_migration: MigrationWriter,
) -> None:
    for number, name in enumerate(("orders", "trades", "positions"), start=1):
        write_migration(f"000{number}_{name}", SLOW.format(name=name))
    start = threading.Barrier(2)
    results: list[ApplyResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        migrator = migrator_for(names, migrations_dir)
        start.wait()
        try:
            results.append(migrator.apply())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    applied = [mid for result in results for mid in result.applied_ids]
    assert sorted(applied) == ["0001_orders", "0002_trades", "0003_positions"]
    assert history_ids(pg_server, names.database) == sorted(applied)


def test_live_lease_of_another_apply_is_respected_and_the_loser_fails_clearly(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    bootstrapped: Migrator,
    write_migration: MigrationWriter,
) -> None:
    set_lease(pg_server, names.database, "ci-runner-7 pid 42", 60)
    write_migration("0002_trades", "CREATE TABLE trades (id INT);")
    impatient = Migrator(
        bootstrapped.target,
        load_migrations(migrations_dir),
        lease=LeaseSettings(duration_s=5, wait_s=0.3, poll_s=0.05),
    )
    with pytest.raises(LockUnavailableError, match="held by ci-runner-7 pid 42 until"):
        impatient.apply()
    assert not table_exists(pg_server, names.database, "trades")
    assert lease_holder(pg_server, names.database) == "ci-runner-7 pid 42"


def test_waiting_apply_proceeds_once_the_other_lease_is_released(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    bootstrapped: Migrator,
    write_migration: MigrationWriter,
) -> None:
    set_lease(pg_server, names.database, "other", 60)
    write_migration("0002_trades", "CREATE TABLE trades (id INT);")
    release = threading.Timer(0.5, fetch, (pg_server, names.database, RELEASE_ALL))
    release.start()
    try:
        result = Migrator(
            bootstrapped.target,
            load_migrations(migrations_dir),
            lease=LeaseSettings(duration_s=5, wait_s=20, poll_s=0.05),
        ).apply()
    finally:
        release.join()
    assert result.applied_ids == ("0002_trades",)


def test_stale_lease_is_taken_over_after_expiry(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    bootstrapped: Migrator,
    write_migration: MigrationWriter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    set_lease(pg_server, names.database, "crashed-host pid 9", -1)
    write_migration("0002_trades", "CREATE TABLE trades (id INT);")
    caplog.set_level(logging.WARNING, logger="migrator")
    result = Migrator(
        bootstrapped.target,
        load_migrations(migrations_dir),
        lease=LeaseSettings(duration_s=5, wait_s=0, poll_s=0.05),
    ).apply()
    assert result.applied_ids == ("0002_trades",)
    assert "took over the expired migration lease of crashed-host pid 9" in caplog.text


def test_lease_is_released_after_a_successful_apply(
    pg_server: ServerInfo, names: Names, bootstrapped: Migrator
) -> None:
    assert lease_holder(pg_server, names.database) is None


def test_lease_is_released_after_a_failed_apply(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    bootstrapped: Migrator,
    write_migration: MigrationWriter,
) -> None:
    write_migration("0002_trades", "CREATE TABLE trades (id INT REFERENCES nowhere (id));")
    with pytest.raises(MigrationFailedError):
        Migrator(bootstrapped.target, load_migrations(migrations_dir)).apply()
    assert lease_holder(pg_server, names.database) is None


def test_holder_renews_its_lease_while_working(
    bootstrapped: Migrator, session_on: Callable[[], Session]
) -> None:
    short = LeaseSettings(duration_s=1.0, wait_s=0, poll_s=0.05)
    log = logging.getLogger("migrator")
    rival = Lease(session_on(), "rival", short, log)
    with Lease(session_on(), "worker", short, log):
        time.sleep(2.5)
        assert not rival.try_acquire()
        assert rival.current().holder == "worker"


def test_apply_shorter_than_a_renewal_period_uses_one_connection(
    migrations_dir: Path, bootstrapped: Migrator, write_migration: MigrationWriter
) -> None:
    write_migration("0002_trades", "CREATE TABLE trades (id INT);")
    result = Migrator(bootstrapped.target, load_migrations(migrations_dir)).apply()
    assert result.applied_ids == ("0002_trades",)
    assert result.connections == 1


RENEWS_OFTEN = LeaseSettings(duration_s=1.0, wait_s=0, poll_s=0.05)
"""A one-second lease, renewed every third of a second."""


@dataclass
class RenewingLeases:
    """Leases whose heartbeat opens its sessions through `open_session`; `opened` lists them."""

    open_session: Callable[[], Session]
    opened: list[Session] = field(default_factory=list)

    def lease(self, session: Session, settings: LeaseSettings = RENEWS_OFTEN) -> Lease:
        return Lease(
            session, "worker", settings, logging.getLogger("migrator"), renew_on=self._open
        )

    def _open(self) -> Session:
        self.opened.append(self.open_session())
        return self.opened[-1]


@pytest.fixture
def renewing(session_on: Callable[[], Session]) -> RenewingLeases:
    return RenewingLeases(session_on)


def test_heartbeat_opens_its_own_session_only_once_a_renewal_is_due(
    bootstrapped: Migrator, session_on: Callable[[], Session], renewing: RenewingLeases
) -> None:
    rival = Lease(session_on(), "rival", RENEWS_OFTEN, logging.getLogger("migrator"))
    with renewing.lease(session_on()):
        assert renewing.opened == []
        time.sleep(2.5)
        assert len(renewing.opened) == 1
        assert rival.current().holder == "worker"
        assert not rival.try_acquire()


def test_heartbeat_renews_while_the_claiming_session_is_inside_a_transaction(
    bootstrapped: Migrator, session_on: Callable[[], Session], renewing: RenewingLeases
) -> None:
    work = session_on()
    with renewing.lease(work), work.raw.transaction():
        work.run("CREATE TABLE venues (id INT)")
        time.sleep(2.5)
        rival = Lease(session_on(), "rival", RENEWS_OFTEN, logging.getLogger("migrator"))
        assert not rival.try_acquire()


def test_heartbeat_session_is_closed_when_the_lease_is_released(
    bootstrapped: Migrator, session_on: Callable[[], Session], renewing: RenewingLeases
) -> None:
    with renewing.lease(session_on(), LeaseSettings(duration_s=0.3, wait_s=0, poll_s=0.05)):
        time.sleep(0.5)
    assert len(renewing.opened) == 1
    assert renewing.opened[0].broken


def test_release_bounds_its_wait_again_after_migrations_reset_the_session(
    pg_server: ServerInfo,
    names: Names,
    bootstrapped: Migrator,
    session_on: Callable[[], Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    work = session_on()
    settings = LeaseSettings(duration_s=5, row_lock_timeout_s=0.2)
    lease = Lease(work, "worker", settings, logging.getLogger("migrator"))
    lease.acquire()
    work.run("RESET ALL")
    with psycopg.connect(pg_server.conninfo(names.database)) as blocker:
        # Should the release wait unbounded, the server ends this lock's session and the test
        # fails instead of waiting for ever.
        blocker.execute("SET idle_in_transaction_session_timeout = '10s'")
        blocker.execute("SELECT 1 FROM schema_migrations_lock WHERE id = 1 FOR UPDATE")
        lease.release()
    assert "could not release the migration lease (55P03)" in caplog.text


def test_lease_without_heartbeat_expires_and_can_be_taken(
    bootstrapped: Migrator, session_on: Callable[[], Session]
) -> None:
    short = LeaseSettings(duration_s=0.3, wait_s=0, poll_s=0.05)
    log = logging.getLogger("migrator")
    Lease(session_on(), "gone", short, log).acquire()
    time.sleep(0.5)
    assert Lease(session_on(), "next", short, log).try_acquire()


@pytest.fixture
def taken_over(
    pg_server: ServerInfo,
    names: Names,
    bootstrapped: Migrator,
    session_on: Callable[[], Session],
) -> tuple[Lease, Session]:
    """The lease `worker` acquired, since taken over by `usurper`, and a session to migrate on."""
    log = logging.getLogger("migrator")
    lease = Lease(session_on(), "worker", LeaseSettings(duration_s=5), log)
    lease.acquire()
    set_lease(pg_server, names.database, "usurper", 60)
    return lease, session_on()


def test_migration_transaction_stops_when_the_lease_was_taken_over(
    pg_server: ServerInfo, names: Names, taken_over: tuple[Lease, Session]
) -> None:
    lease, work = taken_over
    with (
        pytest.raises(LeaseLostError, match="lease of worker expired and was taken over"),
        work.raw.transaction(),
    ):
        lease.fence(work)
    assert lease_holder(pg_server, names.database) == "usurper"


def test_statements_sent_with_the_lease_check_are_rolled_back_once_the_lease_was_taken_over(
    pg_server: ServerInfo, names: Names, taken_over: tuple[Lease, Session]
) -> None:
    lease, work = taken_over
    with pytest.raises(LeaseLostError), work.batched_transaction():
        lease.begin_fenced(work, statements=["CREATE TABLE venues (id INT)"])
    assert not table_exists(pg_server, names.database, "venues")
    assert lease_holder(pg_server, names.database) == "usurper"


def test_lease_check_sent_with_statements_holds_the_lease_row_until_commit(
    bootstrapped: Migrator, session_on: Callable[[], Session]
) -> None:
    settings = LeaseSettings(duration_s=5, row_lock_timeout_s=0.2)
    log = logging.getLogger("migrator")
    lease = Lease(session_on(), "worker", settings, log)
    lease.acquire()
    work = session_on()
    rival = Lease(session_on(), "rival", settings, log)
    rival.prepare_session()
    with work.batched_transaction():
        lease.begin_fenced(work, statements=["CREATE TABLE venues (id INT)"])
        with pytest.raises(psycopg.errors.LockNotAvailable):
            rival.try_acquire()
    assert work.rows("SELECT count(*) FROM venues") == [(0,)]


def test_recording_a_migration_after_the_lease_was_taken_over_writes_no_history_row(
    pg_server: ServerInfo, names: Names, taken_over: tuple[Lease, Session]
) -> None:
    lease, work = taken_over
    with pytest.raises(LeaseLostError), work.raw.transaction():
        record_applied(
            work,
            lease,
            migration_id="0009_late",
            version=9,
            checksum="0" * 64,
            duration_ms=1,
            applied_by="worker",
            statements=1,
            companion_statements=0,
            companion_status=CompanionStatus.NONE,
        )
    assert "0009_late" not in history_ids(pg_server, names.database)
    assert lease_holder(pg_server, names.database) == "usurper"


def test_extending_inside_a_long_transaction_counts_from_the_clock_not_its_start(
    bootstrapped: Migrator, session_on: Callable[[], Session]
) -> None:
    short = LeaseSettings(duration_s=1.0, wait_s=0, poll_s=0.05)
    log = logging.getLogger("migrator")
    lease = Lease(session_on(), "worker", short, log)
    lease.acquire()
    work = session_on()
    with work.raw.transaction():
        lease.fence(work)
        time.sleep(1.3)
        lease.fence(work)
    assert not Lease(session_on(), "rival", short, log).try_acquire()


def test_lease_session_runs_with_server_side_lock_and_statement_timeouts(
    bootstrapped: Migrator, session_on: Callable[[], Session]
) -> None:
    settings = LeaseSettings(row_lock_timeout_s=0.75, statement_timeout_s=4)
    session = session_on()
    Lease(session, "worker", settings, logging.getLogger("migrator")).prepare_session()
    shown = [session.rows(f"SHOW {name}")[0][0] for name in ("lock_timeout", "statement_timeout")]
    assert shown == ["750ms", "4s"]


def test_lease_session_settings_never_disable_a_timeout_by_rounding_to_zero() -> None:
    settings = LeaseSettings(row_lock_timeout_s=0.0001)
    assert "'1ms'" in lease_session_settings(settings)[0].as_string(None)


def test_claim_behind_an_open_transaction_on_the_lease_row_gives_up_within_the_wait(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    bootstrapped: Migrator,
    write_migration: MigrationWriter,
    session_on: Callable[[], Session],
) -> None:
    write_migration("0002_trades", "CREATE TABLE trades (id INT);")
    orphan = session_on()
    with orphan.raw.transaction():
        orphan.run("SELECT 1 FROM schema_migrations_lock WHERE id = 1 FOR UPDATE")
        impatient = Migrator(
            bootstrapped.target,
            load_migrations(migrations_dir),
            lease=LeaseSettings(duration_s=5, wait_s=1.5, poll_s=0.05, row_lock_timeout_s=0.2),
        )
        started = time.monotonic()
        with pytest.raises(LockUnavailableError, match="locked by another session's open"):
            impatient.apply()
        elapsed = time.monotonic() - started
    assert elapsed < 1.5 + 2.0
    assert not table_exists(pg_server, names.database, "trades")


def test_waiting_apply_says_whose_lease_it_waits_for_without_verbose_logging(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    bootstrapped: Migrator,
    write_migration: MigrationWriter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    set_lease(pg_server, names.database, "ci-runner-7 pid 42", 60)
    write_migration("0002_trades", "CREATE TABLE trades (id INT);")
    caplog.set_level(logging.WARNING, logger="migrator")
    impatient = Migrator(
        bootstrapped.target,
        load_migrations(migrations_dir),
        lease=LeaseSettings(duration_s=5, wait_s=0.3, poll_s=0.05),
    )
    with pytest.raises(LockUnavailableError):
        impatient.apply()
    assert (
        "waiting for the migration lease in table public.schema_migrations_lock: held by "
        "ci-runner-7 pid 42 until" in caplog.text
    )


def test_waiting_apply_reports_progress_while_it_waits(
    pg_server: ServerInfo,
    names: Names,
    migrations_dir: Path,
    bootstrapped: Migrator,
    write_migration: MigrationWriter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    set_lease(pg_server, names.database, "other", 60)
    write_migration("0002_trades", "CREATE TABLE trades (id INT);")
    caplog.set_level(logging.WARNING, logger="migrator")
    impatient = Migrator(
        bootstrapped.target,
        load_migrations(migrations_dir),
        lease=LeaseSettings(duration_s=5, wait_s=1.0, poll_s=0.05, progress_every_s=0.3),
    )
    with pytest.raises(LockUnavailableError):
        impatient.apply()
    assert caplog.text.count("waiting for the migration lease") >= 3


def test_renewal_that_cannot_get_the_row_in_time_is_cancelled_and_extends_nothing(
    pg_server: ServerInfo,
    names: Names,
    bootstrapped: Migrator,
    session_on: Callable[[], Session],
) -> None:
    settings = LeaseSettings(duration_s=5, row_lock_timeout_s=0.2)
    lease = Lease(session_on(), "worker", settings, logging.getLogger("migrator"))
    lease.acquire()
    expiry = "SELECT expires_at FROM schema_migrations_lock WHERE id = 1"
    before = fetch(pg_server, names.database, expiry)
    blocker = session_on()
    with blocker.raw.transaction():
        blocker.run("SELECT 1 FROM schema_migrations_lock WHERE id = 1 FOR UPDATE")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            lease.renew()
    assert fetch(pg_server, names.database, expiry) == before
