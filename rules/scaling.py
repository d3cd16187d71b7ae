"""Whether a change of the node count is safe, decided before the StatefulSet is touched.

Adding nodes is always safe: they join. Removing one is safe only once CockroachDB has moved
its replicas away (decommissioned): a StatefulSet shrinks from the highest ordinal, and pods
removed with replicas on them can take a range's quorum with them.
"""

from __future__ import annotations

from rules.names import STATEFULSET


def removed_ordinals(current: int, target: int) -> list[int]:
    """Pods a StatefulSet deletes when going from ``current`` to ``target`` replicas."""
    return list(range(target, current))


def scaling_refusals(
    current: int | None,
    target: int,
    replication_factor: int,
    production: bool,
    decommissioned: tuple[int, ...],
) -> list[str]:
    """Why going from ``current`` to ``target`` nodes is refused (empty when it is safe)."""
    if current is None or target >= current:
        return []
    refusals = []
    if target < replication_factor:
        refusals.append(
            f"replicas: {current} -> {target} leaves fewer nodes than the replication factor "
            f"({replication_factor}); ranges would stay under-replicated"
        )
    if production and target < 3:
        refusals.append(f"replicas: {current} -> {target}: prod keeps at least 3 nodes")
    pending = [o for o in removed_ordinals(current, target) if o not in decommissioned]
    if pending:
        pods = ", ".join(f"{STATEFULSET}-{ordinal}" for ordinal in pending)
        refusals.append(
            f"replicas: {current} -> {target} removes {pods}, which are not decommissioned. "
            f"Run `python -m operations decommission {' '.join(map(str, pending))}` and wait for "
            f"it to finish, then add {sorted(pending)} to openalgo:scaling.decommissioned"
        )
    return refusals
