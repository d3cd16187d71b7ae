"""Benchmark of the schema's order path against pgbench TPC-B on a local PostgreSQL 15 (not a test).

The order path is the hot transaction of the seed schema, run as the least-privileged `openalgo`
role: the original deployment's place-order INSERT, the fill recorded in `trades`, the position
upserted, an `audit_log` row appended, in one transaction. It runs in two forms that write the
same rows: step by step (BEGIN, the four statements, COMMIT: six round trips), and as one
statement whose writes are chained with WITH (one round trip, atomic on its own). All workloads
are driven by pgbench (`-M prepared`, same clients, same server, same duration), so the client
and protocol cost the same and the ratio is what the order path costs compared with TPC-B's five
statements. One unmeasured run of each workload comes first: the order tables start empty, and a
session that plans the fill's foreign key check on an empty, analyzed `orders` keeps a sequential
scan of it for the whole run. Then runs alternate (each order path form, then TPC-B, at each
client count, for --repeats rounds). Medians are printed, and against the target (order path
>= 0.5x TPC-B's tx/s) the median of each round's ratio; then a check that every order written has
its fill, its audit row and its quantity in a position.

Run: .venv/bin/python benchmarks/bench_order_path.py [--seconds S] [--repeats N] [--clients 1,4,16]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import psycopg
from pgbench_runs import RunResult, median_result, run_pgbench
from schema_server import (
    APP_USER,
    DEFAULT_SHARED_BUFFERS,
    SchemaServer,
    machine_note,
    schema_server,
)
from seed_data import INSTRUMENT_ID_SQL as INSTRUMENT_ID
from seed_data import seed_instruments

TARGET_RATIO = 0.5
TPCB_DATABASE = "pgbench_tpcb"
ORDER_TABLES = ("orders", "trades", "positions", "audit_log")


ORDER_PATH_VARIABLES = """\
\\set account random(1, {accounts})
\\set instrument random(1, {instruments})
\\set quantity random(1, 100)
\\set price random(10000, 500000) / 100.0
"""
POSITION_UPSERT = """\
ON CONFLICT (account_id, instrument_id, product_type) DO UPDATE SET
    average_price = (positions.average_price * positions.quantity
                     + EXCLUDED.average_price * EXCLUDED.quantity)
                    / (positions.quantity + EXCLUDED.quantity),
    quantity = positions.quantity + EXCLUDED.quantity,
    updated_at = now()"""


def order_path_script(accounts: int, instruments: int) -> str:
    """The hot transaction step by step, as a pgbench script. The first INSERT is the seed's
    place-order statement; the order id it returns feeds the fill and the audit row."""
    return (
        ORDER_PATH_VARIABLES.format(accounts=accounts, instruments=instruments)
        + f"""\
BEGIN;
INSERT INTO orders (account_id, instrument_id, order_type,
                    transaction_type, product_type, quantity, price)
VALUES (:account, {INSTRUMENT_ID}, 'LIMIT', 'BUY', 'DELIVERY', :quantity, :price)
RETURNING id AS order_id \\gset
INSERT INTO trades (order_id, account_id, instrument_id, transaction_type, product_type,
                    quantity, price)
VALUES (:order_id, :account, {INSTRUMENT_ID}, 'BUY', 'DELIVERY', :quantity, :price);
INSERT INTO positions (account_id, instrument_id, product_type, quantity, average_price)
VALUES (:account, {INSTRUMENT_ID}, 'DELIVERY', :quantity, :price)
{POSITION_UPSERT};
INSERT INTO audit_log (actor, account_id, action, entity_type, entity_id, new_values)
VALUES ('order-router', :account, 'order.place', 'order', :order_id,
        jsonb_build_object('quantity', :quantity::int8, 'price', :price::numeric));
COMMIT;
"""
    )


def order_path_statement() -> str:
    """The same four writes as one statement: the seed's place-order INSERT, whose RETURNING
    feeds the fill, the position and the audit row. One statement is one transaction, which
    CockroachDB retries by itself on a conflict, where a transaction of several statements
    leaves the retry to the client."""
    return f"""\
WITH placed AS (
    INSERT INTO orders (account_id, instrument_id, order_type,
                        transaction_type, product_type, quantity, price)
    VALUES (:account, {INSTRUMENT_ID}, 'LIMIT', 'BUY', 'DELIVERY', :quantity, :price)
    RETURNING id, account_id, instrument_id, quantity, price
), filled AS (
    INSERT INTO trades (order_id, account_id, instrument_id, transaction_type, product_type,
                        quantity, price)
    SELECT id, account_id, instrument_id, 'BUY', 'DELIVERY', quantity, price FROM placed
), held AS (
    INSERT INTO positions (account_id, instrument_id, product_type, quantity, average_price)
    SELECT account_id, instrument_id, 'DELIVERY', quantity, price FROM placed
{POSITION_UPSERT}
)
INSERT INTO audit_log (actor, account_id, action, entity_type, entity_id, new_values)
SELECT 'order-router', account_id, 'order.place', 'order', id::TEXT,
       jsonb_build_object('quantity', quantity, 'price', price)
FROM placed"""


def one_statement_script(accounts: int, instruments: int) -> str:
    variables = ORDER_PATH_VARIABLES.format(accounts=accounts, instruments=instruments)
    return variables + order_path_statement() + ";\n"


WRITES_CHECK = """
SELECT
    (SELECT count(*) FROM orders),
    (SELECT count(*) FROM trades t JOIN orders o
        ON o.id = t.order_id AND o.quantity = t.quantity AND o.price = t.price),
    (SELECT count(*) FROM audit_log a JOIN orders o
        ON a.entity_id = o.id::TEXT AND a.action = 'order.place'
       AND (a.new_values ->> 'quantity')::numeric = o.quantity),
    (SELECT coalesce(sum(quantity), 0) FROM orders) = (SELECT coalesce(sum(quantity), 0)
                                                        FROM positions)
"""


def writes_check(server: SchemaServer) -> str:
    """What the order path runs wrote: every order with its fill and audit row, and every
    quantity ordered held in a position."""
    with psycopg.connect(server.app_conninfo()) as conn:
        row = conn.execute(WRITES_CHECK).fetchone()
    assert row is not None
    orders, fills, audits, positions_hold = row
    complete = orders == fills == audits and positions_hold
    return (
        f"writes check: {orders} orders, {fills} with their fill, {audits} with their audit "
        f"row; positions hold every quantity ordered: {'yes' if positions_hold else 'NO'} "
        f"({'complete' if complete else 'INCOMPLETE'})"
    )


def paired_ratios(form_runs: Sequence[RunResult], tpcb_runs: Sequence[RunResult]) -> list[float]:
    """Each round's order path tx/s over the TPC-B run of the same round and client count. The
    two ran less than half a minute apart, so a change in what else loads the machine between
    rounds mostly cancels out of their ratio; it does not cancel out of a ratio of medians."""
    if len(form_runs) != len(tpcb_runs) or not form_runs:
        raise ValueError(
            f"paired ratios need one TPC-B run per order path run: {len(form_runs)} order path "
            f"runs, {len(tpcb_runs)} TPC-B runs"
        )
    return [form.tps / tpcb.tps for form, tpcb in zip(form_runs, tpcb_runs, strict=True)]


def ratio_verdict(
    form_runs: Sequence[RunResult], tpcb_runs: Sequence[RunResult], target: float
) -> str:
    """The median of the paired ratios against the target, with their spread and the ratio of
    the medians for comparison."""
    ratios = paired_ratios(form_runs, tpcb_runs)
    median = statistics.median(ratios)
    of_medians = statistics.median(r.tps for r in form_runs) / statistics.median(
        r.tps for r in tpcb_runs
    )
    return (
        f"{median:.2f} [{min(ratios):.2f}..{max(ratios):.2f}] "
        f"(target >= {target:.2f}: {'met' if median >= target else 'NOT met'}); "
        f"ratio of the medians {of_medians:.2f}"
    )


def conninfo_args(server: SchemaServer, database: str, user: str) -> list[str]:
    return [
        f"--host={server.info.host}",
        f"--port={server.info.port}",
        f"--username={user}",
        database,
    ]


def run_order_path(
    server: SchemaServer, script: Path, clients: int, seconds: int, pgbench: Path
) -> RunResult:
    server.admin_execute("VACUUM ANALYZE " + ", ".join(ORDER_TABLES))
    return run_pgbench(
        pgbench,
        conninfo_args=conninfo_args(server, server.database, APP_USER),
        env=server.client_env(server.app_password),
        clients=clients,
        seconds=seconds,
        workload_args=["--no-vacuum", f"--file={script}"],
    )


def run_tpcb(server: SchemaServer, clients: int, seconds: int, pgbench: Path) -> RunResult:
    """pgbench's built-in TPC-B-like script; pgbench vacuums its own tables before the run."""
    return run_pgbench(
        pgbench,
        conninfo_args=conninfo_args(server, TPCB_DATABASE, server.info.admin_user),
        env=server.client_env(server.info.admin_password),
        clients=clients,
        seconds=seconds,
        workload_args=["--builtin=tpcb-like"],
    )


def init_tpcb(server: SchemaServer, scale: int, pgbench: Path) -> None:
    server.admin_execute(f"CREATE DATABASE {TPCB_DATABASE}", database="postgres")
    subprocess.run(
        [
            str(pgbench),
            *conninfo_args(server, TPCB_DATABASE, server.info.admin_user),
            "--initialize",
            "--quiet",
            f"--scale={scale}",
        ],
        env=server.client_env(server.info.admin_password),
        capture_output=True,
        check=True,
    )


def parse_warm_up(text: str) -> int:
    seconds = int(text)
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"warm-up: {seconds} seconds; 0 (none) or more")
    return seconds


def parse_clients(text: str) -> list[int]:
    clients = [int(part) for part in text.split(",") if part.strip()]
    if not clients or min(clients) < 1:
        raise argparse.ArgumentTypeError("clients: a comma-separated list of numbers >= 1")
    return clients


STEPS = "order path, step by step"
ONE_STATEMENT = "order path, one statement"
TPCB = "TPC-B"
WORKLOAD_WIDTH = max(len(STEPS), len(ONE_STATEMENT))


def add_workload_options(parser: argparse.ArgumentParser) -> None:
    """The options that size the compared workloads, shared by the benchmarks that run them."""
    parser.add_argument("--scale", type=int, default=16, help="pgbench scale (branches)")
    parser.add_argument("--accounts", type=int, default=1000, help="trading accounts")
    parser.add_argument("--instruments", type=int, default=500, help="instruments traded")


def write_scripts(directory: Path, accounts: int, instruments: int) -> dict[str, Path]:
    """Both order path forms as pgbench scripts in ``directory``, by workload name."""
    scripts = {
        STEPS: (directory / "order_path_steps.sql", order_path_script),
        ONE_STATEMENT: (directory / "order_path_one_statement.sql", one_statement_script),
    }
    for path, script in scripts.values():
        path.write_text(script(accounts, instruments))
    return {workload: path for workload, (path, _) in scripts.items()}


def row(clients: int, workload: str, runs: Sequence[RunResult]) -> str:
    median = median_result(runs)
    spread = f"[{min(r.tps for r in runs):.0f}..{max(r.tps for r in runs):.0f}]"
    return (
        f"{clients:>7}  {workload:<{WORKLOAD_WIDTH}}  {median.tps:>8.0f} {spread:<13}  "
        f"{median.p50_ms:>6.2f}  {median.p99_ms:>6.2f}  {median.failed:>6}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=12, help="duration of each run")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of alternated runs")
    parser.add_argument(
        "--warm-up",
        type=parse_warm_up,
        default=5,
        help="seconds of one unmeasured run of each workload before the rounds (0: none)",
    )
    parser.add_argument("--clients", type=parse_clients, default=[1, 4, 16])
    add_workload_options(parser)
    parser.add_argument("--shared-buffers", default=DEFAULT_SHARED_BUFFERS, help="server setting")
    args = parser.parse_args()

    note = machine_note()
    results: dict[tuple[int, str], list[RunResult]] = {}
    with (
        schema_server(shared_buffers=args.shared_buffers) as server,
        tempfile.TemporaryDirectory() as work,
    ):
        pgbench = server.bindir / "pgbench"
        seed_instruments(server.app_conninfo(), args.instruments)
        init_tpcb(server, args.scale, pgbench)
        scripts = write_scripts(Path(work), args.accounts, args.instruments)
        with psycopg.connect(server.admin_conninfo()) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        if args.warm_up:
            for script in scripts.values():
                run_order_path(server, script, max(args.clients), args.warm_up, pgbench)
            run_tpcb(server, max(args.clients), args.warm_up, pgbench)
        for _ in range(args.repeats):
            for clients in args.clients:
                for workload, script in scripts.items():
                    order = run_order_path(server, script, clients, args.seconds, pgbench)
                    results.setdefault((clients, workload), []).append(order)
                tpcb = run_tpcb(server, clients, args.seconds, pgbench)
                results.setdefault((clients, TPCB), []).append(tpcb)
        checked = writes_check(server)

    print(
        f"order path (seed's hot transaction as role {APP_USER}) vs pgbench TPC-B "
        f"(scale {args.scale}) on PostgreSQL {version[0] if version else '?'} "
        f"(fsync off, shared_buffers {args.shared_buffers})"
    )
    print(note)
    print(
        f"{args.repeats} round(s) of alternated {args.seconds} s runs after a {args.warm_up} s "
        f"warm-up of each workload, pgbench -M prepared for all; {args.accounts} accounts x "
        f"{args.instruments} instruments; medians, tx/s [min..max]; ratios: the median of each "
        "round's order path / TPC-B [min..max]"
    )
    print(f"clients  {'workload':<{WORKLOAD_WIDTH}}  tx/s [min..max]        p50 ms  p99 ms  failed")
    for clients in args.clients:
        tpcb_runs = results[(clients, TPCB)]
        for workload in (*scripts, TPCB):
            print(row(clients, workload, results[(clients, workload)]))
        for workload in scripts:
            verdict = ratio_verdict(results[(clients, workload)], tpcb_runs, TARGET_RATIO)
            print(f"{clients:>7}  ratio {workload} / TPC-B tx/s: {verdict}")
    print(checked)


if __name__ == "__main__":
    main()
