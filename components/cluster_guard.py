"""A gate in front of the StatefulSet that refuses version and node-count changes that lose data.

``check`` compares the previous and the new inputs, so a downgrade, a skipped major release or a
scale-down before decommissioning fails the preview and nothing is changed. ``update`` runs
before the StatefulSet changes: it waits until the nodes to remove hold no replicas, and keeps
an upgrade reversible (``cluster.preserve_downgrade_option``) until ``upgrade.finalize``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import pulumi
import pulumi.dynamic as dynamic
from pulumi.runtime import rpc

from components.admin_connection import AdminConnectionError, admin_connection, is_cockroachdb
from components.names import STATEFULSET
from components.scaling import removed_ordinals, scaling_refusals
from components.upgrades import parse_version, upgrade_refusals
from database.queries import NODE_STATUS_SQL, node_status_from_row
from migrator.redaction import redact_message

SECRET_KEYS = ("admin_dsn", "ca_cert", "client_cert", "client_key")
INPUT_KEYS = (
    *SECRET_KEYS,
    "version",
    "replicas",
    "replication_factor",
    "production",
    "decommissioned",
    "finalize",
    "reachable",
    "decommission_timeout_s",
    "kube_access",
)
POLL_SECONDS = 10.0

PRESERVE_SETTING = "cluster.preserve_downgrade_option"


def preserve_downgrade_sql(major: str) -> str:
    return f"SET CLUSTER SETTING {PRESERVE_SETTING} = '{major}'"


FINALIZE_SQL = f"RESET CLUSTER SETTING {PRESERVE_SETTING}"


@dataclass(frozen=True)
class NodeRow:
    node_id: int
    address: str | None
    membership: str
    replicas: int


def decommission_pending(rows: Sequence[NodeRow], ordinals: Sequence[int]) -> list[str]:
    """Pods among ``ordinals`` still holding data, each with why; empty when all may go.

    A pod is matched by the address its node advertises (``cockroachdb-N.<headless>...``);
    when a volume was replaced the same address has had several node ids, the newest counts.
    A pod that never joined has nothing to lose.
    """
    pending = []
    for ordinal in ordinals:
        prefix = f"{STATEFULSET}-{ordinal}."
        matching = [row for row in rows if row.address and row.address.startswith(prefix)]
        if not matching:
            continue
        node = max(matching, key=lambda row: row.node_id)
        if node.membership != "decommissioned" or node.replicas > 0:
            pending.append(
                f"{STATEFULSET}-{ordinal} (node {node.node_id}): membership {node.membership}, "
                f"{node.replicas} replicas"
            )
    return pending


def _plain(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: rpc.unwrap_rpc_secret(value) for key, value in props.items()}


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def guard_refusals(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """Refusals of the change from the last applied inputs ``olds`` to ``news``."""
    if not olds:
        return []
    refusals = upgrade_refusals(olds.get("version"), news.get("version"))
    refusals += scaling_refusals(
        _int_or_none(olds.get("replicas")),
        int(news["replicas"]),
        int(news["replication_factor"]),
        bool(news.get("production")),
        tuple(int(o) for o in news.get("decommissioned") or ()),
    )
    return refusals


class ClusterGuardError(Exception):
    """A guarded change could not be made safe; nothing after the guard was changed."""


class ClusterGuardProvider(dynamic.ResourceProvider):
    """Holds no state of its own: everything it needs arrives as (secret) inputs."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        refusals = guard_refusals(_plain(_olds), _plain(news))
        return dynamic.CheckResult(news, [dynamic.CheckFailure("guard", r) for r in refusals])

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> dynamic.DiffResult:
        olds, news = _plain(_olds), _plain(_news)
        changed = [key for key in INPUT_KEYS if olds.get(key) != news.get(key)]
        return dynamic.DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult("cockroachdb-guard", {**props, "actions": []})

    def update(
        self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]
    ) -> dynamic.UpdateResult:
        olds, news = _plain(_olds), _plain(_news)
        refusals = guard_refusals(olds, news)
        if refusals:
            raise ClusterGuardError("; ".join(refusals))
        actions = self._make_safe(olds, news) if news.get("reachable") else []
        if not news.get("reachable") and self._needs_cluster(olds, news):
            actions = ["cluster not reachable (manifests only rendered): no checks were run"]
        return dynamic.UpdateResult({**_news, "actions": actions})

    @staticmethod
    def _needs_cluster(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
        shrinking = int(news["replicas"]) < int(olds.get("replicas") or news["replicas"])
        return (
            shrinking
            or olds.get("version") != news.get("version")
            or bool(news.get("finalize") and not olds.get("finalize"))
        )

    def _make_safe(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        if not self._needs_cluster(olds, news):
            return []
        try:
            with admin_connection(news) as connection:
                if not is_cockroachdb(connection):
                    return ["skipped: the server is not CockroachDB"]
                actions = self._wait_for_decommission(connection, olds, news)
                actions += self._keep_upgrade_reversible(connection, olds, news)
                return actions
        except AdminConnectionError as error:
            raise ClusterGuardError(str(error)) from None
        except psycopg.Error as error:
            dsn = news.get("admin_dsn")
            message = redact_message(str(error), dsn if isinstance(dsn, str) else "")
            raise ClusterGuardError(f"cluster guard: {message}") from None

    @staticmethod
    def _wait_for_decommission(
        connection: Any, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> list[str]:
        ordinals = removed_ordinals(int(olds.get("replicas") or 0), int(news["replicas"]))
        if not ordinals:
            return []
        deadline = time.monotonic() + float(news.get("decommission_timeout_s") or 1800)
        while True:
            statuses = map(node_status_from_row, connection.execute(NODE_STATUS_SQL).fetchall())
            rows = [NodeRow(s.node_id, s.address, s.membership, s.replicas) for s in statuses]
            pending = decommission_pending(rows, ordinals)
            if not pending:
                return [f"verified decommissioned: {', '.join(map(str, ordinals))}"]
            if time.monotonic() >= deadline:
                raise ClusterGuardError(
                    "timed out waiting for decommissioning; still holding data: "
                    + "; ".join(pending)
                    + ". The StatefulSet was not changed. Check `cockroach node status "
                    "--decommission` and run `pulumi up` again when it is done"
                )
            time.sleep(POLL_SECONDS)

    @staticmethod
    def _keep_upgrade_reversible(
        connection: Any, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> list[str]:
        actions = []
        old, new = olds.get("version"), news.get("version")
        if old and new and old != new and not news.get("finalize"):
            major = parse_version(old).major
            if major != parse_version(new).major:
                connection.execute(preserve_downgrade_sql(major))
                actions.append(f"preserved downgrade to {major} until upgrade.finalize")
        if news.get("finalize") and not olds.get("finalize"):
            connection.execute(FINALIZE_SQL)
            actions.append("finalized the upgrade")
        return actions


class ClusterGuardResource(dynamic.Resource, module="openalgo", name="ClusterGuard"):
    actions: pulumi.Output[list[str]]


@dataclass(frozen=True)
class ClusterGuardArgs:
    version: str | None
    replicas: int
    replication_factor: int
    production: bool
    decommissioned: tuple[int, ...]
    finalize: bool
    reachable: bool
    admin_dsn: pulumi.Input[str] | None = None
    ca_cert: pulumi.Input[str] | None = None
    client_cert: pulumi.Input[str] | None = None
    client_key: pulumi.Input[str] | None = None
    decommission_timeout_s: int = 1800
    kube_access: dict[str, Any] | None = None


class ClusterGuard(pulumi.ComponentResource):
    """Make the StatefulSet depend on this, so a refused change stops before it."""

    actions: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: ClusterGuardArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:cockroachdb:ClusterGuard", name, None, opts)

        def secret(value: pulumi.Input[str] | None) -> pulumi.Output[str] | None:
            return None if value is None else pulumi.Output.secret(value)

        resource = ClusterGuardResource(
            ClusterGuardProvider(),
            f"{name}-gate",
            {
                "version": args.version,
                "replicas": args.replicas,
                "replication_factor": args.replication_factor,
                "production": args.production,
                "decommissioned": list(args.decommissioned),
                "finalize": args.finalize,
                "reachable": args.reachable,
                "decommission_timeout_s": args.decommission_timeout_s,
                "kube_access": args.kube_access,
                "admin_dsn": secret(args.admin_dsn),
                "ca_cert": secret(args.ca_cert),
                "client_cert": secret(args.client_cert),
                "client_key": secret(args.client_key),
                "actions": None,
            },
            pulumi.ResourceOptions(parent=self, additional_secret_outputs=list(SECRET_KEYS)),
        )
        self.actions = resource.actions
        self.register_outputs({"actions": self.actions})
