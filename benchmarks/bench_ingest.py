"""Benchmark of tick ingest and the runbook reads on one local PostgreSQL 15 (not a test).

Prints:
  * `COPY` of --rows ticks into the schema's `market_data` (as the `openalgo` role) against the
    same table without its secondary index (`idx_market_data_instrument_time` dropped in a second
    database with the same schema), alternated for --repeats rounds; rows/s medians and their
    ratio against the target (>= 0.7x).
  * The reads the runbooks show, on the last ingest plus seeded positions and candles: each
    query's median time as the `openalgo` role and how its plan reads every table (EXPLAIN).

Run: .venv/bin/python benchmarks/bench_ingest.py [--rows N] [--repeats N] [--query-runs N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from query_plans import table_accesses, uses_index
from schema_server import SchemaServer, machine_note, schema_server
from seed_data import instrument_id, seed_instruments

TARGET_RATIO = 0.7
BARE_DATABASE = "openalgo_ticks_without_secondary_index"
SECONDARY_INDEX = "idx_market_data_instrument_time"
COPY_TICKS = (
    "COPY market_data (instrument_id, ts, ltp, last_quantity, volume, open_interest, "
    "bid_price, bid_quantity, ask_price, ask_quantity) FROM STDIN"
)
ROWS_PER_CHUNK = 10_000
MARKET_OPEN = dt.datetime(2026, 12, 1, 3, 45, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ReadQuery:
    """A read the runbooks show; `parameter` picks the account or instrument of one run."""

    name: str
    statement: str
    parameter: str | None


READS = (
    ReadQuery("active positions, whole desk (runbook)", "SELECT * FROM v_active_positions", None),
    ReadQuery(
        "active positions of one account",
        "SELECT * FROM v_active_positions WHERE account_id = %s",
        "account",
    ),
    ReadQuery(
        "latest 1m candle per symbol",
        "SELECT i.symbol, c.ts, c.open, c.high, c.low, c.close, c.volume "
        "FROM instruments AS i CROSS JOIN LATERAL ("
        " SELECT ts, open, high, low, close, volume FROM candles"
        " WHERE instrument_id = i.id AND timeframe = '1m' ORDER BY ts DESC LIMIT 1) AS c "
        "WHERE i.is_active",
        None,
    ),
    ReadQuery(
        "latest 100 1m candles of one symbol",
        "SELECT ts, open, high, low, close, volume FROM candles "
        "WHERE instrument_id = %s AND timeframe = '1m' ORDER BY ts DESC LIMIT 100",
        "instrument",
    ),
    ReadQuery(
        "latest tick of one symbol",
        "SELECT ts, ltp, volume FROM market_data WHERE instrument_id = %s ORDER BY ts DESC LIMIT 1",
        "instrument",
    ),
)


def tick_chunks(rows: int, instruments: int, seed: int = 7) -> list[bytes]:
    """Ticks in COPY text format: a random instrument per tick, exchange time moving forward
    through the session, prices around a random level per instrument."""
    rng = random.Random(seed)  # noqa: S311 - test data, reproducible by seed
    levels = [rng.uniform(50, 5000) for _ in range(instruments)]
    ids = [str(instrument_id(n + 1)) for n in range(instruments)]
    step = dt.timedelta(microseconds=max(1, 6 * 3600 * 10**6 // max(rows, 1)))
    chunks: list[bytes] = []
    lines: list[str] = []
    for i in range(rows):
        n = rng.randrange(instruments)
        ltp = round(levels[n] * rng.uniform(0.99, 1.01), 2)
        ts = (MARKET_OPEN + step * i).isoformat()
        volume = rng.randrange(1, 10_000_000)
        lines.append(
            f"{ids[n]}\t{ts}\t{ltp}\t{rng.randrange(1, 500)}\t{volume}\t\\N\t"
            f"{round(ltp - 0.05, 2)}\t{rng.randrange(1, 5000)}\t{round(ltp + 0.05, 2)}\t"
            f"{rng.randrange(1, 5000)}\n"
        )
        if len(lines) == ROWS_PER_CHUNK:
            chunks.append("".join(lines).encode())
            lines = []
    if lines:
        chunks.append("".join(lines).encode())
    return chunks


def time_copy(server: SchemaServer, database: str, chunks: Sequence[bytes]) -> float:
    """Seconds for one COPY of every chunk, committed, into an emptied table."""
    server.admin_execute("TRUNCATE market_data", database=database)
    server.admin_execute("CHECKPOINT", database=database)
    conninfo = server.app_conninfo(database)
    with psycopg.connect(conninfo) as conn:
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(COPY_TICKS) as copy:
            for chunk in chunks:
                copy.write(chunk)
        conn.commit()
        return time.perf_counter() - started


def seed_positions_and_candles(server: SchemaServer, accounts: int, instruments: int) -> None:
    """Positions (20 per account, a quarter of them flat) and one trading day of 1m candles
    (375 per instrument), then ANALYZE."""
    server.admin_execute(
        f"""
        INSERT INTO positions (account_id, instrument_id, product_type, quantity,
                               average_price, last_price)
        SELECT a::text, ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'MIS',
               CASE WHEN (a + i) % 4 = 0 THEN 0 ELSE (a * i) % 200 - 100 + 1 END,
               100 + i, 101 + i
        FROM generate_series(1, {accounts}) AS a,
             generate_series(1, 20) AS k,
             LATERAL (SELECT 1 + (a * 37 + k * 101) % {instruments} AS i) AS pick
        ON CONFLICT DO NOTHING
        """
    )
    server.admin_execute(
        f"""
        INSERT INTO candles (instrument_id, timeframe, ts, open, high, low, close, volume)
        SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, '1m',
               TIMESTAMPTZ '{MARKET_OPEN.isoformat()}' + m * INTERVAL '1 minute',
               100 + i, 101 + i, 99 + i, 100.5 + i, 1000 * m
        FROM generate_series(1, {instruments}) AS i, generate_series(0, 374) AS m
        """
    )
    server.admin_execute("ANALYZE")


def time_read(
    server: SchemaServer, query: ReadQuery, runs: int, accounts: int, instruments: int
) -> tuple[list[float], list[str]]:
    """Milliseconds of each run (a random account or instrument each time) and the plan's table
    accesses for one representative parameter."""
    rng = random.Random(11)  # noqa: S311 - query parameters, reproducible by seed

    def parameters() -> tuple[object, ...]:
        if query.parameter == "account":
            return (str(rng.randrange(1, accounts + 1)),)
        if query.parameter == "instrument":
            return (instrument_id(rng.randrange(1, instruments + 1)),)
        return ()

    samples: list[float] = []
    with psycopg.connect(server.app_conninfo(), autocommit=True) as conn:
        plan = conn.execute(f"EXPLAIN (FORMAT JSON) {query.statement}", parameters()).fetchone()
        for _ in range(runs):
            args = parameters()
            started = time.perf_counter()
            conn.execute(query.statement, args).fetchall()
            samples.append((time.perf_counter() - started) * 1000)
    return samples, table_accesses(plan[0]) if plan else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="ticks per COPY")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of alternated COPYs")
    parser.add_argument("--instruments", type=int, default=500, help="instruments ticking")
    parser.add_argument("--accounts", type=int, default=1000, help="accounts holding positions")
    parser.add_argument("--query-runs", type=int, default=50, help="runs of each read query")
    args = parser.parse_args()

    note = machine_note()
    chunks = tick_chunks(args.rows, args.instruments)
    copy_seconds: dict[str, list[float]] = {"schema": [], "bare": []}
    reads: list[tuple[ReadQuery, list[float], list[str]]] = []
    with schema_server(extra_databases=(BARE_DATABASE,)) as server:
        for database in (server.database, BARE_DATABASE):
            seed_instruments(server.app_conninfo(database), args.instruments)
        server.admin_execute(f"DROP INDEX {SECONDARY_INDEX}", database=BARE_DATABASE)
        for _ in range(args.repeats):
            copy_seconds["schema"].append(time_copy(server, server.database, chunks))
            copy_seconds["bare"].append(time_copy(server, BARE_DATABASE, chunks))
        seed_positions_and_candles(server, args.accounts, args.instruments)
        for query in READS:
            samples, accesses = time_read(
                server, query, args.query_runs, args.accounts, args.instruments
            )
            reads.append((query, samples, accesses))

    print("tick ingest: COPY into market_data as role openalgo, PostgreSQL 15 (fsync off)")
    print(note)
    print(
        f"{args.rows} rows per COPY, {args.instruments} instruments, {args.repeats} alternated "
        "round(s); median rows/s [min..max]"
    )
    rates = {name: [args.rows / s for s in seconds] for name, seconds in copy_seconds.items()}
    print(f"schema table (pkey + {SECONDARY_INDEX}): {fmt_rate(rates['schema'])}")
    print(f"without secondary index (pkey only):     {fmt_rate(rates['bare'])}")
    ratio = statistics.median(rates["schema"]) / statistics.median(rates["bare"])
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(
        f"ratio schema / without secondary index: {ratio:.2f} "
        f"(target >= {TARGET_RATIO:.2f}: {verdict})"
    )
    print(f"reads as role openalgo, {args.query_runs} runs each, median ms [min..max]; plan:")
    for query, samples, accesses in reads:
        index = "index used" if uses_index(accesses) else "NO index"
        print(f"  {query.name}: {fmt_ms(samples)} ({index})")
        for access in accesses:
            print(f"      {access}")


def fmt_rate(samples: list[float]) -> str:
    return f"{statistics.median(samples):,.0f} rows/s [{min(samples):,.0f}..{max(samples):,.0f}]"


def fmt_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples):.2f} ms [{min(samples):.2f}..{max(samples):.2f}]"


if __name__ == "__main__":
    main()
