"""Reaching the pods through the Kubernetes API: the verdicts on API objects, the bounded wait,
and which route a SQL connection takes."""

from __future__ import annotations

from typing import Any

import pytest

from database import admin as admin_connection
from database.admin import admin_route
from kube.access import (
    ClusterNotReadyError,
    KubeAccess,
    inside_cluster,
    job_state,
    pod_problem,
    pod_ready,
    rollout_state,
    wait_for_init,
    wait_until,
)

ACCESS = KubeAccess(
    namespace="trading",
    context="prod-cluster",
    statefulset="cockroachdb",
    init_job="cockroachdb-init",
    pod_selector=(("app.kubernetes.io/name", "cockroachdb"),),
    port=26257,
    timeout_s=600.0,
)


def pod(
    name: str,
    *,
    ready: bool = True,
    phase: str = "Running",
    revision: str = "rev-2",
    deleting: bool = False,
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": {"controller-revision-hash": revision}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-03T08:00:00Z"
    default = [{"type": "Ready", "status": "True" if ready else "False"}]
    return {"metadata": metadata, "status": {"phase": phase, "conditions": conditions or default}}


def statefulset(
    replicas: int = 3, ready: int = 3, updated: int = 3, generation: int = 2, observed: int = 2
) -> dict[str, Any]:
    return {
        "metadata": {"name": "cockroachdb", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "readyReplicas": ready,
            "updatedReplicas": updated,
            "updateRevision": "rev-2",
            "currentRevision": "rev-2",
        },
    }


def test_access_survives_the_round_trip_through_provider_inputs() -> None:
    assert KubeAccess.from_input(ACCESS.to_input()) == ACCESS


def test_missing_access_means_the_dsn_is_used_as_it_is() -> None:
    assert KubeAccess.from_input(None) is None
    assert KubeAccess.from_input({}) is None


def test_label_selector_joins_the_pod_labels() -> None:
    assert ACCESS.label_selector == "app.kubernetes.io/name=cockroachdb"


def test_a_pod_is_inside_the_cluster_when_the_service_host_is_set() -> None:
    assert inside_cluster({"KUBERNETES_SERVICE_HOST": "10.96.0.1"})
    assert not inside_cluster({})


def test_terminating_pod_is_not_ready() -> None:
    assert pod_ready(pod("cockroachdb-0"))
    assert not pod_ready(pod("cockroachdb-0", deleting=True))


def test_pod_problem_names_phase_false_conditions_and_events() -> None:
    pending = pod(
        "cockroachdb-2",
        phase="Pending",
        conditions=[
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/5 nodes are available: 5 Insufficient memory.",
            }
        ],
    )
    events = [{"reason": "FailedScheduling", "message": "0/5 nodes are available"}]
    assert pod_problem(pending, events) == (
        "cockroachdb-2: Pending; PodScheduled=Unschedulable (0/5 nodes are available: 5 "
        "Insufficient memory.); event FailedScheduling: 0/5 nodes are available"
    )


def test_pod_problem_names_a_waiting_container() -> None:
    stuck = pod("cockroachdb-1", ready=False)
    stuck["status"]["containerStatuses"] = [
        {"name": "cockroachdb", "state": {"waiting": {"reason": "ImagePullBackOff"}}}
    ]
    assert "container cockroachdb: ImagePullBackOff" in pod_problem(stuck)


def test_job_state_reads_complete_failed_and_running() -> None:
    complete = {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    failed = {
        "status": {
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ]
        }
    }
    assert job_state(complete).done
    assert job_state(failed).failed
    assert job_state(failed).detail == (
        "failed: BackoffLimitExceeded (Job has reached the specified backoff limit)"
    )
    assert job_state({"status": {"active": 1}}).detail == "running (active 1, failed attempts 0)"
    assert job_state(None).detail == "not found"


def test_rollout_is_done_when_every_replica_is_ready_on_the_new_revision() -> None:
    pods = [pod(f"cockroachdb-{i}") for i in range(3)]
    assert rollout_state(statefulset(), pods).done


def test_rollout_waits_for_the_controller_to_observe_the_new_spec() -> None:
    pods = [pod(f"cockroachdb-{i}") for i in range(3)]
    assert not rollout_state(statefulset(generation=3, observed=2), pods).done


def test_rollout_names_pods_still_on_the_old_revision_highest_ordinal_first() -> None:
    pods = [pod("cockroachdb-0", revision="rev-1"), pod("cockroachdb-1", revision="rev-1")]
    pods.append(pod("cockroachdb-2", ready=False))
    state = rollout_state(statefulset(ready=2, updated=1), pods)
    assert not state.done
    assert state.waiting_for == (
        "cockroachdb-2: Running; Ready=False",
        "cockroachdb-1: still on revision rev-1",
        "cockroachdb-0: still on revision rev-1",
    )


def test_rollout_names_a_pod_not_created_yet() -> None:
    state = rollout_state(statefulset(replicas=2, ready=1, updated=1), [pod("cockroachdb-0")])
    assert state.waiting_for == ("cockroachdb-1: not created yet",)


def test_missing_statefulset_is_never_rolled_out() -> None:
    assert not rollout_state(None, []).done


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_returns_the_answer_once_done() -> None:
    answers = iter([(False, 1), (False, 2), (True, 3)])
    clock = FakeClock()
    assert wait_until(lambda: next(answers), 60, str, clock=clock, sleep=clock.sleep) == 3


def test_wait_fails_at_the_bound_describing_the_last_answer() -> None:
    clock = FakeClock()
    with pytest.raises(ClusterNotReadyError, match="still 7 pods pending"):
        wait_until(
            lambda: (False, 7),
            10,
            lambda n: f"still {n} pods pending",
            clock=clock,
            sleep=clock.sleep,
            poll_s=2,
        )
    assert clock.now == 10


def test_route_uses_the_configured_dsn_when_no_pods_are_named() -> None:
    with admin_route({"kube_access": None}) as route:
        assert route.options == {}
        assert route.via == "the configured DSN"


def test_route_inside_a_pod_uses_the_service_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    with admin_route({"kube_access": ACCESS.to_input()}) as route:
        assert route.options == {}
        assert "inside the cluster" in route.via


def test_route_outside_the_cluster_dials_the_tunnel_and_keeps_the_host_for_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import contextlib

    from kube import tunnel as kube_tunnel

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    opened: list[KubeAccess] = []

    @contextlib.contextmanager
    def fake_forward(access: KubeAccess) -> Any:
        opened.append(access)
        yield kube_tunnel.Tunnel(host="127.0.0.1", port=40001, pod="cockroachdb-2")

    monkeypatch.setattr(kube_tunnel, "port_forward", fake_forward)
    with admin_route({"kube_access": ACCESS.to_input()}) as route:
        assert route.options == {"hostaddr": "127.0.0.1", "port": "40001"}
        assert route.via == "port-forward to pod cockroachdb-2"
    assert opened == [ACCESS]


def test_route_reports_a_cluster_that_never_became_ready(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import contextlib

    from kube import tunnel as kube_tunnel

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    @contextlib.contextmanager
    def never_ready(access: KubeAccess) -> Any:
        raise ClusterNotReadyError("no CockroachDB pod in namespace trading became ready")
        yield

    monkeypatch.setattr(kube_tunnel, "port_forward", never_ready)
    with (
        pytest.raises(admin_connection.AdminConnectionError, match="became ready"),
        admin_route({"kube_access": ACCESS.to_input()}),
    ):
        pass


class FailedInitReader:
    """Stands in for ClusterReader: a failed init Job whose pod logged three lines."""

    access = ACCESS

    def job(self) -> dict[str, Any]:
        return {
            "status": {
                "conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]
            }
        }

    def pods(self, selector: str | None = None) -> list[dict[str, Any]]:
        assert selector == "job-name=cockroachdb-init"
        return [pod("cockroachdb-init-x7k2p", ready=False, phase="Failed")]

    def log_tail(self, name: str) -> list[str]:
        return ["attempt 59/60: connection refused", "attempt 60/60: connection refused"]


def test_failed_init_job_ends_the_wait_with_its_last_log_lines() -> None:
    reader: Any = FailedInitReader()
    with pytest.raises(ClusterNotReadyError) as failed:
        wait_for_init(reader, 600)
    assert str(failed.value) == (
        "job cockroachdb-init failed: DeadlineExceeded\n"
        "  last log lines of cockroachdb-init-x7k2p:\n"
        "    attempt 59/60: connection refused\n"
        "    attempt 60/60: connection refused"
    )
