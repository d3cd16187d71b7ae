"""`pulumi up` from outside a cluster whose controllers, scheduler and nodes act for real.

The cluster (tests/support/control_plane.py) runs etcd, kube-apiserver, kube-controller-manager and
kube-scheduler built from Kubernetes v1.34, with five kwok nodes across three zones. The
StatefulSet controller creates the pods, the scheduler places them, the PV controller binds
their claims, the Job controller completes the init Job, the disruption controller enforces the
PodDisruptionBudget. Containers never run: kwok reports the pods' states, a CockroachDB pod is
ready once its cluster's init Job completed (as CockroachDB's readiness probe), and every pod's
SQL port forwards to a PostgreSQL 15 server this module starts, standing in for CockroachDB's SQL
endpoint.

The stacks run with no `adminDsn`: the schema, guard and backup providers reach the database
through a port-forward through the API server to a ready pod (kube/tunnel.py), the
path a laptop or a CI runner takes. Stacks, each in its own namespace and run one after the
other: the dev config with 4 replicas (the original's size), a prod-like TLS stack, and a stack
whose pods never become ready.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import private_engine
from control_plane import (
    NODES,
    REGION,
    WALL_TIMES,
    ApiError,
    ClusterInfo,
    ControlPlane,
    KubeClient,
    SqlEndpoint,
)
from engine_env import (
    BACKUP_DESTINATION,
    Engine,
    Workspace,
    committed_config,
)
from pulumi import automation as auto

from components.locality import locality_script
from rules.volumes import templates_owner

pytestmark = [pytest.mark.e2e]

DEV_NAMESPACE = "trading"
TLS_NAMESPACE = "trading-tls"
STUCK_NAMESPACE = "trading-stuck"
STATEFULSET = "cockroachdb"
INIT_JOB = "cockroachdb-init"
DATABASE_PODS = "labelSelector=app.kubernetes.io/name%3Dcockroachdb"
NEXT_IMAGE = "cockroachdb/cockroach:v25.3.1"
GROWN_SIZE = "20Gi"
WAIT_TIMEOUT_S = 180
STUCK_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def cluster(control_plane: ControlPlane) -> ClusterInfo:
    return control_plane.info


@pytest.fixture(scope="module")
def kube(control_plane: ControlPlane) -> KubeClient:
    return control_plane.client()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, cluster: ClusterInfo) -> Iterator[Engine]:
    with private_engine(tmp_path_factory.mktemp("pulumi-home")) as prepared:
        yield dataclasses.replace(
            prepared, extra_env={**prepared.extra_env, "KUBECONFIG": str(cluster.kubeconfig)}
        )


def cluster_stack(
    engine: Engine,
    cluster: ClusterInfo,
    root: Path,
    name: str,
    config: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
) -> auto.Stack:
    """A stack of the project in cluster mode against the test cluster, with no adminDsn."""
    workspace = Workspace.create(engine, root)
    settings = {
        **config,
        "kubernetes": {
            "mode": "cluster",
            "context": cluster.context,
            "waitTimeoutSeconds": WAIT_TIMEOUT_S,
        },
    }
    stack_file = workspace.project / f"Pulumi.{name}.yaml"
    stack_file.write_text(
        yaml.safe_dump({"config": {f"openalgo:{k}": v for k, v in settings.items()}})
    )
    stack = workspace.create_stack(name)
    if secrets:
        stack.set_all_config(
            {f"openalgo:{k}": auto.ConfigValue(v, secret=True) for k, v in secrets.items()}
        )
    return stack


@dataclass(frozen=True)
class Run:
    summary: dict[str, int]
    seconds: float
    outputs: dict[str, Any] = field(default_factory=dict)


def counts(changes: Mapping[Any, int] | None) -> dict[str, int]:
    return {str(getattr(op, "value", op)): n for op, n in (changes or {}).items()}


def timed_up(stack: auto.Stack, label: str) -> Run:
    start = time.monotonic()
    result = stack.up(color="never")
    seconds = time.monotonic() - start
    WALL_TIMES[label] = seconds
    outputs = {key: value.value for key, value in result.outputs.items()}
    return Run(counts(result.summary.resource_changes), seconds, outputs)


def set_config(stack: auto.Stack, values: Mapping[str, str]) -> None:
    stack.set_all_config(
        {f"openalgo:{k}": auto.ConfigValue(v) for k, v in values.items()}, path=True
    )


def pods(kube: KubeClient, namespace: str) -> list[dict[str, Any]]:
    found = kube.items(f"/api/v1/namespaces/{namespace}/pods?{DATABASE_PODS}")
    return sorted(found, key=lambda p: p["metadata"]["name"])


def is_ready(pod: Mapping[str, Any]) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in pod.get("status", {}).get("conditions", [])
    )


def wait_for(what: str, condition: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.25)


def node_zones() -> dict[str, str]:
    return {node.name: node.zone for node in NODES}


# --- the dev stack, 4 replicas ---------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_stack(
    engine: Engine, cluster: ClusterInfo, tmp_path_factory: pytest.TempPathFactory
) -> auto.Stack:
    config = committed_config("dev")
    config.update(replicas="4", schema={**config["schema"], "allowDrop": False})
    return cluster_stack(engine, cluster, tmp_path_factory.mktemp("dev"), "dev", config)


@pytest.fixture(scope="module")
def dev_first_up(dev_stack: auto.Stack, sql_endpoint: SqlEndpoint) -> Run:
    return timed_up(dev_stack, "first up of dev (4 replicas)")


@dataclass(frozen=True)
class NoOp:
    run: Run
    ddl: list[str]


@pytest.fixture(scope="module")
def dev_second_up(dev_first_up: Run, dev_stack: auto.Stack, sql_endpoint: SqlEndpoint) -> NoOp:
    offset = sql_endpoint.log_offset()
    run = timed_up(dev_stack, "second up of dev")
    return NoOp(run, sql_endpoint.ddl_since(offset))


def test_first_up_creates_everything_with_no_admin_dsn(dev_first_up: Run) -> None:
    assert set(dev_first_up.summary) == {"create"}
    assert dev_first_up.outputs["kubernetesMode"] == "cluster"


def test_statefulset_controller_creates_every_pod_and_all_turn_ready(
    dev_first_up: Run, kube: KubeClient
) -> None:
    found = pods(kube, DEV_NAMESPACE)
    assert [p["metadata"]["name"] for p in found] == [f"{STATEFULSET}-{i}" for i in range(4)]
    assert all(is_ready(p) for p in found)


def test_scheduler_places_one_pod_per_node_across_all_zones(
    dev_first_up: Run, kube: KubeClient
) -> None:
    nodes = [p["spec"]["nodeName"] for p in pods(kube, DEV_NAMESPACE)]
    assert len(set(nodes)) == len(nodes) == 4
    assert {node_zones()[n] for n in nodes} == {"zone-a", "zone-b", "zone-c"}


def test_every_volume_claim_is_bound_by_the_pv_controller(
    dev_first_up: Run, kube: KubeClient
) -> None:
    claims = kube.items(f"/api/v1/namespaces/{DEV_NAMESPACE}/persistentvolumeclaims")
    assert sorted(c["metadata"]["name"] for c in claims) == [
        f"datadir-{STATEFULSET}-{i}" for i in range(4)
    ]
    assert {c["status"]["phase"] for c in claims} == {"Bound"}
    assert {c["spec"]["storageClassName"] for c in claims} == {"standard"}


def test_init_job_completes_under_the_job_controller(dev_first_up: Run, kube: KubeClient) -> None:
    job = kube.get(f"/apis/batch/v1/namespaces/{DEV_NAMESPACE}/jobs/{INIT_JOB}")
    conditions = {c["type"]: c["status"] for c in job["status"]["conditions"]}
    assert conditions.get("Complete") == "True"
    assert job["status"]["succeeded"] == 1


def test_schema_is_applied_through_the_port_forward(
    dev_first_up: Run, sql_endpoint: SqlEndpoint
) -> None:
    declared = dev_first_up.outputs["schemaMigrationsDeclared"]
    assert sql_endpoint.history() == declared
    assert dev_first_up.outputs["schemaMigrations"] == declared


def test_openalgo_gets_its_databases_and_its_urls_secret(
    dev_first_up: Run, kube: KubeClient, sql_endpoint: SqlEndpoint
) -> None:
    secret = kube.get("/api/v1/namespaces/openalgo/secrets/openalgo-database")
    assert sorted(secret["data"]) == sorted(dev_first_up.outputs["openalgoDatabaseUrls"])
    with sql_endpoint.admin() as conn:
        owners = dict(
            conn.execute(
                "SELECT d.datname, r.rolname FROM pg_database d "
                "JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname LIKE 'openalgo_%'"
            ).fetchall()
        )
    assert owners == {
        name: "openalgo"
        for name in ("openalgo_app", "openalgo_logs", "openalgo_latency", "openalgo_health",
                     "openalgo_sandbox")
    }  # fmt: skip


def test_outputs_name_the_in_cluster_service(dev_first_up: Run) -> None:
    assert dev_first_up.outputs["publicHost"] == (
        f"cockroachdb-public.{DEV_NAMESPACE}.svc.cluster.local"
    )
    assert dev_first_up.outputs["sqlPort"] == 26257


def test_second_up_changes_nothing(dev_second_up: NoOp) -> None:
    assert set(dev_second_up.run.summary) == {"same"}


def test_second_up_runs_no_ddl(dev_second_up: NoOp) -> None:
    assert dev_second_up.ddl == []


@pytest.fixture(scope="module")
def dev_refreshed(dev_second_up: NoOp, dev_stack: auto.Stack) -> Run:
    start = time.monotonic()
    result = dev_stack.refresh(color="never")
    return Run(counts(result.summary.resource_changes), time.monotonic() - start)


def test_refresh_finds_no_drift_in_the_live_objects(dev_refreshed: Run) -> None:
    assert set(dev_refreshed.summary) == {"same"}


@dataclass(frozen=True)
class NodeRead:
    written: dict[str, str]
    """What the init container's script wrote on each node, run with the service account's
    token against this API server."""
    allowed: dict[str, bool]
    """What the API server lets the service account do (SubjectAccessReview)."""


def may(kube: KubeClient, namespace: str, verb: str, resource: str) -> bool:
    review = kube.create(
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": f"system:serviceaccount:{namespace}:{STATEFULSET}",
                "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"],
                "resourceAttributes": {"verb": verb, "resource": resource, "namespace": namespace},
            },
        },
    )
    return bool(review["status"].get("allowed"))


@pytest.fixture(scope="module")
def node_read(
    dev_first_up: Run,
    kube: KubeClient,
    cluster: ClusterInfo,
    tmp_path_factory: pytest.TempPathFactory,
) -> NodeRead:
    tmp_path = tmp_path_factory.mktemp("node-read")
    token = kube.create(
        f"/api/v1/namespaces/{DEV_NAMESPACE}/serviceaccounts/{STATEFULSET}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )["status"]["token"]
    (tmp_path / "token").write_text(token)
    shutil.copy(cluster.ca_file, tmp_path / "ca.crt")
    address = urlsplit(cluster.url)
    written = {}
    for node in ("node-a1", "node-c1"):
        output = tmp_path / f"{node}.locality"
        subprocess.run(
            [sys.executable, "-I", "-B", "-c", locality_script(("cloud=test",))],
            env={
                "KUBERNETES_SERVICE_HOST": str(address.hostname),
                "KUBERNETES_SERVICE_PORT": str(address.port),
                "NODE_NAME": node,
                "TOKEN_DIR": str(tmp_path),
                "LOCALITY_FILE": str(output),
            },
            check=True,
            capture_output=True,
            timeout=60,
        )
        written[node] = output.read_text()
    allowed = {
        f"{verb} {resource}": may(kube, DEV_NAMESPACE, verb, resource)
        for verb, resource in (("get", "nodes"), ("list", "nodes"), ("get", "secrets"))
    }
    return NodeRead(written, allowed)


def test_init_step_writes_the_locality_of_the_node_it_runs_on(node_read: NodeRead) -> None:
    assert node_read.written == {
        "node-a1": f"cloud=test,region={REGION},zone=zone-a",
        "node-c1": f"cloud=test,region={REGION},zone=zone-c",
    }


def test_database_service_account_may_get_nodes_and_nothing_more(node_read: NodeRead) -> None:
    assert node_read.allowed == {"get nodes": True, "list nodes": False, "get secrets": False}


def test_namespace_refuses_a_pod_outside_the_restricted_profile(
    dev_first_up: Run, kube: KubeClient
) -> None:
    unconstrained = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "unconstrained"},
        "spec": {"containers": [{"name": "shell", "image": "cockroachdb/cockroach:v25.2.8"}]},
    }
    with pytest.raises(ApiError) as rejected:
        kube.create(f"/api/v1/namespaces/{DEV_NAMESPACE}/pods", unconstrained)
    assert rejected.value.status == 403
    assert 'violates PodSecurity "restricted:latest"' in str(rejected.value)


# --- an image change rolls the pods one at a time, highest ordinal first ----------------------


class RolloutWatcher:
    """Records, while an `up` runs, the order in which pods come up on a new revision and the
    most pods unavailable at once."""

    def __init__(self, kube: KubeClient, namespace: str, replicas: int) -> None:
        self._kube = kube
        self._namespace = namespace
        self._replicas = replicas
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.revision_order: list[str] = []
        self.most_unavailable = 0
        self._initial: dict[str, str] = {}

    def __enter__(self) -> RolloutWatcher:
        self._initial = self._revisions()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _revisions(self) -> dict[str, str]:
        return {
            p["metadata"]["name"]: p["metadata"]["labels"].get("controller-revision-hash", "")
            for p in pods(self._kube, self._namespace)
            if is_ready(p) and not p["metadata"].get("deletionTimestamp")
        }

    def _run(self) -> None:
        while not self._stop.is_set():
            ready = self._revisions()
            self.most_unavailable = max(self.most_unavailable, self._replicas - len(ready))
            for name, revision in ready.items():
                if revision != self._initial.get(name) and name not in self.revision_order:
                    self.revision_order.append(name)
            self._stop.wait(0.1)


@dataclass(frozen=True)
class Rollout:
    run: Run
    revision_order: list[str]
    most_unavailable: int
    statefulset: dict[str, Any]
    pods: list[dict[str, Any]]


@dataclass(frozen=True)
class Growth:
    planned: dict[str, int]
    run: Run
    claims_before: dict[str, str]
    claims_after: dict[str, str]
    template_size: str
    pods_before: dict[str, str]
    pods_after: dict[str, str]
    template_owner: list[str]
    shrink_error: str


def claim_sizes(kube: KubeClient, namespace: str) -> dict[str, str]:
    claims = kube.items(f"/api/v1/namespaces/{namespace}/persistentvolumeclaims")
    return {c["metadata"]["name"]: c["spec"]["resources"]["requests"]["storage"] for c in claims}


def pod_uids(kube: KubeClient, namespace: str) -> dict[str, str]:
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kube, namespace)}


@pytest.fixture(scope="module")
def dev_grown(dev_second_up: NoOp, dev_stack: auto.Stack, kube: KubeClient) -> Growth:
    """storage.size 10Gi -> 20Gi with `pulumi up`, then the preview of 20Gi -> 15Gi."""
    claims_before, pods_before = claim_sizes(kube, DEV_NAMESPACE), pod_uids(kube, DEV_NAMESPACE)
    set_config(dev_stack, {"storage.size": GROWN_SIZE})
    planned = dev_stack.preview(color="never")
    run = timed_up(dev_stack, "up of dev growing its volumes 10Gi -> 20Gi")
    statefulset = kube.get(f"/apis/apps/v1/namespaces/{DEV_NAMESPACE}/statefulsets/{STATEFULSET}")
    [template] = statefulset["spec"]["volumeClaimTemplates"]
    owners = templates_owner(statefulset["metadata"]["managedFields"])
    set_config(dev_stack, {"storage.size": "15Gi"})
    try:
        with pytest.raises(auto.errors.CommandError) as shrink:
            dev_stack.preview(color="never")
    finally:
        set_config(dev_stack, {"storage.size": GROWN_SIZE})
    return Growth(
        counts(planned.change_summary),
        run,
        claims_before,
        claim_sizes(kube, DEV_NAMESPACE),
        template["spec"]["resources"]["requests"]["storage"],
        pods_before,
        pod_uids(kube, DEV_NAMESPACE),
        owners,
        str(shrink.value),
    )


def test_preview_of_a_volume_growth_updates_in_place_and_replaces_nothing(
    dev_grown: Growth,
) -> None:
    assert dev_grown.planned.get("update") == 1, dev_grown.planned
    assert "replace" not in dev_grown.planned


def test_growing_the_volumes_enlarges_every_claim(dev_grown: Growth) -> None:
    assert set(dev_grown.claims_before.values()) == {"10Gi"}
    assert dev_grown.claims_after == dict.fromkeys(dev_grown.claims_before, GROWN_SIZE)


def test_growing_the_volumes_updates_the_claim_template_without_a_replace(
    dev_grown: Growth,
) -> None:
    assert dev_grown.template_size == GROWN_SIZE
    assert "replace" not in dev_grown.run.summary
    assert dev_grown.template_owner == ["openalgo-volume-growth"]


def test_growing_the_volumes_deletes_no_pod(dev_grown: Growth) -> None:
    assert dev_grown.pods_after == dev_grown.pods_before


def test_shrinking_the_volumes_fails_the_preview(dev_grown: Growth) -> None:
    assert "storage.size: 20Gi -> 15Gi shrinks the volumes" in dev_grown.shrink_error


@pytest.fixture(scope="module")
def dev_image_change(dev_grown: Growth, dev_stack: auto.Stack, kube: KubeClient) -> Rollout:
    set_config(dev_stack, {"image": NEXT_IMAGE})
    with RolloutWatcher(kube, DEV_NAMESPACE, 4) as watcher:
        run = timed_up(dev_stack, "up of dev with an image change (rolling 4 pods)")
    statefulset = kube.get(f"/apis/apps/v1/namespaces/{DEV_NAMESPACE}/statefulsets/{STATEFULSET}")
    return Rollout(
        run,
        watcher.revision_order,
        watcher.most_unavailable,
        statefulset,
        pods(kube, DEV_NAMESPACE),
    )


def test_image_change_rolls_pods_highest_ordinal_first(dev_image_change: Rollout) -> None:
    assert dev_image_change.revision_order == [f"{STATEFULSET}-{i}" for i in (3, 2, 1, 0)]


def test_image_change_takes_down_one_pod_at_a_time(dev_image_change: Rollout) -> None:
    assert dev_image_change.most_unavailable <= 1


def test_up_returns_only_once_the_rollout_is_finished(dev_image_change: Rollout) -> None:
    status = dev_image_change.statefulset["status"]
    assert status["currentRevision"] == status["updateRevision"]
    assert status["updatedReplicas"] == status["readyReplicas"] == 4
    for pod in dev_image_change.pods:
        assert pod["spec"]["containers"][0]["image"] == NEXT_IMAGE
        assert pod["metadata"]["labels"]["controller-revision-hash"] == status["updateRevision"]
        assert is_ready(pod)


# --- the PodDisruptionBudget under the Eviction API -------------------------------------------


def evict(kube: KubeClient, namespace: str, pod: str) -> int:
    body = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod, "namespace": namespace},
    }
    try:
        kube.create(f"/api/v1/namespaces/{namespace}/pods/{pod}/eviction", body)
    except ApiError as error:
        return error.status
    return 201


@pytest.fixture(scope="module")
def evictions(
    dev_image_change: Rollout, kube: KubeClient, control_plane: ControlPlane
) -> list[int]:
    """Two evictions at once. A replaced CockroachDB pod takes a while to rejoin and turn ready;
    here it would be back within a second, before the API server retries the second eviction
    after its conflict, so the replacement is held unready until both answers are in."""
    readiness = control_plane.readiness
    assert readiness is not None
    budget = f"/apis/policy/v1/namespaces/{DEV_NAMESPACE}/poddisruptionbudgets/cockroachdb-budget"
    wait_for(
        "the disruption controller to allow one disruption",
        lambda: kube.get(budget).get("status", {}).get("disruptionsAllowed") == 1,
    )
    statuses: list[int] = []
    together = threading.Barrier(2)

    def evict_together(pod: str) -> None:
        together.wait()
        statuses.append(evict(kube, DEV_NAMESPACE, pod))

    threads = [
        threading.Thread(target=evict_together, args=(pod,))
        for pod in (f"{STATEFULSET}-1", f"{STATEFULSET}-2")
    ]
    readiness.never_ready.add(DEV_NAMESPACE)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        readiness.never_ready.discard(DEV_NAMESPACE)
    wait_for(
        "the evicted pod to be back and ready",
        lambda: len([p for p in pods(kube, DEV_NAMESPACE) if is_ready(p)]) == 4,
    )
    return sorted(statuses)


def test_second_simultaneous_eviction_is_refused_by_the_budget(evictions: list[int]) -> None:
    assert evictions == [201, 429]


# --- scale up 4 -> 5, the documented scale-down back to 4, destroy ----------------------------


@pytest.fixture(scope="module")
def dev_scaled_up(evictions: list[int], dev_stack: auto.Stack) -> Run:
    set_config(dev_stack, {"replicas": "5"})
    return timed_up(dev_stack, "up of dev scaling 4 -> 5")


def test_scale_up_adds_a_ready_pod_with_a_bound_volume(
    dev_scaled_up: Run, kube: KubeClient
) -> None:
    found = pods(kube, DEV_NAMESPACE)
    assert len(found) == 5
    assert all(is_ready(p) for p in found)
    claim = kube.get(
        f"/api/v1/namespaces/{DEV_NAMESPACE}/persistentvolumeclaims/datadir-{STATEFULSET}-4"
    )
    assert claim["status"]["phase"] == "Bound"


def test_scale_down_without_decommissioning_fails_the_preview(
    dev_scaled_up: Run, dev_stack: auto.Stack
) -> None:
    set_config(dev_stack, {"replicas": "4"})
    try:
        with pytest.raises(auto.CommandError) as refused:
            dev_stack.preview(color="never")
    finally:
        set_config(dev_stack, {"replicas": "5"})
    assert f"{STATEFULSET}-4" in str(refused.value)


@pytest.fixture(scope="module")
def dev_scaled_down(dev_scaled_up: Run, dev_stack: auto.Stack, kube: KubeClient) -> Run:
    """The documented scale-down (docs/operations.md) with step 1 (`python -m operations
    decommission`, which needs CockroachDB) left out: the config names the decommissioned
    ordinal, then `up` shrinks the StatefulSet."""
    dev_stack.set_config("openalgo:scaling.decommissioned[0]", auto.ConfigValue("4"), path=True)
    set_config(dev_stack, {"replicas": "4"})
    run = timed_up(dev_stack, "up of dev scaling 5 -> 4")
    wait_for("pod 4 to be gone", lambda: len(pods(kube, DEV_NAMESPACE)) == 4)
    return run


def test_documented_scale_down_removes_the_pod_and_keeps_its_volume(
    dev_scaled_down: Run, kube: KubeClient
) -> None:
    assert [p["metadata"]["name"] for p in pods(kube, DEV_NAMESPACE)] == [
        f"{STATEFULSET}-{i}" for i in range(4)
    ]
    claim = kube.get(
        f"/api/v1/namespaces/{DEV_NAMESPACE}/persistentvolumeclaims/datadir-{STATEFULSET}-4"
    )
    assert claim["status"]["phase"] == "Bound"


@pytest.fixture(scope="module")
def dev_destroyed(dev_scaled_down: Run, dev_stack: auto.Stack, kube: KubeClient) -> Run:
    start = time.monotonic()
    result = dev_stack.destroy(color="never")
    WALL_TIMES["destroy of dev"] = time.monotonic() - start
    wait_for("the pods to be deleted", lambda: not pods(kube, DEV_NAMESPACE))
    return Run(counts(result.summary.resource_changes), time.monotonic() - start)


def test_destroy_deletes_the_program_objects(dev_destroyed: Run, kube: KubeClient) -> None:
    assert set(dev_destroyed.summary) == {"delete"}
    assert (
        kube.get_or_none(f"/apis/apps/v1/namespaces/{DEV_NAMESPACE}/statefulsets/{STATEFULSET}")
        is None
    )


def test_destroy_keeps_every_volume_claim(dev_destroyed: Run, kube: KubeClient) -> None:
    claims = kube.items(f"/api/v1/namespaces/{DEV_NAMESPACE}/persistentvolumeclaims")
    assert sorted(c["metadata"]["name"] for c in claims) == [
        f"datadir-{STATEFULSET}-{i}" for i in range(5)
    ]


def test_destroy_keeps_the_database(dev_destroyed: Run, sql_endpoint: SqlEndpoint) -> None:
    assert sql_endpoint.history() != []


# --- a prod-like TLS stack: certificates verified through the port-forward --------------------


class NodeCertificateMount:
    """Waits for the stack's node certificate Secret and serves it from PostgreSQL, as the
    CockroachDB nodes would once the kubelet mounted it."""

    def __init__(self, kube: KubeClient, endpoint: SqlEndpoint, namespace: str) -> None:
        self._kube = kube
        self._endpoint = endpoint
        self._namespace = namespace
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.mounted = False
        self.errors: list[str] = []

    def __enter__(self) -> NodeCertificateMount:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        import base64

        path = f"/api/v1/namespaces/{self._namespace}/secrets/cockroachdb-node-certs"
        while not self._stop.is_set() and not self.mounted:
            try:
                secret = self._kube.get_or_none(path)
                if secret is not None:
                    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
                    self._endpoint.enable_tls(data["ca.crt"], data["node.crt"], data["node.key"])
                    self.mounted = True
            except Exception as error:  # reported by the test, not swallowed
                self.errors.append(repr(error))
                return
            self._stop.wait(0.2)


@dataclass(frozen=True)
class TlsUp:
    first: Run
    second: Run
    ddl: list[str]
    mounted: bool
    errors: list[str]


@pytest.fixture(scope="module")
def tls_stack_ups(
    dev_destroyed: Run,
    engine: Engine,
    cluster: ClusterInfo,
    kube: KubeClient,
    sql_endpoint: SqlEndpoint,
    tmp_path_factory: pytest.TempPathFactory,
) -> TlsUp:
    config = committed_config("prod")
    config.update(
        environment="staging",
        namespace=TLS_NAMESPACE,
        app={"namespace": f"openalgo-{TLS_NAMESPACE}"},
        protect=False,
        monitoring={**config["monitoring"], "prometheusOperator": False},
    )
    stack = cluster_stack(
        engine,
        cluster,
        tmp_path_factory.mktemp("tls"),
        "tls",
        config,
        secrets={"backupDestination": BACKUP_DESTINATION.format(token="control-plane")},
    )
    with NodeCertificateMount(kube, sql_endpoint, TLS_NAMESPACE) as mount:
        first = timed_up(stack, "first up of the prod-like TLS stack (4 replicas)")
    offset = sql_endpoint.log_offset()
    second = timed_up(stack, "second up of the prod-like TLS stack")
    return TlsUp(first, second, sql_endpoint.ddl_since(offset), mount.mounted, mount.errors)


def test_tls_stack_applies_the_schema_over_verified_tls(
    tls_stack_ups: TlsUp, sql_endpoint: SqlEndpoint
) -> None:
    assert tls_stack_ups.mounted, tls_stack_ups.errors
    assert set(tls_stack_ups.first.summary) == {"create"}
    assert sql_endpoint.history() == tls_stack_ups.first.outputs["schemaMigrationsDeclared"]


def test_tls_stack_spreads_its_pods_across_zones_on_its_storage_class(
    tls_stack_ups: TlsUp, kube: KubeClient
) -> None:
    nodes = [p["spec"]["nodeName"] for p in pods(kube, TLS_NAMESPACE)]
    assert len(set(nodes)) == 4
    assert {node_zones()[n] for n in nodes} == {"zone-a", "zone-b", "zone-c"}
    claims = kube.items(f"/api/v1/namespaces/{TLS_NAMESPACE}/persistentvolumeclaims")
    assert {c["spec"]["storageClassName"] for c in claims} == {"premium-rwo"}
    assert {c["status"]["phase"] for c in claims} == {"Bound"}


def test_network_policy_is_in_place_while_the_port_forward_works(
    tls_stack_ups: TlsUp, kube: KubeClient
) -> None:
    policies = kube.items(f"/apis/networking.k8s.io/v1/namespaces/{TLS_NAMESPACE}/networkpolicies")
    assert policies, "the prod-like stack declares its default-deny NetworkPolicy"
    assert tls_stack_ups.first.outputs["schemaMigrations"]


def test_tls_stack_second_up_changes_nothing_and_runs_no_ddl(tls_stack_ups: TlsUp) -> None:
    assert set(tls_stack_ups.second.summary) == {"same"}
    assert tls_stack_ups.ddl == []


# --- pods that never become ready -------------------------------------------------------------


@dataclass(frozen=True)
class Failed:
    message: str
    seconds: float


@pytest.fixture(scope="module")
def stuck_up(
    engine: Engine,
    cluster: ClusterInfo,
    control_plane: ControlPlane,
    tmp_path_factory: pytest.TempPathFactory,
) -> Failed:
    assert control_plane.readiness is not None
    control_plane.readiness.never_ready.add(STUCK_NAMESPACE)
    config = committed_config("dev")
    config.update(
        namespace=STUCK_NAMESPACE, replicas="3", app={"namespace": f"openalgo-{STUCK_NAMESPACE}"}
    )
    stack = cluster_stack(engine, cluster, tmp_path_factory.mktemp("stuck"), "stuck", config)
    stack.set_config(
        "openalgo:kubernetes.waitTimeoutSeconds", auto.ConfigValue(str(STUCK_TIMEOUT_S)), path=True
    )
    printed: list[str] = []
    start = time.monotonic()
    with pytest.raises(auto.CommandError):
        stack.up(color="never", on_output=printed.append)
    seconds = time.monotonic() - start
    WALL_TIMES["failing up of a stack whose pods never become ready"] = seconds
    return Failed("\n".join(printed), seconds)


def test_up_fails_naming_the_pods_that_are_not_ready_and_why(stuck_up: Failed) -> None:
    assert f"StatefulSet {STATEFULSET} did not finish rolling out within" in stuck_up.message
    assert f"openalgo:kubernetes.waitTimeoutSeconds = {STUCK_TIMEOUT_S}" in stuck_up.message
    for ordinal in range(3):
        assert f"{STATEFULSET}-{ordinal}: Running" in stuck_up.message
    assert "Ready=ContainersNotReady (readiness probe failed)" in stuck_up.message
