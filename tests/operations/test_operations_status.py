"""`python -m operations status`: rows to verdict, rendering and exit codes (no server needed)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from database.queries import NODE_STATUS_SQL
from migrator.bootstrap import zone_query
from operations.cli import EXIT_DEGRADED, EXIT_FAILED, EXIT_OK, EXIT_USAGE, run
from operations.status import (
    DATABASE_EXISTS_SQL,
    STORES_SQL,
    VERSION_SQL,
    ClusterStatus,
    Fetch,
    NodeState,
    NotCockroachError,
    Query,
    Replication,
    StoreState,
    assess,
    collect,
    node_from_row,
    store_from_row,
)
from operations.tables import format_bytes

CRDB_VERSION = "CockroachDB CCL v25.2.8 (x86_64-pc-linux-gnu, built 2025/10/01 00:00:00, go1.23.7)"
PG_VERSION = "PostgreSQL 15.14 (Debian 15.14-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc"
GIB = 1024**3
ZONE_SQL = (
    "ALTER DATABASE openalgo CONFIGURE ZONE USING\n\tnum_replicas = 3,\n\tgc.ttlseconds = 14400"
)


def node(node_id: int, **changes: Any) -> NodeState:
    base = NodeState(
        node_id=node_id,
        address=f"cockroachdb-{node_id - 1}.cockroachdb.trading.svc.cluster.local:26257",
        is_live=True,
        draining=False,
        membership="active",
    )
    return replace(base, **changes)


def store(node_id: int, **changes: Any) -> StoreState:
    base = StoreState(
        node_id=node_id,
        store_id=node_id,
        capacity=100 * GIB,
        available=70 * GIB,
        used=20 * GIB,
        range_count=120,
        underreplicated=0,
        unavailable=0,
    )
    return replace(base, **changes)


def cluster(
    nodes: Sequence[NodeState] | None = None,
    stores: Sequence[StoreState] | None = None,
    replication: Replication | None = None,
) -> ClusterStatus:
    return ClusterStatus(
        server_version=CRDB_VERSION,
        nodes=tuple(nodes if nodes is not None else [node(1), node(2), node(3)]),
        stores=tuple(stores if stores is not None else [store(1), store(2), store(3)]),
        replication=replication or Replication("openalgo", exists=True, num_replicas=3),
    )


# Verdict


def test_healthy_cluster_has_no_problem() -> None:
    verdict = assess(cluster())
    assert verdict.healthy
    assert verdict.problems == ()


def test_a_node_that_is_not_live_degrades_the_cluster() -> None:
    verdict = assess(cluster(nodes=[node(1), node(2, is_live=False), node(3)]))
    assert not verdict.healthy
    assert verdict.problems == (
        "node 2 (cockroachdb-1.cockroachdb.trading.svc.cluster.local:26257) is not live",
    )


def test_a_decommissioned_node_is_ignored() -> None:
    gone = node(4, is_live=False, membership="decommissioned")
    verdict = assess(cluster(nodes=[node(1), node(2), node(3), gone]))
    assert verdict.healthy
    assert any("node 4" in note and "decommissioned" in note for note in verdict.notes)


def test_a_draining_live_node_is_noted_but_healthy() -> None:
    verdict = assess(cluster(nodes=[node(1, draining=True), node(2), node(3)]))
    assert verdict.healthy
    assert any("node 1" in note and "draining" in note for note in verdict.notes)


def test_a_decommissioning_node_is_noted() -> None:
    verdict = assess(cluster(nodes=[node(1), node(2), node(3, membership="decommissioning")]))
    assert any("membership is decommissioning" in note for note in verdict.notes)


def test_under_replicated_ranges_are_summed_over_stores_and_degrade() -> None:
    stores = [store(1, underreplicated=2), store(2, underreplicated=1), store(3)]
    verdict = assess(cluster(stores=stores))
    assert verdict.problems == ("3 under-replicated ranges",)


def test_an_unavailable_range_degrades_the_cluster() -> None:
    verdict = assess(cluster(stores=[store(1, unavailable=1), store(2), store(3)]))
    assert verdict.problems == ("1 unavailable range (quorum lost)",)


def test_a_disk_over_80_percent_degrades_the_cluster() -> None:
    full = store(2, available=19 * GIB)
    verdict = assess(cluster(stores=[store(1), full, store(3)]))
    assert verdict.problems == ("store 2 on node 2 is 81% full (limit 80%)",)


def test_a_disk_at_exactly_80_percent_is_still_healthy() -> None:
    verdict = assess(cluster(stores=[store(1, available=20 * GIB), store(2), store(3)]))
    assert verdict.healthy


def test_disk_use_counts_everything_on_the_disk_not_only_cockroachdb() -> None:
    assert store(1, available=10 * GIB, used=5 * GIB).disk_used == pytest.approx(0.9)


def test_a_store_reporting_no_capacity_is_not_counted_as_full() -> None:
    assert store(1, capacity=0, available=0).disk_used == 0.0


def test_disk_limit_is_a_parameter() -> None:
    verdict = assess(cluster(), disk_limit=0.25)
    assert len(verdict.problems) == 3


def test_no_liveness_records_degrade_the_cluster() -> None:
    assert not assess(cluster(nodes=[])).healthy


def test_no_store_status_degrades_the_cluster() -> None:
    assert assess(cluster(stores=[])).problems == ("no store status reported",)


def test_more_replicas_than_member_nodes_degrade_the_cluster() -> None:
    replication = Replication("openalgo", exists=True, num_replicas=5)
    verdict = assess(cluster(replication=replication))
    assert verdict.problems == (
        "database openalgo asks for 5 replicas but the cluster has 3 member nodes",
    )


def test_a_missing_database_is_noted_but_healthy() -> None:
    verdict = assess(cluster(replication=Replication("openalgo", exists=False, num_replicas=None)))
    assert verdict.healthy
    assert "database openalgo does not exist yet" in verdict.notes


# Rows


def test_node_rows_become_node_states() -> None:
    assert node_from_row((1, "h:26257", True, False, "active", 40)) == NodeState(
        1, "h:26257", True, False, "active"
    )


def test_store_rows_become_store_states() -> None:
    row = (1, 1, 100, 70, 20, 12, 0, 0)
    assert store_from_row(row) == StoreState(1, 1, 100, 70, 20, 12, 0, 0)


def test_sizes_are_shown_in_binary_units() -> None:
    assert [format_bytes(n) for n in (512, 1536, 100 * GIB)] == ["512 B", "1.5 KiB", "100.0 GiB"]


# Reading from a server (a fake one that answers each statement)


def server(
    version: str = CRDB_VERSION,
    nodes: list[tuple[Any, ...]] | None = None,
    stores: list[tuple[Any, ...]] | None = None,
    database_exists: bool = True,
) -> tuple[Fetch, list[str]]:
    """A fetch function answering the status statements, and the statements it received."""
    answers: dict[str, list[tuple[Any, ...]]] = {
        VERSION_SQL: [(version,)],
        NODE_STATUS_SQL: nodes
        if nodes is not None
        else [(i, f"cockroachdb-{i - 1}:26257", True, False, "active", 40) for i in (1, 2, 3)],
        STORES_SQL: stores
        if stores is not None
        else [(i, i, 100 * GIB, 70 * GIB, 20 * GIB, 120, 0, 0) for i in (1, 2, 3)],
        DATABASE_EXISTS_SQL: [(database_exists,)],
        zone_query("openalgo").as_string(None): [(ZONE_SQL,)],
    }
    received: list[str] = []

    def fetch(query: Query, params: Sequence[Any] | None) -> list[tuple[Any, ...]]:
        text = query if isinstance(query, str) else query.as_string(None)
        received.append(text)
        return answers[text]

    return fetch, received


def test_collect_reads_nodes_stores_and_the_zones_num_replicas() -> None:
    fetch, _ = server()
    status = collect(fetch, "openalgo")
    assert [n.node_id for n in status.nodes] == [1, 2, 3]
    assert [s.store_id for s in status.stores] == [1, 2, 3]
    assert status.replication == Replication("openalgo", exists=True, num_replicas=3)


def test_collect_refuses_a_server_that_is_not_cockroachdb_after_one_statement() -> None:
    fetch, received = server(version=PG_VERSION)
    with pytest.raises(NotCockroachError, match="not a CockroachDB server") as caught:
        collect(fetch, "openalgo")
    assert "PostgreSQL 15.14" in str(caught.value)
    assert received == [VERSION_SQL]


def test_collect_skips_the_zone_of_a_missing_database() -> None:
    fetch, received = server(database_exists=False)
    status = collect(fetch, "openalgo")
    assert status.replication == Replication("openalgo", exists=False, num_replicas=None)
    assert zone_query("openalgo").as_string(None) not in received


# The command


def connector_for(fetch: Fetch) -> Any:
    @contextmanager
    def connect(dsn: str) -> Iterator[Fetch]:
        yield fetch

    return connect


def status_command(argv: list[str], connector: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["status", *argv], out, err, connector=connector)
    return code, out.getvalue(), err.getvalue()


def test_healthy_cluster_exits_0_with_a_table_of_nodes_and_stores() -> None:
    fetch, _ = server()
    code, out, _ = status_command(["--dsn", "postgresql://root@h:26257"], connector_for(fetch))
    assert code == EXIT_OK
    assert "CockroachDB CCL v25.2.8" in out
    assert "nodes: 3 of 3 live" in out
    assert "cockroachdb-2:26257" in out
    assert "replication: database openalgo: num_replicas = 3" in out
    assert out.rstrip().endswith("verdict: healthy")


def test_degraded_cluster_exits_3_and_names_the_problem() -> None:
    nodes = [(1, "a:26257", True, False, "active", 40), (2, "b:26257", False, False, "active", 40)]
    fetch, _ = server(nodes=nodes)
    code, out, _ = status_command(["--dsn", "postgresql://root@h:26257"], connector_for(fetch))
    assert code == EXIT_DEGRADED
    assert "problem: node 2 (b:26257) is not live" in out
    assert out.rstrip().endswith("verdict: DEGRADED")


def test_json_output_carries_the_verdict_problems_and_rows() -> None:
    stores = [(1, 1, 100 * GIB, 5 * GIB, 90 * GIB, 10, 4, 0)]
    fetch, _ = server(stores=stores)
    code, out, _ = status_command(
        ["--dsn", "postgresql://root@h:26257", "--json"], connector_for(fetch)
    )
    document = json.loads(out)
    assert code == EXIT_DEGRADED
    assert document["verdict"] == "degraded"
    assert "4 under-replicated ranges" in document["problems"]
    assert document["stores"][0]["disk_used"] == 0.95
    assert document["replication"] == {"database": "openalgo", "exists": True, "num_replicas": 3}


def test_dsn_comes_from_the_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    fetch, _ = server()
    seen: list[str] = []

    @contextmanager
    def connect(dsn: str) -> Iterator[Fetch]:
        seen.append(dsn)
        yield fetch

    monkeypatch.setenv("OPS_DSN", "postgresql://root@from-env:26257")
    code, _, _ = status_command(["--dsn-env", "OPS_DSN"], connect)
    assert code == EXIT_OK
    assert seen == ["postgresql://root@from-env:26257"]


def test_missing_dsn_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIGRATOR_DSN", raising=False)
    fetch, _ = server()
    code, _, err = status_command([], connector_for(fetch))
    assert code == EXIT_USAGE
    assert "MIGRATOR_DSN is not set" in err


def failing_connector(error: Exception) -> Any:
    def connect(dsn: str) -> AbstractContextManager[Fetch]:
        raise error

    return connect


def test_connection_failure_exits_1_without_the_password() -> None:
    error = psycopg.OperationalError('password authentication failed: "hunter2-secret"')
    code, _, err = status_command(
        ["--dsn", "postgresql://root:hunter2-secret@h:26257/defaultdb"], failing_connector(error)
    )
    assert code == EXIT_FAILED
    assert "cannot connect to postgresql://root:***@h:26257/defaultdb" in err
    assert "hunter2-secret" not in err


def test_a_failed_query_exits_1_and_says_so() -> None:
    @contextmanager
    def connect(dsn: str) -> Iterator[Fetch]:
        def fetch(query: Query, params: Sequence[Any] | None) -> list[tuple[Any, ...]]:
            raise psycopg.errors.InsufficientPrivilege("user app does not have admin role")

        yield fetch

    code, _, err = status_command(["--dsn", "postgresql://app@h:26257"], connect)
    assert code == EXIT_FAILED
    assert "query failed: user app does not have admin role" in err


def test_json_errors_are_a_document_too() -> None:
    error = psycopg.OperationalError("connection refused")
    code, out, _ = status_command(
        ["--dsn", "postgresql://root@h:26257", "--json"], failing_connector(error)
    )
    assert json.loads(out) == {
        "error": "failed",
        "message": "cannot connect to postgresql://root@h:26257 or lost the connection: "
        "connection refused",
        "exit_code": EXIT_FAILED,
    }
    assert code == EXIT_FAILED
