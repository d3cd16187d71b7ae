"""Instruments the benchmarks trade and tick: predictable UUIDs, so a pgbench script or a data
generator can name instrument n without looking it up."""

from __future__ import annotations

import uuid

import psycopg

INSTRUMENT_ID_PREFIX = "00000000-0000-4000-8000-"


def instrument_id_sql(number: str) -> str:
    """The id of instrument ``number`` (an SQL expression), computed by the server."""
    return f"('{INSTRUMENT_ID_PREFIX}' || lpad(({number})::text, 12, '0'))::uuid"


# Instrument `:instrument` of a pgbench script.
INSTRUMENT_ID_SQL = instrument_id_sql(":instrument")
SEED_INSTRUMENTS = f"""
INSERT INTO instruments (id, symbol, brsymbol, exchange, token, instrumenttype)
SELECT {instrument_id_sql("n")},
       'SYM' || n, 'SYM' || n || '-EQ', 'NSE', n::text, 'EQ'
FROM generate_series(1, %s) AS n
"""


def instrument_id(number: int) -> uuid.UUID:
    return uuid.UUID(f"{INSTRUMENT_ID_PREFIX}{number:012d}")


def seed_instruments(conninfo: str, count: int) -> None:
    """Instruments 1..count (NSE equities SYM1, SYM2, ...)."""
    with psycopg.connect(conninfo) as conn:
        conn.execute(SEED_INSTRUMENTS, (count,))
