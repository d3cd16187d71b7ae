"""Growing the nodes' volumes in place: what may change, and the StatefulSet to recreate.

Kubernetes can enlarge a PersistentVolumeClaim whose storage class allows expansion, never shrink
one, and forbids changing a StatefulSet's volume claim templates. So a larger ``storage.size``
enlarges every claim, then the StatefulSet is deleted with its pods orphaned and created again
with the larger template: the pods keep running and are adopted, nothing restarts.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from rules.quantities import parse_quantity

GROWTH_MANAGER = "openalgo-volume-growth"
"""The field manager that owns the claim templates once they were grown, so the Kubernetes
provider (which ignores changes there) leaves them out of its server-side apply."""
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "selfLink")


def shrink_refusal(old: str | None, new: str) -> str | None:
    if old is None or parse_quantity(new) >= parse_quantity(old):
        return None
    return (
        f"storage.size: {old} -> {new} shrinks the volumes, which Kubernetes cannot do (a "
        f"claim only grows); keep {old} or more, or move the data to a new cluster"
    )


def expansion_refusal(
    old: str, new: str, class_name: str | None, storage_class: Mapping[str, Any] | None
) -> str | None:
    """Why the claims cannot grow on ``storage_class`` (the API object); None when they can."""
    if class_name is None:
        return (
            f"storage.size: {old} -> {new} needs the volumes' storage class, but the claims name "
            "none and the cluster has no default class; set openalgo:storage.storageClass"
        )
    if storage_class is None:
        return f"storage.size: {old} -> {new}: storage class {class_name} does not exist"
    if storage_class.get("allowVolumeExpansion") is not True:
        return (
            f"storage.size: {old} -> {new} needs volume expansion, which storage class "
            f"{class_name} does not allow (allowVolumeExpansion is not true). Nothing was "
            f"changed: keep storage.size at {old}, or let the class expand volumes"
        )
    return None


def claim_size(claim: Mapping[str, Any]) -> str | None:
    requests = ((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}
    size = requests.get("storage")
    return str(size) if size is not None else None


def smaller_than(size: str | None, target: str) -> bool:
    return size is None or parse_quantity(size) < parse_quantity(target)


def template_size(statefulset: Mapping[str, Any]) -> str | None:
    templates = (statefulset.get("spec") or {}).get("volumeClaimTemplates") or []
    return claim_size(templates[0]) if templates else None


def recreated_statefulset(live: Mapping[str, Any], size: str) -> dict[str, Any]:
    """``live`` as a new object (server-set fields dropped, managed fields kept) whose claim
    templates request ``size``."""
    body = copy.deepcopy(dict(live))
    body.pop("status", None)
    metadata = body.setdefault("metadata", {})
    for field in SERVER_FIELDS:
        metadata.pop(field, None)
    for template in body["spec"].get("volumeClaimTemplates") or []:
        template.setdefault("spec", {}).setdefault("resources", {}).setdefault("requests", {})[
            "storage"
        ] = size
    return body


def templates_owned(managed_fields: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``managed_fields`` with the claim templates taken from every manager and given to
    GROWTH_MANAGER; every other field keeps its owners."""
    entries: list[dict[str, Any]] = []
    for given in managed_fields:
        if given.get("manager") == GROWTH_MANAGER:
            continue
        entry = copy.deepcopy(dict(given))
        spec = (entry.get("fieldsV1") or {}).get("f:spec")
        if isinstance(spec, dict):
            spec.pop("f:volumeClaimTemplates", None)
        entries.append(entry)
    entries.append(
        {
            "manager": GROWTH_MANAGER,
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:volumeClaimTemplates": {}}},
        }
    )
    return entries


def templates_owner(managed_fields: Sequence[Mapping[str, Any]]) -> list[str]:
    """The managers owning the claim templates."""
    return [
        str(entry.get("manager"))
        for entry in managed_fields
        if "f:volumeClaimTemplates" in ((entry.get("fieldsV1") or {}).get("f:spec") or {})
    ]
