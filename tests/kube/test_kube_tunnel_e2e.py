"""The port-forward and the bounded waits against the live control plane, without the engine.

Pods are created by hand in their own namespaces; kwok reports them, and their SQL port forwards
to the session's PostgreSQL (tests/support/control_plane.py).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from control_plane import ControlPlane, KubeClient, SqlEndpoint

from kube.access import (
    ClusterNotReadyError,
    ClusterReader,
    KubeAccess,
    wait_for_init,
    wait_for_ready_pod,
)
from kube.tunnel import port_forward

pytestmark = [pytest.mark.e2e]

READY_NAMESPACE = "tunnel-ready"
STUCK_NAMESPACE = "tunnel-stuck"
LABELS = {"app.kubernetes.io/name": "cockroachdb", "app.kubernetes.io/instance": "cockroachdb"}
SERVICE_DSN = (
    "postgresql://root@cockroachdb-public.{namespace}.svc.cluster.local:26257/defaultdb"
    "?sslmode=disable&connect_timeout=10"
)


def database_pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": LABELS},
        "spec": {"containers": [{"name": "cockroachdb", "image": "cockroachdb/cockroach:v25.2.8"}]},
    }


def init_job() -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "cockroachdb-init"},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "init", "image": "cockroachdb/cockroach:v25.2.8"}],
                }
            }
        },
    }


def access(control_plane: ControlPlane, namespace: str, timeout_s: float) -> KubeAccess:
    return KubeAccess(
        namespace=namespace,
        context=control_plane.info.context,
        statefulset="cockroachdb",
        init_job="cockroachdb-init",
        pod_selector=tuple(sorted(LABELS.items())),
        port=26257,
        timeout_s=timeout_s,
    )


@pytest.fixture(scope="module")
def kubeconfig(control_plane: ControlPlane) -> Iterator[None]:
    previous = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(control_plane.info.kubeconfig)
    yield
    if previous is None:
        os.environ.pop("KUBECONFIG", None)
    else:
        os.environ["KUBECONFIG"] = previous


@pytest.fixture(scope="module")
def ready_cluster(control_plane: ControlPlane, kubeconfig: None) -> KubeAccess:
    """A namespace with an init Job and two database pods, initialised."""
    kube = control_plane.client()
    kube.create("/api/v1/namespaces", {"metadata": {"name": READY_NAMESPACE}})
    kube.create(f"/apis/batch/v1/namespaces/{READY_NAMESPACE}/jobs", init_job())
    for name in ("cockroachdb-0", "cockroachdb-1"):
        kube.create(f"/api/v1/namespaces/{READY_NAMESPACE}/pods", database_pod(name))
    target = access(control_plane, READY_NAMESPACE, 60)
    wait_for_init(ClusterReader(target), 60)
    return target


@pytest.fixture(scope="module")
def stuck_cluster(control_plane: ControlPlane, kubeconfig: None) -> KubeAccess:
    """A database pod that runs but never turns ready."""
    assert control_plane.readiness is not None
    control_plane.readiness.never_ready.add(STUCK_NAMESPACE)
    kube: KubeClient = control_plane.client()
    kube.create("/api/v1/namespaces", {"metadata": {"name": STUCK_NAMESPACE}})
    pod = kube.create(f"/api/v1/namespaces/{STUCK_NAMESPACE}/pods", database_pod("cockroachdb-0"))
    path = f"/api/v1/namespaces/{STUCK_NAMESPACE}/pods/{pod['metadata']['name']}"
    deadline = time.monotonic() + 60
    while kube.get(path).get("status", {}).get("phase") != "Running":
        assert time.monotonic() < deadline, "kwok never reported the pod Running"
        time.sleep(0.2)
    return access(control_plane, STUCK_NAMESPACE, 5)


def test_wait_for_init_returns_once_the_job_controller_completes_the_job(
    ready_cluster: KubeAccess,
) -> None:
    wait_for_init(ClusterReader(ready_cluster), 5)


def test_tunnel_reaches_the_sql_port_of_a_ready_pod(
    ready_cluster: KubeAccess, sql_endpoint: SqlEndpoint
) -> None:
    with port_forward(ready_cluster) as tunnel:
        dsn = SERVICE_DSN.format(namespace=READY_NAMESPACE)
        with psycopg.connect(dsn, hostaddr=tunnel.host, port=tunnel.port) as conn:
            row = conn.execute("SELECT current_user, current_database()").fetchone()
    assert row == ("root", "defaultdb")
    assert tunnel.pod in {"cockroachdb-0", "cockroachdb-1"}
    assert tunnel.errors == []


def test_tunnel_carries_concurrent_connections(ready_cluster: KubeAccess) -> None:
    answers: list[int] = []

    def query(n: int, host: str, port: int) -> None:
        dsn = SERVICE_DSN.format(namespace=READY_NAMESPACE)
        with psycopg.connect(dsn, hostaddr=host, port=port) as conn:
            row = conn.execute("SELECT %s::int + pg_backend_pid() * 0", (n,)).fetchone()
            assert row is not None
            answers.append(int(row[0]))

    with port_forward(ready_cluster) as tunnel:
        threads = [
            threading.Thread(target=query, args=(n, tunnel.host, tunnel.port)) for n in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(answers) == [0, 1, 2, 3]


def test_tunnel_closes_its_listener_when_the_block_ends(ready_cluster: KubeAccess) -> None:
    with port_forward(ready_cluster) as tunnel:
        port = tunnel.port
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            SERVICE_DSN.format(namespace=READY_NAMESPACE), hostaddr="127.0.0.1", port=port
        )


def test_waiting_for_a_ready_pod_fails_at_the_bound_naming_the_pod_and_why(
    stuck_cluster: KubeAccess,
) -> None:
    with pytest.raises(ClusterNotReadyError) as failed:
        wait_for_ready_pod(ClusterReader(stuck_cluster), stuck_cluster.timeout_s)
    message = str(failed.value)
    assert f"no CockroachDB pod in namespace {STUCK_NAMESPACE} became ready within 5s" in message
    assert "cockroachdb-0: Running; ContainersReady=ContainersNotReady" in message
    assert "Ready=ContainersNotReady (readiness probe failed)" in message


def test_waiting_for_a_missing_init_job_fails_at_the_bound(stuck_cluster: KubeAccess) -> None:
    with pytest.raises(ClusterNotReadyError, match="job cockroachdb-init did not complete within"):
        wait_for_init(ClusterReader(stuck_cluster), 3)
