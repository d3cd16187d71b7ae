"""Pure rules behind addresses, certificates and sizing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rules.topology import (
    MEMORY_BUDGET,
    connection_string,
    gomaxprocs,
    join_addresses,
    memory_split,
    node_certificate_sans,
)


def joins(replicas: int) -> list[str]:
    return join_addresses("cockroachdb", replicas, "cockroachdb", "trading", "cluster.local", 26257)


def test_join_lists_the_first_three_pods_by_stable_dns_name() -> None:
    assert joins(4) == [
        "cockroachdb-0.cockroachdb.trading.svc.cluster.local:26257",
        "cockroachdb-1.cockroachdb.trading.svc.cluster.local:26257",
        "cockroachdb-2.cockroachdb.trading.svc.cluster.local:26257",
    ]


def test_join_never_names_pods_that_do_not_exist() -> None:
    assert joins(1) == ["cockroachdb-0.cockroachdb.trading.svc.cluster.local:26257"]


@given(st.integers(min_value=1, max_value=100))
def test_join_list_is_stable_when_scaling(replicas: int) -> None:
    assert joins(replicas) == joins(max(replicas, 3))[: min(replicas, 3)]


def sans() -> list[str]:
    return node_certificate_sans("cockroachdb-public", "cockroachdb", "trading", "cluster.local")


def test_node_certificate_names_every_form_of_both_services() -> None:
    for service in ("cockroachdb-public", "cockroachdb"):
        for name in (
            service,
            f"{service}.trading",
            f"{service}.trading.svc",
            f"{service}.trading.svc.cluster.local",
        ):
            assert name in sans()


def test_node_certificate_covers_each_pod_and_localhost() -> None:
    assert "*.cockroachdb.trading.svc.cluster.local" in sans()
    assert "localhost" in sans()


def test_node_certificate_names_are_unique() -> None:
    assert len(sans()) == len(set(sans()))


def test_memory_split_is_a_quarter_each_for_the_production_size() -> None:
    split = memory_split("16Gi")
    assert (split.cache_flag, split.max_sql_memory_flag) == (
        "--cache=4096MiB",
        "--max-sql-memory=4096MiB",
    )


@given(st.integers(min_value=2048, max_value=1024 * 1024))
def test_memory_split_stays_within_the_budget(limit_mib: int) -> None:
    split = memory_split(f"{limit_mib}Mi")
    assert 2 * split.max_sql_memory_mib + split.cache_mib <= limit_mib * MEMORY_BUDGET
    assert split.cache_mib > 0
    assert split.max_sql_memory_mib > 0


def test_gomaxprocs_follows_the_request_without_a_limit() -> None:
    assert gomaxprocs("4", None) == 4


def test_gomaxprocs_follows_the_limit_when_set() -> None:
    assert gomaxprocs("2", "6") == 6


def test_gomaxprocs_rounds_fractions_up_and_is_never_zero() -> None:
    assert gomaxprocs("500m", None) == 1
    assert gomaxprocs("1500m", None) == 2
    assert gomaxprocs("10m", None) == 1


def test_connection_string_verifies_the_server_under_tls() -> None:
    url = connection_string("h", 26257, "openalgo", "openalgo", "p@ss/word")
    assert (
        url
        == "postgresql://openalgo:p%40ss%2Fword@h:26257/openalgo?sslmode=verify-full&sslrootcert=ca.crt"
    )


def test_connection_string_is_plain_without_a_password() -> None:
    assert connection_string("h", 26257, "openalgo", "openalgo", None) == (
        "postgresql://openalgo@h:26257/openalgo?sslmode=disable"
    )
