"""The guard in front of the StatefulSet: refusals in preview, safety steps before the change."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Names
from fake_cockroach import FakeCockroach, serve
from postgres_server import ServerInfo
from stack_harness import RenderedStack, run_stack_file

from components.cluster_guard import (
    FINALIZE_SQL,
    ClusterGuardError,
    ClusterGuardProvider,
    NodeRow,
    decommission_pending,
    preserve_downgrade_sql,
)


def outs(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    return dict(result.outs)


GUARD = "pulumi-python:dynamic/openalgo:ClusterGuard"


def inputs(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": "v25.2.8",
        "replicas": 4,
        "replication_factor": 3,
        "production": True,
        "decommissioned": [],
        "finalize": False,
        "reachable": False,
        "decommission_timeout_s": 1,
    }
    return base | overrides


def failures(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    return [f.reason for f in ClusterGuardProvider().check(olds, news).failures]


def test_first_deployment_passes_the_guard() -> None:
    assert failures({}, inputs()) == []


def test_preview_fails_on_a_patch_downgrade() -> None:
    [reason] = failures(inputs(), inputs(version="v25.2.7"))
    assert "is a patch downgrade" in reason


def test_preview_passes_a_rollback_to_the_previous_major_before_finalization() -> None:
    assert failures(inputs(version="v25.3.1"), inputs()) == []


def test_preview_fails_on_a_rollback_after_finalization() -> None:
    [reason] = failures(inputs(version="v25.3.1", finalize=True), inputs(finalize=True))
    assert "the upgrade to 25.3 is finalized" in reason


def test_preview_fails_on_a_rollback_finalized_in_the_same_change() -> None:
    [reason] = failures(inputs(version="v25.3.1"), inputs(finalize=True))
    assert "the upgrade to 25.3 is finalized" in reason


def test_preview_fails_on_going_back_two_majors() -> None:
    [reason] = failures(inputs(version="v25.4.2"), inputs(version="v25.1.3"))
    assert "downgrade past the previous major" in reason


def test_preview_fails_on_a_skipped_major() -> None:
    [reason] = failures(inputs(), inputs(version="v26.1.0"))
    assert "skips a major release" in reason


def test_preview_fails_on_a_scale_down_before_decommissioning() -> None:
    [reason] = failures(inputs(replicas=5), inputs(replicas=4))
    assert "removes cockroachdb-4, which are not decommissioned" in reason


def test_preview_passes_a_scale_down_after_decommissioning() -> None:
    assert failures(inputs(replicas=5), inputs(replicas=4, decommissioned=[4])) == []


def test_update_never_runs_a_refused_change() -> None:
    with pytest.raises(ClusterGuardError, match="is a patch downgrade"):
        ClusterGuardProvider().update("id", inputs(), inputs(version="v25.2.7"))


def test_unreachable_cluster_says_no_checks_ran() -> None:
    result = ClusterGuardProvider().update(
        "id", inputs(replicas=5), inputs(replicas=4, decommissioned=[4])
    )
    assert outs(result)["actions"] == [
        "cluster not reachable (manifests only rendered): no checks were run"
    ]


def test_guard_changes_nothing_when_nothing_risky_changes() -> None:
    result = ClusterGuardProvider().update("id", inputs(), inputs(replicas=6, reachable=True))
    assert outs(result)["actions"] == []


@pytest.fixture
def cockroach(monkeypatch: pytest.MonkeyPatch) -> FakeCockroach:
    database = FakeCockroach()
    serve(monkeypatch, ClusterGuardProvider, database)
    return database


def reachable(**overrides: Any) -> dict[str, Any]:
    return inputs(reachable=True, admin_dsn="postgresql://root@db:26257/defaultdb", **overrides)


def test_an_upgrade_preserves_the_old_major_and_records_it(cockroach: FakeCockroach) -> None:
    state = outs(ClusterGuardProvider().update("id", reachable(), reachable(version="v25.3.1")))
    assert cockroach.statements[-1] == preserve_downgrade_sql("25.2")
    assert state["preserved"] == "25.2"


def test_finalizing_resets_the_setting_and_records_that_nothing_is_preserved(
    cockroach: FakeCockroach,
) -> None:
    olds = reachable(version="v25.3.1") | {"preserved": "25.2"}
    state = outs(
        ClusterGuardProvider().update("id", olds, reachable(version="v25.3.1", finalize=True))
    )
    assert cockroach.statements[-1] == FINALIZE_SQL
    assert state["preserved"] is None


def test_an_unrelated_update_keeps_the_recorded_major() -> None:
    olds = reachable(version="v25.3.1") | {"preserved": "25.2"}
    state = outs(
        ClusterGuardProvider().update("id", olds, reachable(version="v25.3.1", replicas=5))
    )
    assert state["preserved"] == "25.2"


def test_a_rollback_goes_ahead_while_the_cluster_preserves_its_major(
    cockroach: FakeCockroach,
) -> None:
    cockroach.settings["cluster.preserve_downgrade_option"] = "25.2"
    state = outs(ClusterGuardProvider().update("id", reachable(version="v25.3.1"), reachable()))
    assert state["actions"] == [
        "verified cluster.preserve_downgrade_option = '25.2': rolling back to 25.2"
    ]
    assert not [s for s in cockroach.statements if s.startswith(("SET", "RESET"))]


def test_a_rollback_stops_before_the_statefulset_when_the_cluster_no_longer_preserves_it(
    cockroach: FakeCockroach,
) -> None:
    with pytest.raises(ClusterGuardError) as caught:
        ClusterGuardProvider().update("id", reachable(version="v25.3.1"), reachable())
    assert str(caught.value) == (
        "image: rolling back to 25.2 needs cluster.preserve_downgrade_option = '25.2', but the "
        "cluster holds none: it may already run at a newer cluster version. The StatefulSet was "
        "not changed; restore from a backup instead"
    )


def test_preview_of_a_rollback_fails_when_the_state_shows_the_upgrade_finalized() -> None:
    olds = reachable(version="v25.3.1") | {"preserved": None}
    with pytest.raises(ClusterGuardError, match="the last `pulumi up` left it reset"):
        ClusterGuardProvider().diff("id", olds, reachable())


def test_preview_of_a_rollback_passes_when_the_state_shows_its_major_preserved() -> None:
    olds = reachable(version="v25.3.1") | {"preserved": "25.2"}
    assert ClusterGuardProvider().diff("id", olds, reachable()).changes is True


def test_preview_of_a_rollback_leaves_the_check_to_the_up_when_the_state_never_recorded_it() -> (
    None
):
    assert ClusterGuardProvider().diff("id", reachable(version="v25.3.1"), reachable()).changes


def node(node_id: int, ordinal: int, membership: str, replicas: int) -> NodeRow:
    address = f"cockroachdb-{ordinal}.cockroachdb.trading.svc.cluster.local:26257"
    return NodeRow(node_id, address, membership, replicas)


def test_decommissioned_node_without_replicas_may_go() -> None:
    assert decommission_pending([node(5, 4, "decommissioned", 0)], [4]) == []


def test_node_still_decommissioning_blocks_the_shrink() -> None:
    pending = decommission_pending([node(5, 4, "decommissioning", 12)], [4])
    assert pending == ["cockroachdb-4 (node 5): membership decommissioning, 12 replicas"]


def test_active_node_blocks_the_shrink() -> None:
    assert decommission_pending([node(5, 4, "active", 40)], [4]) != []


def test_newest_node_id_at_an_address_counts() -> None:
    rows = [node(5, 4, "decommissioned", 0), node(9, 4, "active", 30)]
    assert decommission_pending(rows, [4]) == [
        "cockroachdb-4 (node 9): membership active, 30 replicas"
    ]


def test_pod_that_never_joined_holds_nothing() -> None:
    assert decommission_pending([node(1, 0, "active", 50)], [4]) == []


def test_against_a_non_cockroachdb_server_the_guard_reports_it_skipped(
    pg_server: ServerInfo, names: Names
) -> None:
    result = ClusterGuardProvider().update(
        "id",
        inputs(),
        inputs(version="v25.3.1", reachable=True, admin_dsn=pg_server.dsn()),
    )
    assert outs(result)["actions"] == ["skipped: the server is not CockroachDB"]


def test_unreachable_database_is_a_clear_error_without_the_password(
    pg_server: ServerInfo,
) -> None:
    dsn = "postgresql://root:hunter2secret@127.0.0.1:1/defaultdb?connect_timeout=2"
    with pytest.raises(ClusterGuardError) as caught:
        ClusterGuardProvider().update(
            "id", inputs(), inputs(version="v25.3.1", reachable=True, admin_dsn=dsn)
        )
    assert "cannot connect to" in str(caught.value)
    assert "hunter2secret" not in str(caught.value)


def test_statefulset_waits_for_the_guard(prod: RenderedStack) -> None:
    depends = prod.opts_of("openalgo:cockroachdb:Cluster", "cluster").depends_on
    assert isinstance(depends, list)
    assert "ClusterGuard" in [type(d).__name__ for d in depends]


def test_guard_sees_the_configured_version_and_size(prod: RenderedStack) -> None:
    guard = prod.one(GUARD).inputs
    assert (guard["version"], guard["replicas"], guard["replication_factor"]) == (
        "v25.2.8",
        4,
        3,
    )
    assert guard["production"] is True
    assert guard["reachable"] is True


def test_guard_credentials_are_secrets(prod: RenderedStack) -> None:
    guard = prod.one(GUARD)
    for key in ("admin_dsn", "ca_cert", "client_cert", "client_key"):
        assert guard.inputs[key] in guard.secret_values, key


def test_upgrade_stays_reversible_until_finalized(prod: RenderedStack) -> None:
    assert prod.one(GUARD).inputs["finalize"] is False


def test_a_version_change_rolls_the_statefulset_but_never_the_init_job() -> None:
    upgraded = run_stack_file("prod", image="cockroachdb/cockroach:v25.3.1")
    statefulset = upgraded.one("kubernetes:apps/v1:StatefulSet").manifest()
    [container] = statefulset["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "cockroachdb/cockroach:v25.3.1"
    assert statefulset["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    assert upgraded.opts_of("kubernetes:batch/v1:Job", "init").ignore_changes == ["spec"]


def test_released_volumes_are_deleted_on_scale_down_only_when_asked() -> None:
    stack = run_stack_file("dev", scaling={"releaseVolumes": True})
    policy = stack.one("kubernetes:apps/v1:StatefulSet").manifest()["spec"][
        "persistentVolumeClaimRetentionPolicy"
    ]
    assert policy == {"whenDeleted": "Retain", "whenScaled": "Delete"}


def test_unchanged_inputs_are_no_change_even_with_recorded_actions() -> None:
    olds = inputs() | {"actions": [], "__provider": "serialized"}
    assert ClusterGuardProvider().diff("id", olds, inputs()).changes is False


def test_a_changed_input_is_an_update_in_place() -> None:
    result = ClusterGuardProvider().diff("id", inputs(), inputs(replicas=5))
    assert (result.changes, result.replaces) == (True, [])


def test_rendering_without_a_dsn_declares_the_guard_unreachable() -> None:
    guard = run_stack_file("dev").one(GUARD).inputs
    assert (guard["reachable"], guard.get("admin_dsn")) == (False, None)
