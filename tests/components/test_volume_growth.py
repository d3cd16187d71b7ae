"""The volume growth step in front of the StatefulSet: declared where a cluster is targeted."""

from __future__ import annotations

from typing import Any

import pytest
from stack_harness import RenderedStack, run_stack_file

from components.volume_growth import VolumeGrowthError, VolumeGrowthProvider, _recreate

STATEFULSET = "kubernetes:apps/v1:StatefulSet"
GROWTH = "pulumi-python:dynamic/openalgo:VolumeGrowth"


def test_preview_refuses_a_shrink() -> None:
    check = VolumeGrowthProvider().check({"size": "100Gi"}, {"size": "50Gi"})
    assert [(f.property, f.reason) for f in check.failures] == [
        (
            "size",
            "storage.size: 100Gi -> 50Gi shrinks the volumes, which Kubernetes cannot do (a "
            "claim only grows); keep 100Gi or more, or move the data to a new cluster",
        )
    ]


def test_update_never_runs_a_shrink() -> None:
    with pytest.raises(VolumeGrowthError, match="shrinks the volumes"):
        VolumeGrowthProvider().update(
            "id", {"size": "100Gi", "kube_access": None}, {"size": "50Gi", "kube_access": None}
        )


def test_a_new_size_is_an_update_in_place() -> None:
    diff = VolumeGrowthProvider().diff("id", {"size": "100Gi"}, {"size": "200Gi"})
    assert (diff.changes, diff.replaces) == (True, [])


def test_a_targeted_cluster_gets_the_growth_step_before_its_statefulset(
    prod: RenderedStack,
) -> None:
    assert prod.one(GROWTH).inputs["size"] == "100Gi"
    depends = prod.opts_of("openalgo:cockroachdb:Cluster", "cluster").depends_on
    assert isinstance(depends, list)
    assert "VolumeGrowth" in [type(d).__name__ for d in depends]


def test_the_statefulset_leaves_its_claim_templates_to_the_growth_step(prod: RenderedStack) -> None:
    options = prod.opts_of(STATEFULSET, "cluster-statefulset")
    assert options.ignore_changes == ["spec.volumeClaimTemplates"]
    assert options.protect is True


def test_rendered_manifests_carry_the_configured_size_and_no_growth_step() -> None:
    stack = run_stack_file("dev", storage={"size": "20Gi"})
    assert not [r for r in stack.resources if r.typ == GROWTH]
    assert not stack.opts_of(STATEFULSET, "cluster-statefulset").ignore_changes
    [template] = stack.one(STATEFULSET).manifest()["spec"]["volumeClaimTemplates"]
    assert template["spec"]["resources"]["requests"] == {"storage": "20Gi"}


class RefusingApps:
    """An AppsV1Api that refuses the grown StatefulSet and accepts anything else."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create_namespaced_stateful_set(self, namespace: str, body: Any, **_: Any) -> None:
        from kubernetes.client.exceptions import ApiException

        size = body["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
        if size == "20Gi":
            raise ApiException(status=422, reason="Unprocessable Entity")
        self.created.append(size)


def test_a_refused_recreate_puts_the_previous_statefulset_back() -> None:
    from kubernetes.client.exceptions import ApiException

    apps = RefusingApps()
    live = {
        "metadata": {"name": "cockroachdb", "namespace": "trading"},
        "spec": {
            "volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": "10Gi"}}}}]
        },
    }
    with pytest.raises(ApiException):
        _recreate(apps, "trading", live, "20Gi")
    assert apps.created == ["10Gi"]
