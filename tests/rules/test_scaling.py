"""Node-count changes: up always, down only to safe sizes and after decommissioning."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rules.scaling import removed_ordinals, scaling_refusals


def test_scaling_up_is_allowed() -> None:
    assert scaling_refusals(4, 6, 3, True, ()) == []


def test_first_deployment_has_nothing_to_compare() -> None:
    assert scaling_refusals(None, 1, 1, False, ()) == []


def test_statefulset_removes_the_highest_ordinals() -> None:
    assert removed_ordinals(6, 4) == [4, 5]


@given(st.integers(min_value=1, max_value=50), st.integers(min_value=1, max_value=50))
def test_removed_ordinals_count_the_difference(current: int, target: int) -> None:
    assert len(removed_ordinals(current, target)) == max(0, current - target)


def test_scaling_below_the_replication_factor_is_refused() -> None:
    refusals = scaling_refusals(4, 2, 3, False, (2, 3))
    assert refusals == [
        "replicas: 4 -> 2 leaves fewer nodes than the replication factor (3); ranges would "
        "stay under-replicated"
    ]


def test_prod_keeps_three_nodes() -> None:
    assert "replicas: 4 -> 2: prod keeps at least 3 nodes" in scaling_refusals(
        4, 2, 1, True, (2, 3)
    )


def test_scaling_down_before_decommissioning_is_refused_naming_the_pods() -> None:
    [refusal] = scaling_refusals(6, 4, 3, True, ())
    assert refusal.startswith(
        "replicas: 6 -> 4 removes cockroachdb-4, cockroachdb-5, which are not decommissioned"
    )
    assert "python -m operations decommission 4 5" in refusal
    assert "openalgo:scaling.decommissioned" in refusal


def test_scaling_down_after_decommissioning_is_allowed() -> None:
    assert scaling_refusals(6, 4, 3, True, (4, 5)) == []


def test_each_removed_pod_must_be_decommissioned() -> None:
    [refusal] = scaling_refusals(6, 4, 3, True, (5,))
    assert "removes cockroachdb-4, which are not decommissioned" in refusal
