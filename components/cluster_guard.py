"""A gate in front of the StatefulSet that refuses version and node-count changes that lose data.

``check`` compares the previous and the new inputs, so a downgrade other than a rollback, a
skipped major release or a scale-down before decommissioning fails the preview and nothing is
changed. ``update`` runs before the StatefulSet changes: it waits until the nodes to remove hold
no replicas, keeps an upgrade reversible (``cluster.preserve_downgrade_option``) until
``upgrade.finalize``, and lets a rollback through only while the live cluster still preserves the
major it goes back to. The major it preserved is kept in the state (``preserved``), so the
preview of a rollback the cluster can no longer take fails too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from components.dynamic_provider import DeclaredProvider, plain
from database.admin import ADMIN_KEYS, ADMIN_SECRET_KEYS, AdminAccess, is_cockroachdb
from database.queries import NODE_STATUS_SQL, node_status_from_row
from rules.names import STATEFULSET
from rules.scaling import removed_ordinals, scaling_refusals
from rules.upgrades import parse_version, upgrade_refusals

POLL_SECONDS = 10.0

PRESERVE_SETTING = "cluster.preserve_downgrade_option"


def preserve_downgrade_sql(major: str) -> str:
    return f"SET CLUSTER SETTING {PRESERVE_SETTING} = '{major}'"


FINALIZE_SQL = f"RESET CLUSTER SETTING {PRESERVE_SETTING}"
PRESERVED_SQL = f"SHOW CLUSTER SETTING {PRESERVE_SETTING}"


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


def is_rollback(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    old, new = olds.get("version"), news.get("version")
    if not old or not new:
        return False
    earlier, later = parse_version(new), parse_version(old)
    return (earlier.year, earlier.release) < (later.year, later.release)


def rollback_state_refusal(state: Mapping[str, Any], news: Mapping[str, Any]) -> str | None:
    """Why the state shows a rollback cannot work: the major the guard last preserved (or
    finalized, None) is not the one to go back to. Silent when the state never recorded it."""
    if "preserved" not in state or not news.get("reachable") or not is_rollback(state, news):
        return None
    target = parse_version(news["version"]).major
    preserved = state["preserved"]
    if preserved == target:
        return None
    held = f"'{preserved}'" if preserved else "reset (the upgrade was finalized)"
    return (
        f"image: rolling back to {target} needs {PRESERVE_SETTING} = '{target}', but the last "
        f"`pulumi up` left it {held}; the nodes cannot run {target} binaries. Restore from a "
        "backup instead"
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def guard_refusals(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """Refusals of the change from the last applied inputs ``olds`` to ``news``."""
    if not olds:
        return []
    refusals = upgrade_refusals(
        olds.get("version"),
        news.get("version"),
        finalized=bool(olds.get("finalize") or news.get("finalize")),
    )
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


class ClusterGuardProvider(DeclaredProvider):
    """Holds no state of its own: everything it needs arrives as (secret) inputs."""

    INPUT_KEYS = (
        "version",
        "replicas",
        "replication_factor",
        "production",
        "decommissioned",
        "finalize",
        "reachable",
        "decommission_timeout_s",
        *ADMIN_KEYS,
    )
    SECRET_KEYS = ADMIN_SECRET_KEYS
    OUTPUT_KEYS = ("actions",)
    """And ``preserved``: the major held by cluster.preserve_downgrade_option, recorded only once
    the guard has set, verified or reset it on CockroachDB."""
    FAILURE = ClusterGuardError
    WHAT = "cluster guard"

    def refusals(self, olds: dict[str, Any], news: dict[str, Any]) -> list[tuple[str, str]]:
        return [("guard", refusal) for refusal in guard_refusals(olds, news)]

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> dynamic.DiffResult:
        refusal = rollback_state_refusal(plain(_olds), plain(_news))
        if refusal is not None:
            raise ClusterGuardError(refusal)
        return super().diff(_id, _olds, _news)

    def created(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "cockroachdb-guard", {"actions": []}

    def updated(self, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        refusals = guard_refusals(olds, news)
        if refusals:
            raise ClusterGuardError("; ".join(refusals))
        state: dict[str, Any] = {"preserved": olds["preserved"]} if "preserved" in olds else {}
        actions = self._make_safe(olds, news, state) if news.get("reachable") else []
        if not news.get("reachable") and self._needs_cluster(olds, news):
            actions = ["cluster not reachable (manifests only rendered): no checks were run"]
        return {"actions": actions, **state}

    @staticmethod
    def _needs_cluster(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
        shrinking = int(news["replicas"]) < int(olds.get("replicas") or news["replicas"])
        return (
            shrinking
            or olds.get("version") != news.get("version")
            or bool(news.get("finalize") and not olds.get("finalize"))
        )

    def _make_safe(
        self, olds: Mapping[str, Any], news: Mapping[str, Any], state: dict[str, Any]
    ) -> list[str]:
        """Runs the safety steps; records in ``state`` the major left preserved."""
        if not self._needs_cluster(olds, news):
            return []
        with self.admin_session(news) as connection:
            if not is_cockroachdb(connection):
                return ["skipped: the server is not CockroachDB"]
            actions = self._wait_for_decommission(connection, olds, news)
            if is_rollback(olds, news):
                actions += self._verify_rollback(connection, news, state)
            else:
                actions += self._keep_upgrade_reversible(connection, olds, news, state)
            return actions

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
    def _verify_rollback(
        connection: Any, news: Mapping[str, Any], state: dict[str, Any]
    ) -> list[str]:
        """The live setting, not the state, decides: someone may have reset it by hand."""
        target = parse_version(news["version"]).major
        row = connection.execute(PRESERVED_SQL).fetchone()
        preserved = str(row[0]) if row and row[0] else None
        state["preserved"] = preserved
        if preserved != target:
            raise ClusterGuardError(
                f"image: rolling back to {target} needs {PRESERVE_SETTING} = '{target}', but "
                f"the cluster holds {repr(preserved) if preserved else 'none'}: it may already "
                f"run at a newer cluster version. The StatefulSet was not changed; restore from "
                "a backup instead"
            )
        return [f"verified {PRESERVE_SETTING} = '{target}': rolling back to {target}"]

    @staticmethod
    def _keep_upgrade_reversible(
        connection: Any, olds: Mapping[str, Any], news: Mapping[str, Any], state: dict[str, Any]
    ) -> list[str]:
        actions = []
        old, new = olds.get("version"), news.get("version")
        if old and new and old != new and not news.get("finalize"):
            major = parse_version(old).major
            if major != parse_version(new).major:
                connection.execute(preserve_downgrade_sql(major))
                state["preserved"] = major
                actions.append(f"preserved downgrade to {major} until upgrade.finalize")
        if news.get("finalize") and not olds.get("finalize"):
            connection.execute(FINALIZE_SQL)
            state["preserved"] = None
            actions.append("finalized the upgrade")
        return actions


class ClusterGuardResource(dynamic.Resource, module="openalgo", name="ClusterGuard"):
    actions: pulumi.Output[list[str]]


@dataclass(frozen=True)
class ClusterGuardArgs:
    """``admin.dsn`` None: nothing is deployed (manifests only rendered), so nothing is checked
    against the cluster."""

    version: str | None
    replicas: int
    replication_factor: int
    production: bool
    decommissioned: tuple[int, ...]
    finalize: bool
    admin: AdminAccess
    decommission_timeout_s: int = 1800


def gate_inputs(args: ClusterGuardArgs) -> dict[str, Any]:
    """The gate's inputs besides the admin access."""
    return {
        "version": args.version,
        "replicas": args.replicas,
        "replication_factor": args.replication_factor,
        "production": args.production,
        "decommissioned": list(args.decommissioned),
        "finalize": args.finalize,
        "reachable": args.admin.dsn is not None,
        "decommission_timeout_s": args.decommission_timeout_s,
    }


class ClusterGuard(pulumi.ComponentResource):
    """Make the StatefulSet depend on this, so a refused change stops before it."""

    actions: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: ClusterGuardArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:cockroachdb:ClusterGuard", name, None, opts)
        resource = ClusterGuardProvider().declare(
            ClusterGuardResource, f"{name}-gate", self, gate_inputs(args), args.admin
        )
        self.actions = resource.actions
        self.register_outputs({"actions": self.actions})
