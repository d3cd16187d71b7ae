"""The node-status query's rows, as the cluster guard and the status command read them."""

from __future__ import annotations

from typing import Any

import pytest

from components.cluster_guard import ClusterGuardError, ClusterGuardProvider
from database.queries import NODE_STATUS_SQL, NodeStatus, node_status_from_row
from operations.status import NodeState, node_from_row

ADDRESS = "cockroachdb-{}.cockroachdb.trading.svc.cluster.local:26257"


class FakeConnection:
    """Answers the node-status query with fixed rows and records every statement."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.statements: list[str] = []

    def execute(self, statement: str) -> FakeConnection:
        self.statements.append(statement)
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


def test_a_row_becomes_a_node_status() -> None:
    row = (4, ADDRESS.format(3), True, False, "decommissioning", 12)
    assert node_status_from_row(row) == NodeStatus(
        4, ADDRESS.format(3), True, False, "decommissioning", 12
    )


def test_the_status_command_reads_liveness_from_the_shared_row() -> None:
    row = (2, ADDRESS.format(1), False, True, "active", 30)
    assert node_from_row(row) == NodeState(2, ADDRESS.format(1), False, True, "active")


def test_the_guard_lets_a_decommissioned_pod_go_reading_the_shared_query() -> None:
    connection = FakeConnection(
        [
            (1, ADDRESS.format(0), True, False, "active", 40),
            (2, ADDRESS.format(1), False, False, "decommissioned", 0),
        ]
    )
    actions = ClusterGuardProvider._wait_for_decommission(
        connection, {"replicas": 2}, {"replicas": 1, "decommission_timeout_s": 1}
    )
    assert actions == ["verified decommissioned: 1"]
    assert connection.statements == [NODE_STATUS_SQL]


def test_the_guard_counts_replicas_from_the_shared_query(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("components.cluster_guard.POLL_SECONDS", 0.0)
    connection = FakeConnection([(2, ADDRESS.format(1), True, False, "decommissioned", 3)])
    with pytest.raises(ClusterGuardError, match=r"cockroachdb-1 \(node 2\): .*, 3 replicas"):
        ClusterGuardProvider._wait_for_decommission(
            connection, {"replicas": 2}, {"replicas": 1, "decommission_timeout_s": 0.01}
        )
