"""Version changes: patch and one-major upgrades pass, so does a rollback to the previous major
before finalization; other downgrades and skips are refused."""

from __future__ import annotations

import pytest

from rules.upgrades import allowed_next_majors, parse_version, upgrade_refusals


def test_same_version_is_no_change() -> None:
    assert upgrade_refusals("v25.2.8", "v25.2.8") == []


def test_patch_upgrade_is_allowed() -> None:
    assert upgrade_refusals("v25.2.8", "v25.2.9") == []


def test_next_major_is_allowed() -> None:
    assert upgrade_refusals("v25.2.8", "v25.3.1") == []


def test_an_innovation_release_may_be_skipped() -> None:
    assert allowed_next_majors("25.2") == ["25.3", "25.4"]
    assert upgrade_refusals("v25.2.8", "v25.4.2") == []


def test_a_regular_release_may_not_be_skipped() -> None:
    [refusal] = upgrade_refusals("v25.2.8", "v26.1.0")
    assert refusal.startswith("image: v25.2.8 -> v26.1.0 skips a major release")
    assert "upgrade to 25.3 or 25.4 first" in refusal


def test_two_regular_majors_at_once_are_refused() -> None:
    [refusal] = upgrade_refusals("v23.2.1", "v24.2.0")
    assert "skips a major release; from 23.2 upgrade to 24.1 first" in refusal


def test_patch_downgrade_is_refused() -> None:
    [refusal] = upgrade_refusals("v25.2.8", "v25.2.7")
    assert refusal.startswith("image: v25.2.8 -> v25.2.7 is a patch downgrade")


def test_rollback_to_the_previous_major_is_allowed_before_finalization() -> None:
    assert upgrade_refusals("v25.3.1", "v25.2.8") == []


def test_rollback_over_a_skipped_innovation_release_is_allowed() -> None:
    assert upgrade_refusals("v25.4.2", "v25.2.8") == []


def test_rollback_after_finalization_is_refused() -> None:
    [refusal] = upgrade_refusals("v25.3.1", "v25.2.8", finalized=True)
    assert refusal == (
        "image: v25.3.1 -> v25.2.8 rolls back to 25.2, but the upgrade to 25.3 is finalized "
        "(openalgo:upgrade.finalize true): the cluster no longer runs at 25.2's cluster "
        "version. Restore from a backup instead"
    )


def test_going_back_two_majors_is_refused() -> None:
    [refusal] = upgrade_refusals("v25.4.2", "v25.1.3")
    assert refusal.startswith("image: v25.4.2 -> v25.1.3 is a downgrade past the previous major")


def test_going_back_past_a_regular_release_is_refused_before_finalization_too() -> None:
    assert "downgrade past the previous major" in upgrade_refusals("v26.1.0", "v25.2.8")[0]


def test_unknown_major_is_refused_naming_the_release_table() -> None:
    [refusal] = upgrade_refusals("v25.2.8", "v27.1.0")
    assert "does not list" in refusal
    assert "rules/upgrades.py" in refusal


def test_version_change_that_cannot_be_checked_is_refused() -> None:
    [refusal] = upgrade_refusals("v25.2.8", None)
    assert refusal.startswith("image: the version change cannot be checked")


def test_versions_order_numerically() -> None:
    assert parse_version("v25.10.0") > parse_version("v25.9.9")


def test_malformed_version_is_an_error() -> None:
    with pytest.raises(ValueError, match="is not a CockroachDB version"):
        parse_version("25.2")
