"""An apply killed with SIGKILL during a slow statement: the next apply's wait stays bounded.

The killed process leaves its migration transaction open on the server (PostgreSQL ends it only
when the running statement finishes), holding the lease row. A re-run with a short --lock-wait
must come back within that wait plus a small bound, saying what it waited for; once the server
has ended the orphaned transaction, a re-run applies the migration.
"""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
from conftest import MigrationWriter, Names
from pg_queries import fetch, history_ids
from postgres_server import ServerInfo
from repo import REPO_ROOT

from migrator.cli import EXIT_FAILED, EXIT_OK, run

pytestmark = pytest.mark.postgres

SLOW = "CREATE TABLE trades (id INT);\nSELECT pg_sleep(60);\n"
BOUND_S = 5.0
"""What a re-run may take beyond its --lock-wait: connecting, one lock timeout, one poll."""


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str
    seconds: float


@pytest.fixture
def args(migrator_cli_args: list[str]) -> list[str]:
    return migrator_cli_args


def apply_in_process(args: list[str], *extra: str) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    code = run(["apply", *args, *extra], out, err)
    return Outcome(code, out.getvalue(), err.getvalue(), time.monotonic() - started)


def sleeping_backend(info: ServerInfo, database: str) -> int | None:
    rows = fetch(
        info,
        "postgres",
        "SELECT pid FROM pg_stat_activity WHERE datname = %s "
        "AND application_name = 'openalgo-migrator' AND query LIKE '%%SELECT pg_sleep(%%'",
        (database,),
    )
    return int(rows[0][0]) if rows else None


def kill_during_slow_statement(info: ServerInfo, names: Names, args: list[str]) -> int:
    """Start an apply, SIGKILL it while pg_sleep runs; returns the orphaned backend's pid."""
    process = subprocess.Popen(
        [sys.executable, "-m", "migrator", "apply", *args, "--lease", "2"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while (pid := sleeping_backend(info, names.database)) is None:
            assert process.poll() is None, "the apply ended before its slow statement"
            assert time.monotonic() < deadline, "the slow statement never started"
            time.sleep(0.05)
        time.sleep(1.5)  # let the heartbeat queue a renewal behind the migration's row lock
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    return pid


def test_rerun_after_a_kill_fails_within_its_lock_wait_saying_the_row_is_locked(
    pg_server: ServerInfo, names: Names, args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "CREATE TABLE orders (id INT);")
    assert apply_in_process(args).code == EXIT_OK
    write_migration("0002_trades", SLOW)
    kill_during_slow_statement(pg_server, names, args)
    outcome = apply_in_process(args, "--lock-wait", "3")
    assert outcome.code == EXIT_FAILED
    assert outcome.seconds < 3 + BOUND_S
    assert "its row is locked by another session's open transaction" in outcome.err
    assert history_ids(pg_server, names.database) == ["0001_orders"]


def test_rerun_applies_once_the_server_has_ended_the_killed_runs_transaction(
    pg_server: ServerInfo, names: Names, args: list[str], write_migration: MigrationWriter
) -> None:
    write_migration("0001_orders", "CREATE TABLE orders (id INT);")
    assert apply_in_process(args).code == EXIT_OK
    write_migration("0002_trades", SLOW)
    orphan = kill_during_slow_statement(pg_server, names, args)
    fetch(pg_server, "postgres", "SELECT pg_terminate_backend(%s)", (orphan,))
    write_migration("0002_trades", "CREATE TABLE trades (id INT);\n")
    outcome = apply_in_process(args, "--lock-wait", "5")
    assert outcome.code == EXIT_OK, outcome.err
    assert outcome.seconds < 5 + BOUND_S
    assert history_ids(pg_server, names.database) == ["0001_orders", "0002_trades"]
