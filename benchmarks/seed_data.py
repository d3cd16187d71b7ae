"""Instruments the benchmarks trade and tick: predictable UUIDs, so a pgbench script or a data
generator can name instrument n without looking it up."""

from __future__ import annotations

import uuid

import psycopg

INSTRUMENT_ID_PREFIX = "00000000-0000-4000-8000-"
# The same id, computed by the server from a pgbench variable.
INSTRUMENT_ID_SQL = f"('{INSTRUMENT_ID_PREFIX}' || lpad(:instrument::text, 12, '0'))::uuid"
SEED_INSTRUMENTS = f"""
INSERT INTO instruments (id, symbol, brsymbol, exchange, token, instrumenttype)
SELECT ('{INSTRUMENT_ID_PREFIX}' || lpad(n::text, 12, '0'))::uuid,
       'SYM' || n, 'SYM' || n || '-EQ', 'NSE', n::text, 'EQ'
FROM generate_series(1, %s) AS n
"""


def instrument_id(number: int) -> uuid.UUID:
    return uuid.UUID(f"{INSTRUMENT_ID_PREFIX}{number:012d}")


def seed_instruments(conninfo: str, count: int) -> None:
    """Instruments 1..count (NSE equities SYM1, SYM2, ...)."""
    with psycopg.connect(conninfo) as conn:
        conn.execute(SEED_INSTRUMENTS, (count,))
