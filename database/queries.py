"""The node-status query: what the cluster guard and `python -m operations status` know of nodes.

It reads CockroachDB's ``crdb_internal`` tables (admin only): every node with a liveness record,
including decommissioned ones. The address comes from the node's stored status, which outlives
gossip, falling back to gossip; liveness as gossip sees it; replicas from the range descriptors,
the count the guard waits to reach zero before a pod may go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, LiteralString

NODE_STATUS_SQL: LiteralString = """SELECT l.node_id,
    COALESCE(s.address, n.address, ''),
    COALESCE(n.is_live, false),
    l.draining,
    l.membership,
    (SELECT count(*) FROM crdb_internal.ranges_no_leases AS r WHERE l.node_id = ANY (r.replicas))
FROM crdb_internal.gossip_liveness AS l
LEFT JOIN crdb_internal.kv_node_status AS s ON s.node_id = l.node_id
LEFT JOIN crdb_internal.gossip_nodes AS n ON n.node_id = l.node_id
ORDER BY l.node_id"""


@dataclass(frozen=True)
class NodeStatus:
    """One row of ``NODE_STATUS_SQL``; ``address`` is empty for a node no one has heard of."""

    node_id: int
    address: str
    is_live: bool
    draining: bool
    membership: str
    replicas: int


def node_status_from_row(row: Sequence[Any]) -> NodeStatus:
    node_id, address, is_live, draining, membership, replicas = row
    return NodeStatus(
        int(node_id), str(address), bool(is_live), bool(draining), str(membership), int(replicas)
    )
