"""Growing volumes in place: shrinks and non-expandable classes refused, the StatefulSet copy."""

from __future__ import annotations

from typing import Any

from rules.volumes import (
    GROWTH_MANAGER,
    expansion_refusal,
    recreated_statefulset,
    shrink_refusal,
    smaller_than,
    templates_owned,
    templates_owner,
)


def test_growing_or_keeping_the_size_is_no_shrink() -> None:
    assert shrink_refusal("100Gi", "200Gi") is None
    assert shrink_refusal("100Gi", "100Gi") is None
    assert shrink_refusal(None, "10Gi") is None


def test_a_shrink_is_refused_naming_both_sizes() -> None:
    assert shrink_refusal("100Gi", "50Gi") == (
        "storage.size: 100Gi -> 50Gi shrinks the volumes, which Kubernetes cannot do (a claim "
        "only grows); keep 100Gi or more, or move the data to a new cluster"
    )


def test_sizes_compare_as_quantities_not_text() -> None:
    assert smaller_than("1000Mi", "1Gi")
    assert not smaller_than("2Gi", "1500Mi")


def test_a_class_that_cannot_expand_is_refused_saying_nothing_changed() -> None:
    refusal = expansion_refusal("10Gi", "20Gi", "standard", {"allowVolumeExpansion": False})
    assert refusal == (
        "storage.size: 10Gi -> 20Gi needs volume expansion, which storage class standard does "
        "not allow (allowVolumeExpansion is not true). Nothing was changed: keep storage.size at "
        "10Gi, or let the class expand volumes"
    )


def test_an_expandable_class_is_accepted() -> None:
    assert expansion_refusal("10Gi", "20Gi", "ssd", {"allowVolumeExpansion": True}) is None


def test_a_missing_class_is_refused() -> None:
    assert expansion_refusal("10Gi", "20Gi", "gone", None) == (
        "storage.size: 10Gi -> 20Gi: storage class gone does not exist"
    )


def live() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": "cockroachdb",
            "namespace": "trading",
            "uid": "u-1",
            "resourceVersion": "42",
            "creationTimestamp": "2026-12-01T00:00:00Z",
            "generation": 3,
            "managedFields": [{"manager": "pulumi", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": {
            "volumeClaimTemplates": [
                {"spec": {"resources": {"requests": {"storage": "10Gi"}}}},
            ]
        },
        "status": {"replicas": 4},
    }


def test_the_recreated_statefulset_requests_the_new_size_and_drops_server_fields() -> None:
    body = recreated_statefulset(live(), "20Gi")
    assert body["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"] == {
        "storage": "20Gi"
    }
    assert "status" not in body
    assert set(body["metadata"]) == {"name", "namespace", "managedFields"}


def test_the_live_object_is_left_as_it_was() -> None:
    original = live()
    recreated_statefulset(original, "20Gi")
    assert original == live()


def test_the_growth_manager_alone_owns_the_claim_templates_afterwards() -> None:
    entries = [
        {
            "manager": "pulumi",
            "fieldsV1": {"f:spec": {"f:replicas": {}, "f:volumeClaimTemplates": {}}},
        },
        {"manager": GROWTH_MANAGER, "fieldsV1": {"f:spec": {"f:replicas": {}}}},
    ]
    owned = templates_owned(entries)
    assert templates_owner(owned) == [GROWTH_MANAGER]
    assert owned[0]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert [entry["manager"] for entry in owned] == ["pulumi", GROWTH_MANAGER]
