"""The dev stack deployed by the real Pulumi engine to a live Kubernetes API server.

The server (tests/apiserver.py) is etcd and kube-apiserver with RBAC and the default admission
plugins, PodSecurity among them; there is no kubelet and no controller-manager. What this
proves that rendering and schema validation cannot: the server stores every object the program
declares, the namespace's Pod Security labels make admission enforce `restricted`, and every
pod the program can produce (the client Pod, the StatefulSet's and the Job's templates) is
admitted under it while a privileged pod is not. `up`, a second `up`, `refresh` and `destroy`
run against the live objects.

Pods never run here. The provider waits for the init Job to complete, the client Pod to be
ready and the public Service to have an endpoint (only the StatefulSet carries
`pulumi.com/skipAwait`, and the provider has no setting to skip awaiting); the `Controllers`
stand-in reports those states through the status subresources and finishes deletions, as the
controllers and kubelet would. Run on a copy of the project with the dev config, in cluster
mode, with the schema and backups disabled (both need a database; see test_program_e2e.py).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from apiserver import (
    ApiError,
    ApiServer,
    ApiServerInfo,
    ApiServerUnavailableError,
    Controllers,
    KubeClient,
    find_binaries,
)
from conftest import unavailable
from engine_env import Engine, EngineUnavailableError, Workspace, committed_config, prepare_engine
from pulumi import automation as auto

pytestmark = [pytest.mark.e2e]

STACK = "dev"
NAMESPACE = str(committed_config(STACK)["namespace"])
NS = f"/api/v1/namespaces/{NAMESPACE}"
APPS = f"/apis/apps/v1/namespaces/{NAMESPACE}"
BATCH = f"/apis/batch/v1/namespaces/{NAMESPACE}"
STATEFULSET = f"{APPS}/statefulsets/cockroachdb"
JOB = f"{BATCH}/jobs/cockroachdb-init"
CLIENT_POD = f"{NS}/pods/cockroachdb-client"
DRY_RUN = "?dryRun=All"


@pytest.fixture(scope="module")
def api_server() -> Iterator[ApiServerInfo]:
    try:
        etcd, kube_apiserver = find_binaries()
    except ApiServerUnavailableError as exc:
        unavailable(str(exc))
        raise AssertionError("unreachable") from exc
    server = ApiServer(etcd, kube_apiserver)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def kube(api_server: ApiServerInfo) -> KubeClient:
    return KubeClient(api_server.url, api_server.token, api_server.ca_file)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, api_server: ApiServerInfo) -> Iterator[Engine]:
    home = tmp_path_factory.mktemp("pulumi-home")
    try:
        try:
            prepared = prepare_engine(home)
        except EngineUnavailableError as exc:
            unavailable(str(exc))
            raise
        yield dataclasses.replace(
            prepared, extra_env={**prepared.extra_env, "KUBECONFIG": str(api_server.kubeconfig)}
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def controllers(kube: KubeClient) -> Iterator[Controllers]:
    with Controllers(kube, NAMESPACE) as running:
        yield running
    assert not running.errors, running.errors


@pytest.fixture(scope="module")
def stack(
    engine: Engine,
    api_server: ApiServerInfo,
    controllers: Controllers,
    tmp_path_factory: pytest.TempPathFactory,
) -> auto.Stack:
    workspace = Workspace.create(engine, tmp_path_factory.mktemp("apiserver-e2e"))
    created = workspace.create_stack(STACK)
    created.set_all_config(
        {
            "openalgo:kubernetes.mode": auto.ConfigValue("cluster"),
            "openalgo:kubernetes.context": auto.ConfigValue(api_server.context),
            "openalgo:schema.enabled": auto.ConfigValue("false"),
            "openalgo:backup.enabled": auto.ConfigValue("false"),
        },
        path=True,
    )
    return created


@dataclass(frozen=True)
class Run:
    summary: dict[str, int]
    seconds: float


def counts(changes: Mapping[Any, int] | None) -> dict[str, int]:
    return {str(getattr(op, "value", op)): n for op, n in (changes or {}).items()}


def timed_up(stack: auto.Stack) -> Run:
    start = time.monotonic()
    result = stack.up(color="never")
    return Run(counts(result.summary.resource_changes), time.monotonic() - start)


@pytest.fixture(scope="module")
def first_up(stack: auto.Stack) -> Run:
    return timed_up(stack)


@pytest.fixture(scope="module")
def second_up(first_up: Run, stack: auto.Stack) -> Run:
    return timed_up(stack)


@pytest.fixture(scope="module")
def refreshed(second_up: Run, stack: auto.Stack) -> Run:
    start = time.monotonic()
    result = stack.refresh(color="never")
    return Run(counts(result.summary.resource_changes), time.monotonic() - start)


@pytest.fixture(scope="module")
def destroyed(refreshed: Run, stack: auto.Stack) -> Run:
    start = time.monotonic()
    result = stack.destroy(color="never")
    return Run(counts(result.summary.resource_changes), time.monotonic() - start)


def pod_from_template(template: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {**template.get("metadata", {}), "name": name},
        "spec": template["spec"],
    }


def test_first_up_creates_resources(first_up: Run) -> None:
    assert first_up.summary.get("create", 0) > 0
    assert set(first_up.summary) == {"create"}


def test_namespace_enforces_restricted_pod_security(first_up: Run, kube: KubeClient) -> None:
    labels = kube.get(NS)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "latest"


def test_server_stores_the_statefulset_as_declared(first_up: Run, kube: KubeClient) -> None:
    statefulset = kube.get(STATEFULSET)
    spec = statefulset["spec"]
    assert spec["replicas"] == 3
    assert spec["serviceName"] == "cockroachdb"
    assert spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "10Gi"
    (container,) = spec["template"]["spec"]["containers"]
    assert container["image"] == "cockroachdb/cockroach:v25.2.8"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def statefulset_pod(statefulset: dict[str, Any], ordinal: int) -> dict[str, Any]:
    """The pod the StatefulSet controller would create: its template plus one claim per
    volumeClaimTemplate, mounted under the template's name."""
    name = f"{statefulset['metadata']['name']}-{ordinal}"
    pod = pod_from_template(statefulset["spec"]["template"], name)
    claims = [
        {
            "name": claim["metadata"]["name"],
            "persistentVolumeClaim": {"claimName": f"{claim['metadata']['name']}-{name}"},
        }
        for claim in statefulset["spec"].get("volumeClaimTemplates", [])
    ]
    pod["spec"] = {**pod["spec"], "volumes": [*pod["spec"].get("volumes", []), *claims]}
    return pod


def test_statefulset_pod_template_is_admitted_under_restricted(
    first_up: Run, kube: KubeClient
) -> None:
    admitted = kube.create(f"{NS}/pods{DRY_RUN}", statefulset_pod(kube.get(STATEFULSET), 0))
    assert admitted["spec"]["securityContext"]["runAsNonRoot"] is True


def test_server_stores_the_init_job_as_declared(first_up: Run, kube: KubeClient) -> None:
    job = kube.get(JOB)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "cockroachdb/cockroach:v25.2.8"
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"Never", "OnFailure"}


def test_init_job_pod_template_is_admitted_under_restricted(
    first_up: Run, kube: KubeClient
) -> None:
    template = kube.get(JOB)["spec"]["template"]
    admitted = kube.create(f"{NS}/pods{DRY_RUN}", pod_from_template(template, "init-dry-run"))
    assert admitted["metadata"]["namespace"] == NAMESPACE


def test_server_admitted_the_client_pod(first_up: Run, kube: KubeClient) -> None:
    pod = kube.get(CLIENT_POD)
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["containers"][0]["image"] == "cockroachdb/cockroach:v25.2.8"


def test_server_rejects_a_pod_without_the_restricted_security_context(
    first_up: Run, kube: KubeClient
) -> None:
    unconstrained = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "unconstrained"},
        "spec": {"containers": [{"name": "shell", "image": "cockroachdb/cockroach:v25.2.8"}]},
    }
    with pytest.raises(ApiError) as rejected:
        kube.create(f"{NS}/pods", unconstrained)
    assert rejected.value.status == 403
    assert 'violates PodSecurity "restricted:latest"' in str(rejected.value)
    assert "runAsNonRoot != true" in str(rejected.value)
    assert kube.get_or_none(f"{NS}/pods/unconstrained") is None


def test_second_up_changes_nothing(second_up: Run) -> None:
    assert set(second_up.summary) == {"same"}


def test_refresh_finds_no_drift_in_the_live_objects(refreshed: Run) -> None:
    assert set(refreshed.summary) == {"same"}


def test_destroy_deletes_every_object_from_the_server(
    destroyed: Run, first_up: Run, kube: KubeClient
) -> None:
    assert destroyed.summary == {"delete": first_up.summary["create"]}
    assert kube.get_or_none(NS) is None
