"""Where the order path's server time goes (a benchmark that prints figures, not a test).

Prints:
  * The step-by-step order path of bench_order_path.py run by pgbench (--clients, --seconds)
    after a warm-up run of the same length, so the tables hold rows and their statistics and the
    foreign key checks' cached plans are those of a table in use: for each statement the
    server ran, the mean server time per call, buffers touched and WAL records written
    (pg_stat_statements, nested statements included: the foreign key checks run inside the
    INSERT that fired them, and their time is part of that INSERT's).
  * Server time per transaction of each workload of bench_order_path.py (both order path forms
    and pgbench's TPC-B), each run the same way: the time the server spent executing the
    workload's statements (BEGIN and COMMIT not tracked) per transaction, with tx/s and
    statements per transaction. What a workload costs beyond that time (round trips, commits,
    the client) is what separates its tx/s from the server time alone.
  * Single-row INSERTs into `orders`, one session (a DO loop of --rows inserts, --rounds rounds
    alternated): as the schema has the table, and with its CHECK constraints dropped (a second
    database). PostgreSQL reads and prepares every CHECK constraint of the table again for each
    statement that writes it; the difference is what that costs per INSERT.

Run: .venv/bin/python benchmarks/order_path_costs.py [--clients 4] [--seconds 10] [--rows 20000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from bench_order_path import (
    ONE_STATEMENT,
    STEPS,
    TPCB,
    TPCB_DATABASE,
    add_workload_options,
    init_tpcb,
    run_order_path,
    run_tpcb,
    write_scripts,
)
from pgbench_runs import RunResult
from psycopg import sql
from schema_server import SchemaServer, machine_note, schema_server
from seed_data import instrument_id_sql, seed_instruments

UNCHECKED_DATABASE = "openalgo_orders_unchecked"
STATEMENT_STATS = {
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "all",
    "pg_stat_statements.track_utility": "off",
}
STATEMENT_COSTS = """
SELECT toplevel, calls, total_exec_time / calls * 1000,
       (shared_blks_hit + shared_blks_read)::float8 / calls, wal_records::float8 / calls,
       regexp_replace(query, '\\s+', ' ', 'g')
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND calls >= %s
ORDER BY toplevel DESC, total_exec_time DESC
"""
WORKLOAD_SERVER_TIME = """
SELECT coalesce(sum(total_exec_time), 0) * 1000, coalesce(sum(calls), 0)
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s) AND toplevel
"""
CHECK_CONSTRAINTS = """
SELECT conname FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'c'
ORDER BY conname
"""


def orders_insert_loop(rows: int, accounts: int, instruments: int) -> str:
    """The seed's place-order INSERT, one statement per row, in one session."""
    instrument = instrument_id_sql(f"1 + i % {instruments}")
    return f"""\
DO $$ BEGIN FOR i IN 1..{rows} LOOP
    INSERT INTO orders (account_id, instrument_id, order_type,
                        transaction_type, product_type, quantity, price)
    VALUES ((1 + i % {accounts})::text, {instrument}, 'LIMIT', 'BUY', 'DELIVERY',
            1 + i % 100, 100.5);
END LOOP; END $$"""


@dataclass(frozen=True)
class StatementCost:
    toplevel: bool
    calls: int
    exec_us: float
    buffers: float
    wal_records: float
    query: str


def statement_costs(server: SchemaServer, min_calls: int) -> list[StatementCost]:
    with psycopg.connect(server.admin_conninfo()) as conn:
        rows = conn.execute(STATEMENT_COSTS, (min_calls,)).fetchall()
    return [StatementCost(*row) for row in rows]


@dataclass(frozen=True)
class WorkloadCost:
    """One measured run of a workload and the server's execution time over it."""

    workload: str
    run: RunResult
    server_us: float
    statements: int

    @property
    def server_us_per_transaction(self) -> float:
        return self.server_us / self.run.transactions

    @property
    def statements_per_transaction(self) -> float:
        return self.statements / self.run.transactions


def measure(
    server: SchemaServer, workload: str, database: str, run: Callable[[], RunResult]
) -> WorkloadCost:
    """A warm-up run, then a measured one with the statement statistics reset between."""
    run()
    server.admin_execute("SELECT pg_stat_statements_reset()")
    measured = run()
    with psycopg.connect(server.admin_conninfo()) as conn:
        row = conn.execute(WORKLOAD_SERVER_TIME, (database,)).fetchone()
    assert row is not None
    server_us, statements = row
    return WorkloadCost(workload, measured, float(server_us), int(statements))


def drop_check_constraints(server: SchemaServer, database: str) -> int:
    with psycopg.connect(server.admin_conninfo(database), autocommit=True) as conn:
        names = [name for (name,) in conn.execute(CHECK_CONSTRAINTS).fetchall()]
        for name in names:
            conn.execute(
                sql.SQL("ALTER TABLE orders DROP CONSTRAINT {}").format(sql.Identifier(name))
            )
    return len(names)


def time_inserts(server: SchemaServer, database: str, loop: str, rows: int) -> float:
    """Microseconds per INSERT of one run of ``loop``, as the application role."""
    with psycopg.connect(server.app_conninfo(database), autocommit=True) as conn:
        start = time.perf_counter()
        conn.execute(loop)
        return (time.perf_counter() - start) / rows * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=4, help="pgbench clients")
    parser.add_argument("--seconds", type=int, default=10, help="warm-up and measured run")
    parser.add_argument("--rows", type=int, default=20_000, help="INSERTs per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds of INSERTs")
    add_workload_options(parser)
    args = parser.parse_args()

    note = machine_note()
    with (
        schema_server(extra_databases=(UNCHECKED_DATABASE,), settings=STATEMENT_STATS) as server,
        tempfile.TemporaryDirectory() as work,
    ):
        pgbench = server.bindir / "pgbench"
        for database in (server.database, UNCHECKED_DATABASE):
            seed_instruments(server.app_conninfo(database), args.instruments)
        server.admin_execute("CREATE EXTENSION pg_stat_statements")
        init_tpcb(server, args.scale, pgbench)
        scripts = write_scripts(Path(work), args.accounts, args.instruments)
        steps, one_statement = scripts[STEPS], scripts[ONE_STATEMENT]
        clients, seconds = args.clients, args.seconds
        stepwise = measure(
            server,
            STEPS,
            server.database,
            lambda: run_order_path(server, steps, clients, seconds, pgbench),
        )
        # Read before the next workload's measurement resets the statistics.
        run = stepwise.run
        costs = statement_costs(server, min_calls=max(1, run.transactions // 2))
        workloads = [
            stepwise,
            measure(
                server,
                ONE_STATEMENT,
                server.database,
                lambda: run_order_path(server, one_statement, clients, seconds, pgbench),
            ),
            measure(
                server, TPCB, TPCB_DATABASE, lambda: run_tpcb(server, clients, seconds, pgbench)
            ),
        ]

        dropped = drop_check_constraints(server, UNCHECKED_DATABASE)
        loop = orders_insert_loop(args.rows, args.accounts, args.instruments)
        inserts: dict[str, list[float]] = {server.database: [], UNCHECKED_DATABASE: []}
        for _ in range(args.rounds):
            for database, samples in inserts.items():
                samples.append(time_inserts(server, database, loop, args.rows))

    print(note)
    print(
        f"order path, step by step: server time per statement (pg_stat_statements), "
        f"{args.clients} client(s), {args.seconds} s after a warm-up of {args.seconds} s, "
        f"{run.transactions} transactions ({run.tps:.0f} tx/s)"
    )
    print("  us/call  buffers/call  WAL records/call  statement")
    for cost in costs:
        nesting = "" if cost.toplevel else "  (nested) "
        print(
            f"  {cost.exec_us:7.1f}  {cost.buffers:12.1f}  {cost.wal_records:16.1f}  "
            f"{nesting}{cost.query[:80]}"
        )
    print(
        f"server execution time per transaction, each workload at {args.clients} client(s), "
        f"{args.seconds} s after a warm-up of {args.seconds} s (TPC-B at scale {args.scale}):"
    )
    width = max(len(w.workload) for w in workloads)
    print(f"  {'workload':<{width}}  {'tx/s':>7}  server us/tx  statements/tx")
    for workload in workloads:
        server_time = f"{workload.server_us_per_transaction:12.1f}"
        print(
            f"  {workload.workload:<{width}}  {workload.run.tps:7.0f}  {server_time}"
            f"  {workload.statements_per_transaction:13.1f}"
        )

    checked = statistics.median(inserts[server.database])
    unchecked = statistics.median(inserts[UNCHECKED_DATABASE])
    print(
        f"orders INSERT, one session, {args.rows} rows a round, median of {args.rounds} "
        "alternated rounds:"
    )
    print(f"  with the schema's {dropped} CHECK constraints: {checked:6.1f} us")
    print(f"  without them:                          {unchecked:6.1f} us")
    print(f"  preparing the CHECK constraints for each INSERT: {checked - unchecked:.1f} us")


if __name__ == "__main__":
    main()
