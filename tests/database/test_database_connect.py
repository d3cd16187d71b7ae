"""database.connect: the one way every layer opens a connection."""

from __future__ import annotations

import pytest
from postgres_server import ServerInfo, free_port
from psycopg.conninfo import conninfo_to_dict

from database.connect import CONNECT_TIMEOUT_S, ConnectError, connect, conninfo_with_defaults


def test_the_default_timeout_applies_when_nothing_names_one() -> None:
    conninfo = conninfo_with_defaults("postgresql://root@h:26257/defaultdb", {})
    assert conninfo_to_dict(conninfo)["connect_timeout"] == str(CONNECT_TIMEOUT_S)


def test_a_timeout_in_the_dsn_wins_over_the_default() -> None:
    conninfo = conninfo_with_defaults("postgresql://root@h/defaultdb?connect_timeout=3", {})
    assert conninfo_to_dict(conninfo)["connect_timeout"] == "3"


def test_an_override_wins_over_the_dsn() -> None:
    dsn = "postgresql://root@cockroachdb-public:26257/defaultdb?connect_timeout=3"
    options = {"hostaddr": "127.0.0.1", "port": "40123", "connect_timeout": "2"}
    params = conninfo_to_dict(conninfo_with_defaults(dsn, options))
    assert (params["host"], params["hostaddr"], params["port"], params["connect_timeout"]) == (
        "cockroachdb-public",
        "127.0.0.1",
        "40123",
        "2",
    )


def test_an_invalid_dsn_is_refused_without_its_password() -> None:
    with pytest.raises(ConnectError, match="invalid DSN") as caught:
        connect("postgresql://root:pa@ss-hidden@h:26257/defaultdb")
    assert "ss-hidden" not in str(caught.value)


def test_an_unreachable_server_names_database_and_route_without_the_password() -> None:
    port = free_port()
    dsn = f"postgresql://root:pw-not-shown@127.0.0.1:{port}/defaultdb"
    with pytest.raises(ConnectError) as caught:
        connect(dsn, {"dbname": "openalgo", "connect_timeout": "2"}, through="a port-forward")
    assert str(caught.value).startswith(
        f"cannot connect to postgresql://root:***@127.0.0.1:{port}/defaultdb (database openalgo) "
        "through a port-forward: "
    )
    assert "pw-not-shown" not in str(caught.value)


def test_extra_secrets_are_masked_from_the_message() -> None:
    dsn = f"postgresql://root@127.0.0.1:{free_port()}/defaultdb?connect_timeout=2"
    with pytest.raises(ConnectError) as caught:
        connect(dsn, secrets=["127.0.0.1"])
    assert "127.0.0.1" not in str(caught.value)


@pytest.mark.postgres
def test_the_connection_is_autocommit(pg_server: ServerInfo) -> None:
    with connect(pg_server.dsn()) as connection:
        assert connection.autocommit
