"""The rollout gate and the route to the database, as the program declares them under mocks."""

from __future__ import annotations

import pytest
from stack_harness import RenderedStack, run_stack_file

from database.admin import ADMIN_KEYS, ADMIN_SECRET_KEYS
from kube.access import KubeAccess

ROLLOUT = "pulumi-python:dynamic/openalgo:ClusterRollout"
SQL_SPEAKERS = (
    "pulumi-python:dynamic/openalgo:SchemaMigrations",
    "pulumi-python:dynamic/openalgo:ClusterGuard",
    "pulumi-python:dynamic/openalgo:BackupSchedule",
)
SQL_SPEAKER_NAMES = ("schema-migrations", "guard-gate", "backups-schedule")


@pytest.fixture(scope="module")
def prod_with_dsn() -> RenderedStack:
    return run_stack_file("prod", adminDsn="postgresql://root@db.example:26257/defaultdb")


def test_cluster_mode_declares_the_rollout_gate_for_the_stacks_pods(prod: RenderedStack) -> None:
    access = KubeAccess.from_input(prod.one(ROLLOUT).inputs["kube_access"])
    assert access is not None
    assert (access.namespace, access.statefulset, access.init_job) == (
        "trading",
        "cockroachdb",
        "cockroachdb-init",
    )
    assert access.port == 26257
    assert access.timeout_s == 600


def test_wait_timeout_comes_from_config() -> None:
    stack = run_stack_file("prod", kubernetes={"mode": "cluster", "waitTimeoutSeconds": 90})
    assert stack.one(ROLLOUT).inputs["kube_access"]["timeout_s"] == 90


def test_wait_timeout_below_its_bound_is_refused() -> None:
    with pytest.raises(Exception, match=r"kubernetes\.waitTimeoutSeconds = 5: .*30") as refused:
        run_stack_file("prod", kubernetes={"mode": "cluster", "waitTimeoutSeconds": 5})
    assert "openalgo:kubernetes.waitTimeoutSeconds" in str(refused.value)


def test_rendering_declares_no_rollout_gate() -> None:
    stack = run_stack_file("dev", kubernetes={"mode": "render"})
    assert stack.of_type(ROLLOUT) == []


def test_every_sql_speaker_tunnels_through_the_api_without_an_admin_dsn(
    prod: RenderedStack,
) -> None:
    rollout_access = prod.one(ROLLOUT).inputs["kube_access"]
    for typ in SQL_SPEAKERS:
        assert prod.one(typ).inputs["kube_access"] == rollout_access, typ


def test_a_configured_admin_dsn_is_used_as_it_is(prod_with_dsn: RenderedStack) -> None:
    for typ in SQL_SPEAKERS:
        assert prod_with_dsn.one(typ).inputs.get("kube_access") is None, typ


def test_public_service_is_not_awaited_before_init(prod: RenderedStack) -> None:
    services = [s.manifest() for s in prod.of_type("kubernetes:core/v1:Service")]
    public = next(s for s in services if s["metadata"]["name"] == "cockroachdb-public")
    assert public["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"


def test_init_job_is_awaited_by_the_gate_not_the_provider(prod: RenderedStack) -> None:
    job = prod.one("kubernetes:batch/v1:Job").manifest()
    assert job["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"


def test_destroy_leaves_the_namespace_and_the_claims_in_it(prod: RenderedStack) -> None:
    options = prod.opts_of("kubernetes:core/v1:Namespace", "namespace")
    assert options.retain_on_delete is True


def test_every_sql_speaker_receives_the_same_admin_access(prod: RenderedStack) -> None:
    accesses = [{key: prod.one(typ).inputs[key] for key in ADMIN_KEYS} for typ in SQL_SPEAKERS]
    assert accesses[0]["client_cert"]
    assert all(access == accesses[0] for access in accesses)


def test_every_sql_speaker_keeps_its_credentials_secret_in_its_outputs(
    prod: RenderedStack,
) -> None:
    for typ, name in zip(SQL_SPEAKERS, SQL_SPEAKER_NAMES, strict=True):
        secret_outputs = prod.opts_of(typ, name).additional_secret_outputs or []
        assert set(ADMIN_SECRET_KEYS) <= set(secret_outputs), typ
