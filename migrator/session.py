"""Connections that count what they send, so a no-op apply can be shown to send no DDL at all."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, LiteralString

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from database.connect import ConnectError
from database.connect import connect as open_connection
from migrator.errors import ConnectionFailedError
from migrator.statements import is_ddl

Query = LiteralString | sql.Composed | sql.SQL
Params = Sequence[Any] | Mapping[str, Any] | None


@dataclass
class Counters:
    """Totals for one engine call; shared by every connection it opens."""

    connections: int = 0
    round_trips: int = 0
    ddl_statements: int = 0
    other_statements: int = 0


class Session:
    """An autocommit connection whose queries are counted; transactions are explicit."""

    def __init__(self, conn: psycopg.Connection[tuple[Any, ...]], counters: Counters) -> None:
        self._conn = conn
        self.counters = counters

    @property
    def raw(self) -> psycopg.Connection[tuple[Any, ...]]:
        return self._conn

    def rows(self, query: Query, params: Params = None) -> list[tuple[Any, ...]]:
        self.counters.round_trips += 1
        cursor = self._conn.execute(query, params)
        return cursor.fetchall() if cursor.description is not None else []

    def run(self, query: Query, params: Params = None, *, ddl: bool = False) -> int:
        """Execute one statement; `ddl` marks it as a schema or role change for the totals."""
        self.counters.round_trips += 1
        if ddl:
            self.counters.ddl_statements += 1
        return self._conn.execute(query, params).rowcount

    def run_statement(self, text: str) -> None:
        """Execute one statement of a migration file, counted as DDL or as another statement."""
        self._count(text)
        self.run(text)

    def _count(self, text: str) -> None:
        if is_ddl(text):
            self.counters.ddl_statements += 1
        else:
            self.counters.other_statements += 1

    @contextlib.contextmanager
    def batched_transaction(self) -> Iterator[None]:
        """A transaction whose BEGIN the block sends with its first statements (begin_with), so
        opening it costs no round trip of its own; COMMIT after the block, ROLLBACK if it
        raises."""
        try:
            yield
        except BaseException:
            if not self.broken and self._conn.info.transaction_status != TransactionStatus.IDLE:
                with contextlib.suppress(psycopg.Error):
                    self.run("ROLLBACK")
            raise
        self.run("COMMIT")

    def begin_with(
        self, guard: Query, settings: Sequence[Query] = (), statements: Sequence[str] = ()
    ) -> list[tuple[Any, ...]]:
        """BEGIN, `guard`, `settings`, then migration `statements` (counted as run_statement
        counts them), in one round trip; returns the rows of `guard`. The simple query protocol
        takes several statements but no parameters, so `guard` and `settings` come with their
        values written in (bind). A statement may end in a line comment, hence the newline
        before each `;`."""
        for text in statements:
            self._count(text)
        cursor = self._send(("BEGIN", guard, *settings, *statements))
        cursor.nextset()
        return cursor.fetchall()

    def script(self, queries: Sequence[Query]) -> None:
        """`queries`, with their values written in (bind), in one round trip."""
        self._send(queries)

    def _send(self, queries: Sequence[Query | str]) -> psycopg.Cursor[tuple[Any, ...]]:
        self.counters.round_trips += 1
        return self._conn.execute("".join(f"{self._text(query)}\n;\n" for query in queries))

    def bind(self, query: LiteralString, params: Mapping[str, Any]) -> str:
        """`query` with `params` written in as literals, the way the server would read them."""
        return psycopg.ClientCursor(self._conn).mogrify(query, params)

    def _text(self, query: Query | str) -> str:
        return query if isinstance(query, str) else query.as_string(self._conn)

    def close(self) -> None:
        self._conn.close()

    @property
    def broken(self) -> bool:
        return self._conn.broken or self._conn.closed


def connect(
    dsn: str,
    counters: Counters,
    *,
    dbname: str | None = None,
    options: Mapping[str, str] | None = None,
    application_name: str = "openalgo-migrator",
    secrets: Sequence[str] = (),
) -> Session:
    """Open an autocommit session; failures become ConnectionFailedError without any password."""
    overrides = {**(options or {}), "application_name": application_name}
    if dbname is not None:
        overrides["dbname"] = dbname
    try:
        conn = open_connection(dsn, overrides, secrets=secrets)
    except ConnectError as exc:
        raise ConnectionFailedError(str(exc)) from None
    counters.connections += 1
    return Session(conn, counters)
