"""Grows the nodes' volumes in place when ``storage.size`` rises; refuses a shrink in preview.

It runs before the StatefulSet changes. With a larger size it checks the storage class allows
expansion (else nothing is touched), enlarges every data claim of the StatefulSet, then, if the
claim templates are smaller, deletes the StatefulSet with its pods orphaned and creates it again
with the larger templates (``rules.volumes``): the pods keep running and are adopted. The
StatefulSet resource ignores changes to its templates, and the templates are then owned by this
step's field manager, so the Kubernetes provider never plans a replacement for them and `protect`
stays on. Every step checks what is already done, so an interrupted `up` is finished by the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from components.dynamic_provider import DeclaredProvider
from kube.access import ClusterNotReadyError, KubeAccess, api_client, read_or_none, wait_until
from rules.volumes import (
    GROWTH_MANAGER,
    claim_size,
    expansion_refusal,
    recreated_statefulset,
    shrink_refusal,
    smaller_than,
    template_size,
    templates_owned,
)

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
POLL_SECONDS = 0.5


class VolumeGrowthError(Exception):
    """The volumes could not be grown; what was done so far is said, the pods kept running."""


class VolumeGrowthProvider(DeclaredProvider):
    INPUT_KEYS = ("size", "storage_class", "kube_access")
    OUTPUT_KEYS = ("actions",)
    FAILURE = VolumeGrowthError
    WHAT = "volume growth"

    def refusals(self, olds: dict[str, Any], news: dict[str, Any]) -> list[tuple[str, str]]:
        refusal = shrink_refusal(olds.get("size"), str(news["size"]))
        return [("size", refusal)] if refusal else []

    def created(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "volume-growth", {"actions": []}

    def updated(self, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        refusal = shrink_refusal(olds.get("size"), str(news["size"]))
        if refusal:
            raise VolumeGrowthError(refusal)
        access = KubeAccess.from_input(news.get("kube_access"))
        if access is None or olds.get("size") == news["size"]:
            return {"actions": []}
        from kubernetes.client.exceptions import ApiException

        try:
            return {"actions": grow(access, str(olds["size"]), str(news["size"]), news)}
        except ApiException as error:
            raise VolumeGrowthError(
                f"volume growth: the API server refused ({error.status} {error.reason}): "
                f"{error.body}"
            ) from None


def grow(access: KubeAccess, old: str, new: str, props: Mapping[str, Any]) -> list[str]:
    from kubernetes import client

    api = api_client(access)
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    namespace, name = access.namespace, access.statefulset
    claims = [
        api.sanitize_for_serialization(claim)
        for claim in core.list_namespaced_persistent_volume_claim(
            namespace, label_selector=access.label_selector
        ).items
    ]
    class_name = props.get("storage_class") or _claims_class(claims) or _default_class(api)
    storage_class = (
        read_or_none(api, lambda: client.StorageV1Api(api).read_storage_class(class_name))
        if class_name
        else None
    )
    refusal = expansion_refusal(old, new, class_name, storage_class)
    if refusal:
        raise VolumeGrowthError(refusal)
    actions = []
    for claim in claims:
        if smaller_than(claim_size(claim), new):
            core.patch_namespaced_persistent_volume_claim(
                claim["metadata"]["name"],
                namespace,
                {"spec": {"resources": {"requests": {"storage": new}}}},
            )
            actions.append(f"claim {claim['metadata']['name']}: {claim_size(claim)} -> {new}")
    live_dict = read_or_none(api, lambda: apps.read_namespaced_stateful_set(name, namespace))
    if live_dict is None:
        actions.append(f"StatefulSet {name} not found: its templates are grown next time")
        return actions
    if smaller_than(template_size(live_dict), new):
        apps.delete_namespaced_stateful_set(name, namespace, propagation_policy="Orphan")
        _wait_gone(api, apps, name, namespace, access.timeout_s)
        _recreate(apps, namespace, live_dict, new)
        actions.append(f"StatefulSet {name}: claim templates -> {new}, pods kept running")
    _own_templates(apps, name, namespace, live_dict["metadata"].get("managedFields") or [])
    return actions


def _recreate(apps: Any, namespace: str, live: dict[str, Any], size: str) -> None:
    """Creates the StatefulSet with ``size``; if the API server refuses, puts back the one that
    was deleted, so the pods are never left without their StatefulSet."""
    from kubernetes.client.exceptions import ApiException

    try:
        apps.create_namespaced_stateful_set(
            namespace, recreated_statefulset(live, size), field_manager=GROWTH_MANAGER
        )
    except ApiException:
        previous = template_size(live) or size
        apps.create_namespaced_stateful_set(namespace, recreated_statefulset(live, previous))
        raise


def _own_templates(
    apps: Any, name: str, namespace: str, managed_fields: list[dict[str, Any]]
) -> None:
    """Writes the managed fields the StatefulSet had before it was recreated, with the claim
    templates owned by GROWTH_MANAGER alone: the Kubernetes provider keeps every other field and
    leaves the templates out of its server-side apply. Idempotent."""
    apps.patch_namespaced_stateful_set(
        name,
        namespace,
        {"metadata": {"managedFields": templates_owned(managed_fields)}},
        field_manager=GROWTH_MANAGER,
    )


def _claims_class(claims: list[dict[str, Any]]) -> str | None:
    for claim in claims:
        name = (claim.get("spec") or {}).get("storageClassName")
        if name:
            return str(name)
    return None


def _default_class(api: Any) -> str | None:
    from kubernetes import client

    for item in client.StorageV1Api(api).list_storage_class().items:
        annotations = item.metadata.annotations or {}
        if annotations.get(DEFAULT_CLASS_ANNOTATION) == "true":
            return str(item.metadata.name)
    return None


def _wait_gone(api: Any, apps: Any, name: str, namespace: str, timeout_s: float) -> None:
    def gone() -> tuple[bool, None]:
        found = read_or_none(api, lambda: apps.read_namespaced_stateful_set(name, namespace))
        return found is None, None

    try:
        wait_until(
            gone,
            timeout_s,
            lambda _: (
                f"StatefulSet {name} was not deleted within {timeout_s:.0f}s; its pods "
                "keep running. Run `pulumi up` again"
            ),
            poll_s=POLL_SECONDS,
        )
    except ClusterNotReadyError as error:
        raise VolumeGrowthError(str(error)) from None


class VolumeGrowthResource(dynamic.Resource, module="openalgo", name="VolumeGrowth"):
    actions: pulumi.Output[list[str]]


@dataclass(frozen=True)
class VolumeGrowthArgs:
    size: str
    storage_class: str | None
    access: KubeAccess


class VolumeGrowth(pulumi.ComponentResource):
    """Make the StatefulSet depend on this, so claims grow before it changes."""

    actions: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: VolumeGrowthArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:cockroachdb:VolumeGrowth", name, None, opts)
        resource = VolumeGrowthProvider().declare(
            VolumeGrowthResource,
            f"{name}-claims",
            self,
            {
                "size": args.size,
                "storage_class": args.storage_class,
                "kube_access": args.access.to_input(),
            },
        )
        self.actions = resource.actions
        self.register_outputs({"actions": self.actions})
