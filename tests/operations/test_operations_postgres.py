"""`python -m operations status` against servers that cannot answer it.

A real PostgreSQL 15 stands in for "a server that is not CockroachDB": the command must say so
plainly instead of failing on a missing crdb_internal table.
"""

from __future__ import annotations

import io
import json

import pytest
from postgres_server import ServerInfo

from operations.cli import EXIT_FAILED, run

pytestmark = pytest.mark.postgres


def status(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["status", *argv], out, err)
    return code, out.getvalue(), err.getvalue()


def test_postgresql_is_reported_as_not_a_cockroachdb_server(pg_server: ServerInfo) -> None:
    code, out, err = status(["--dsn", pg_server.dsn()])
    assert code == EXIT_FAILED
    assert out == ""
    assert err.startswith("error: not a CockroachDB server (it reports 'PostgreSQL 15")
    assert "crdb_internal" in err


def test_postgresql_in_json_mode_is_a_not_cockroachdb_error_document(
    pg_server: ServerInfo,
) -> None:
    code, out, _ = status(["--dsn", pg_server.dsn(), "--json"])
    document = json.loads(out)
    assert code == EXIT_FAILED
    assert document["error"] == "not-cockroachdb"
    assert document["exit_code"] == EXIT_FAILED


def test_the_not_cockroachdb_message_never_shows_the_password(pg_server: ServerInfo) -> None:
    _, out, err = status(["--dsn", pg_server.dsn(), "--json"])
    assert pg_server.admin_password not in out + err
