"""Opening a connection: one timeout, libpq option overrides, and errors that hold no secret.

Every caller passes the DSN as the operator wrote it plus libpq options that override it: TLS
file paths, ``hostaddr``/``port`` of a port-forward, ``dbname``, ``application_name``. A
``connect_timeout`` in the DSN or the overrides wins over ``CONNECT_TIMEOUT_S``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from database.redaction import dsn_problem, redact_dsn, redact_message, scrub

CONNECT_TIMEOUT_S = 10
"""Seconds libpq waits for a server before giving up, unless the DSN or a caller says otherwise."""

Connection = psycopg.Connection[tuple[Any, ...]]


class ConnectError(Exception):
    """The DSN is unusable or the server could not be reached; the message holds no secret."""


def conninfo_with_defaults(dsn: str, options: Mapping[str, str]) -> str:
    """The libpq connection string: ``dsn`` overridden by ``options``, with the default timeout
    when neither names one."""
    conninfo = make_conninfo(dsn, **options)
    if "connect_timeout" not in conninfo_to_dict(conninfo):
        conninfo = make_conninfo(conninfo, connect_timeout=CONNECT_TIMEOUT_S)
    return conninfo


def describe_target(dsn: str, options: Mapping[str, str], through: str | None) -> str:
    """The server as an error message names it: redacted DSN, database override, route."""
    where = redact_dsn(dsn)
    if options.get("dbname"):
        where += f" (database {options['dbname']})"
    if through:
        where += f" through {through}"
    return where


def connect(
    dsn: str,
    options: Mapping[str, str] | None = None,
    *,
    through: str | None = None,
    secrets: Iterable[str] = (),
) -> Connection:
    """An autocommit connection to ``dsn`` with ``options`` applied.

    ``through`` names the route for error messages (e.g. a port-forward); ``secrets`` are
    masked from them besides the DSN's own passwords.
    """
    overrides = dict(options or {})
    problem = dsn_problem(dsn)
    if problem is not None:
        raise ConnectError(f"invalid DSN {redact_dsn(dsn)}: {problem}")
    try:
        return psycopg.connect(conninfo_with_defaults(dsn, overrides), autocommit=True)
    except (psycopg.Error, ValueError) as error:
        reason = redact_message(str(error), dsn).strip()
        message = f"cannot connect to {describe_target(dsn, overrides, through)}: {reason}"
        raise ConnectError(scrub(message, secrets)) from None
