"""Cluster status: node liveness, range health, replication and storage, and a verdict.

The statements read CockroachDB's ``crdb_internal`` tables, the same sources as
``cockroach node status --ranges``; reading them needs an admin user (e.g. root). Rows become
frozen records, and ``assess`` turns records into a verdict without touching the server.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, LiteralString

from psycopg import sql

from database.queries import NODE_STATUS_SQL, node_status_from_row
from migrator.bootstrap import parse_num_replicas, zone_query
from operations.tables import format_bytes, render_table

DISK_USED_LIMIT = 0.80
"""A store whose disk is more than this full is degraded; the alert rules agree."""
DECOMMISSIONED = "decommissioned"

VERSION_SQL: LiteralString = "SELECT version()"
STORES_SQL: LiteralString = """SELECT node_id, store_id, capacity, available, used, range_count,
    COALESCE((metrics->>'ranges.underreplicated')::DECIMAL, 0)::INT8,
    COALESCE((metrics->>'ranges.unavailable')::DECIMAL, 0)::INT8
FROM crdb_internal.kv_store_status
ORDER BY node_id, store_id"""
DATABASE_EXISTS_SQL: LiteralString = (
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s)"
)

Query = LiteralString | sql.Composed
Fetch = Callable[[Query, Sequence[Any] | None], list[tuple[Any, ...]]]
"""Runs one statement with its parameters and returns every row."""


class NotCockroachError(Exception):
    """The server answered, but it is not CockroachDB: crdb_internal does not exist there."""


@dataclass(frozen=True)
class NodeState:
    node_id: int
    address: str
    is_live: bool
    draining: bool
    membership: str


@dataclass(frozen=True)
class StoreState:
    node_id: int
    store_id: int
    capacity: int
    available: int
    used: int
    range_count: int
    underreplicated: int
    unavailable: int

    @property
    def disk_used(self) -> float:
        """Share of the store's disk in use by anything, which is what runs out."""
        if self.capacity <= 0:
            return 0.0
        return (self.capacity - self.available) / self.capacity


@dataclass(frozen=True)
class Replication:
    database: str
    exists: bool
    num_replicas: int | None


@dataclass(frozen=True)
class ClusterStatus:
    server_version: str
    nodes: tuple[NodeState, ...]
    stores: tuple[StoreState, ...]
    replication: Replication


@dataclass(frozen=True)
class Verdict:
    problems: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        return not self.problems


def is_cockroachdb(version_text: str) -> bool:
    return "CockroachDB" in version_text


def node_from_row(row: Sequence[Any]) -> NodeState:
    """A row of the shared node-status query, as much of it as the verdict reads."""
    node = node_status_from_row(row)
    return NodeState(node.node_id, node.address, node.is_live, node.draining, node.membership)


def store_from_row(row: Sequence[Any]) -> StoreState:
    node_id, store_id, capacity, available, used, ranges, under, unavailable = row
    return StoreState(
        int(node_id),
        int(store_id),
        int(capacity),
        int(available),
        int(used),
        int(ranges),
        int(under),
        int(unavailable),
    )


def collect(fetch: Fetch, database: str) -> ClusterStatus:
    """Read everything the verdict needs; refuse servers that are not CockroachDB."""
    version = str(fetch(VERSION_SQL, None)[0][0])
    if not is_cockroachdb(version):
        raise NotCockroachError(
            f"not a CockroachDB server (it reports {version.split(' on ')[0]!r}): "
            "status reads crdb_internal tables that only CockroachDB has"
        )
    nodes = tuple(node_from_row(row) for row in fetch(NODE_STATUS_SQL, None))
    stores = tuple(store_from_row(row) for row in fetch(STORES_SQL, None))
    exists = bool(fetch(DATABASE_EXISTS_SQL, (database,))[0][0])
    num_replicas = None
    if exists:
        zone = fetch(zone_query(database), None)
        num_replicas = parse_num_replicas(str(zone[0][0])) if zone else None
    return ClusterStatus(version, nodes, stores, Replication(database, exists, num_replicas))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def assess(status: ClusterStatus, disk_limit: float = DISK_USED_LIMIT) -> Verdict:
    """Degraded when a member node is not live, a range is under-replicated or unavailable,
    a store's disk is over ``disk_limit``, or the zone asks for more replicas than nodes."""
    problems: list[str] = []
    notes: list[str] = []
    members = [n for n in status.nodes if n.membership != DECOMMISSIONED]
    if not status.nodes:
        problems.append("no node liveness records: the cluster has not started or initialised")
    for node in status.nodes:
        where = f"node {node.node_id}" + (f" ({node.address})" if node.address else "")
        if node.membership == DECOMMISSIONED:
            notes.append(f"{where} is decommissioned and ignored")
            continue
        if not node.is_live:
            problems.append(f"{where} is not live")
        if node.draining:
            notes.append(f"{where} is draining")
        if node.membership != "active":
            notes.append(f"{where} membership is {node.membership}")
    if not status.stores:
        problems.append("no store status reported")
    under = sum(store.underreplicated for store in status.stores)
    unavailable = sum(store.unavailable for store in status.stores)
    if unavailable:
        problems.append(f"{_count(unavailable, 'unavailable range')} (quorum lost)")
    if under:
        problems.append(f"{_count(under, 'under-replicated range')}")
    for store in status.stores:
        if store.disk_used > disk_limit:
            problems.append(
                f"store {store.store_id} on node {store.node_id} is {store.disk_used:.0%} full "
                f"(limit {disk_limit:.0%})"
            )
    replication = status.replication
    if not replication.exists:
        notes.append(f"database {replication.database} does not exist yet")
    elif replication.num_replicas is None:
        notes.append(f"database {replication.database} has no num_replicas in its zone")
    elif replication.num_replicas > len(members):
        problems.append(
            f"database {replication.database} asks for {replication.num_replicas} replicas but "
            f"the cluster has {_count(len(members), 'member node')}"
        )
    return Verdict(tuple(problems), tuple(notes))


def status_document(status: ClusterStatus, verdict: Verdict) -> dict[str, Any]:
    return {
        "server_version": status.server_version,
        "verdict": "healthy" if verdict.healthy else "degraded",
        "problems": list(verdict.problems),
        "notes": list(verdict.notes),
        "nodes": [asdict(node) for node in status.nodes],
        "stores": [
            {**asdict(store), "disk_used": round(store.disk_used, 4)} for store in status.stores
        ],
        "replication": asdict(status.replication),
    }


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def render_status(status: ClusterStatus, verdict: Verdict) -> str:
    live = sum(1 for n in status.nodes if n.is_live and n.membership != DECOMMISSIONED)
    members = sum(1 for n in status.nodes if n.membership != DECOMMISSIONED)
    node_rows = [
        [str(n.node_id), n.address or "-", _yes(n.is_live), _yes(n.draining), n.membership]
        for n in status.nodes
    ]
    store_rows = [
        [
            str(s.node_id),
            str(s.store_id),
            format_bytes(s.capacity),
            format_bytes(s.available),
            format_bytes(s.used),
            f"{s.disk_used:.0%}",
            str(s.range_count),
            str(s.underreplicated),
            str(s.unavailable),
        ]
        for s in status.stores
    ]
    replication = status.replication
    replicas = (
        f"num_replicas = {replication.num_replicas}"
        if replication.num_replicas is not None
        else ("no num_replicas" if replication.exists else "database does not exist")
    )
    lines = [
        status.server_version.split(" (")[0],
        f"nodes: {live} of {members} live",
        render_table(["NODE", "ADDRESS", "LIVE", "DRAINING", "MEMBERSHIP"], node_rows),
        "stores:",
        render_table(
            [
                "NODE",
                "STORE",
                "CAPACITY",
                "AVAILABLE",
                "USED",
                "DISK USED",
                "RANGES",
                "UNDER-REPLICATED",
                "UNAVAILABLE",
            ],
            store_rows,
        ),
        f"replication: database {replication.database}: {replicas}",
    ]
    lines += [f"note: {note}" for note in verdict.notes]
    lines += [f"problem: {problem}" for problem in verdict.problems]
    lines.append("verdict: " + ("healthy" if verdict.healthy else "DEGRADED"))
    return "\n".join(lines)
