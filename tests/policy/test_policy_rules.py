"""The policy pack's rules as pure functions: a good resource passes, each bad one is named.

Resources are written the way the policy SDK hands them over: Pulumi type tokens and camelCase
Kubernetes properties.
"""

from __future__ import annotations

from typing import Any

import pytest

from policy import resource_rules, stack_rules
from policy.stack_rules import StackResource, Violation

STATEFULSET = "kubernetes:apps/v1:StatefulSet"
JOB = "kubernetes:batch/v1:Job"
POD = "kubernetes:core/v1:Pod"
CRONJOB = "kubernetes:batch/v1:CronJob"
NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"
BUDGET = "kubernetes:policy/v1:PodDisruptionBudget"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SCHEMA = "pulumi-python:dynamic/openalgo:SchemaMigrations"
IMAGE = "cockroachdb/cockroach:v25.2.8"
CERTS_DIR = "/cockroach/cockroach-certs"
NODE_LABELS = {"app.kubernetes.io/name": "cockroachdb", "app.kubernetes.io/instance": "cockroachdb"}


def container(name: str = "cockroachdb", **overrides: Any) -> dict[str, Any]:
    """A container that passes every rule."""
    base: dict[str, Any] = {
        "name": name,
        "image": IMAGE,
        "command": ["/cockroach/cockroach"],
        "args": ["start", f"--certs-dir={CERTS_DIR}", "--listen-addr=:26257"],
        "resources": {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"memory": "16Gi"}},
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "certs", "mountPath": CERTS_DIR, "readOnly": True}],
    }
    return base | overrides


def pod_spec(*containers: dict[str, Any], certs: str = "cockroachdb-node-certs") -> dict[str, Any]:
    return {
        "securityContext": {"runAsNonRoot": True},
        "containers": list(containers) or [container()],
        "volumes": [{"name": "certs", "secret": {"secretName": certs, "defaultMode": 288}}],
    }


def statefulset(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "cockroachdb", "namespace": "trading"},
        "spec": {
            "selector": {"matchLabels": NODE_LABELS},
            "template": {"metadata": {"labels": NODE_LABELS}, "spec": pod_spec(*containers)},
        }
        | spec,
    }


def job(*containers: dict[str, Any]) -> dict[str, Any]:
    client = pod_spec(*containers, certs="cockroachdb-client-root")
    return {
        "metadata": {"name": "cockroachdb-init", "namespace": "trading"},
        "spec": {"template": {"spec": client}},
    }


def pod(*containers: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "cockroachdb-client", "namespace": "trading"},
        "spec": pod_spec(*containers, certs="cockroachdb-client-root"),
    }


def init_container(script: str) -> dict[str, Any]:
    return container("init", command=["/bin/bash", "-c", script], args=[])


# --- cockroach_tls ----------------------------------------------------------------------------


def test_tls_accepts_nodes_reading_certificates_from_a_mounted_secret() -> None:
    assert resource_rules.cockroach_tls(STATEFULSET, statefulset()) == []


def test_tls_refuses_nodes_started_with_insecure() -> None:
    insecure = container(args=["start", "--insecure", "--listen-addr=:26257"])
    assert resource_rules.cockroach_tls(STATEFULSET, statefulset(insecure)) == [
        "StatefulSet trading/cockroachdb: container 'cockroachdb' turns on --insecure; "
        "production CockroachDB must use TLS (--certs-dir)",
        "StatefulSet trading/cockroachdb: container 'cockroachdb' has no --certs-dir; "
        "production nodes serve TLS with certificates mounted from a Secret",
    ]


def test_tls_refuses_a_certs_dir_that_is_not_a_secret_mount() -> None:
    unmounted = container(volumeMounts=[{"name": "tmp", "mountPath": CERTS_DIR}])
    assert resource_rules.cockroach_tls(STATEFULSET, statefulset(unmounted)) == [
        "StatefulSet trading/cockroachdb: container 'cockroachdb' reads certificates from "
        f"{CERTS_DIR}, which is not mounted from a Secret volume"
    ]


def test_tls_refuses_insecure_inside_an_init_job_script() -> None:
    script = "cockroach init --insecure --host=cockroachdb-0.cockroachdb:26257"
    assert resource_rules.cockroach_tls(JOB, job(init_container(script))) == [
        "Job trading/cockroachdb-init: container 'init' turns on --insecure; "
        "production CockroachDB must use TLS (--certs-dir)"
    ]


def test_tls_refuses_the_insecure_environment_variable() -> None:
    client = container(
        "cockroachdb-client",
        command=["sleep", "infinity"],
        args=[],
        env=[{"name": "COCKROACH_INSECURE", "value": "true"}],
    )
    assert resource_rules.cockroach_tls(POD, pod(client)) == [
        "Pod trading/cockroachdb-client: container 'cockroachdb-client' turns on --insecure; "
        "production CockroachDB must use TLS (--certs-dir)"
    ]


def test_tls_accepts_a_client_that_names_its_certificates() -> None:
    script = f"cockroach init --certs-dir={CERTS_DIR} --host=cockroachdb-0.cockroachdb:26257"
    assert resource_rules.cockroach_tls(JOB, job(init_container(script))) == []


def test_tls_ignores_containers_of_other_images() -> None:
    sidecar = container("exporter", image="prom/statsd-exporter:v0.28.0", args=["--insecure"])
    assert resource_rules.cockroach_tls(STATEFULSET, statefulset(container(), sidecar)) == []


# --- container_resources ----------------------------------------------------------------------


def test_resources_accept_requests_and_a_memory_limit() -> None:
    assert resource_rules.container_resources(STATEFULSET, statefulset()) == []


def test_resources_refuse_a_container_without_a_cpu_request() -> None:
    unsized = container(resources={"requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}})
    assert resource_rules.container_resources(STATEFULSET, statefulset(unsized)) == [
        "StatefulSet trading/cockroachdb: container 'cockroachdb' sets no requests.cpu; "
        "production containers need CPU and memory requests and a memory limit"
    ]


def test_resources_refuse_a_job_container_without_a_memory_limit() -> None:
    unlimited = container("init", resources={"requests": {"cpu": "100m", "memory": "128Mi"}})
    assert resource_rules.container_resources(JOB, job(unlimited)) == [
        "Job trading/cockroachdb-init: container 'init' sets no limits.memory; "
        "production containers need CPU and memory requests and a memory limit"
    ]


def test_resources_refuse_a_pod_with_none_at_all() -> None:
    bare = container("cockroachdb-client", resources={})
    assert resource_rules.container_resources(POD, pod(bare)) == [
        "Pod trading/cockroachdb-client: container 'cockroachdb-client' sets no requests.cpu, "
        "requests.memory, limits.memory; production containers need CPU and memory requests "
        "and a memory limit"
    ]


def test_resources_apply_to_init_containers_too() -> None:
    manifest = statefulset()
    manifest["spec"]["template"]["spec"]["initContainers"] = [container("setup", resources={})]
    assert len(resource_rules.container_resources(STATEFULSET, manifest)) == 1


def test_resources_apply_to_cronjob_pods() -> None:
    unsized = pod_spec(container(resources={}))
    manifest = {
        "metadata": {"name": "backup", "namespace": "trading"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": unsized}}}},
    }
    assert resource_rules.container_resources(CRONJOB, manifest)[0].startswith(
        "CronJob trading/backup: container 'cockroachdb' sets no requests.cpu"
    )


def test_resources_ignore_objects_that_run_no_pods() -> None:
    assert resource_rules.container_resources(SECRET, {"metadata": {"name": "x"}}) == []


# --- image_pinned -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        IMAGE,
        "registry.example.com:5000/cockroachdb/cockroach:v25.2.8",
        "cockroachdb/cockroach@sha256:" + "a" * 64,
    ],
)
def test_images_pinned_by_tag_or_digest_pass(image: str) -> None:
    assert resource_rules.image_pinned(STATEFULSET, statefulset(container(image=image))) == []


@pytest.mark.parametrize(
    "image",
    [
        "cockroachdb/cockroach:latest",
        "cockroachdb/cockroach",
        "registry.example.com:5000/cockroachdb/cockroach",
    ],
)
def test_images_on_latest_or_without_a_tag_are_refused(image: str) -> None:
    assert resource_rules.image_pinned(STATEFULSET, statefulset(container(image=image))) == [
        f"StatefulSet trading/cockroachdb: container 'cockroachdb' image {image!r} is not "
        "pinned: use a release tag or an @sha256: digest, never :latest or no tag"
    ]


def test_a_container_without_an_image_is_refused() -> None:
    nameless = container()
    del nameless["image"]
    assert resource_rules.image_pinned(POD, pod(nameless)) == [
        "Pod trading/cockroachdb-client: container 'cockroachdb' names no image"
    ]


# --- pod_security -----------------------------------------------------------------------------


def test_pod_security_accepts_the_restricted_profile() -> None:
    assert resource_rules.pod_security(STATEFULSET, statefulset()) == []


def test_pod_security_takes_run_as_non_root_from_the_pod() -> None:
    inherits = container(
        securityContext={"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    )
    assert resource_rules.pod_security(STATEFULSET, statefulset(inherits)) == []


def test_pod_security_refuses_a_container_overriding_run_as_non_root() -> None:
    root = container(
        securityContext={
            "runAsNonRoot": False,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        }
    )
    assert resource_rules.pod_security(STATEFULSET, statefulset(root)) == [
        "StatefulSet trading/cockroachdb: container 'cockroachdb' does not set runAsNonRoot: "
        "true (in its own or the pod's securityContext)"
    ]


def test_pod_security_refuses_privilege_escalation_left_unset() -> None:
    loose = container(securityContext={"runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}})
    assert resource_rules.pod_security(JOB, job(loose)) == [
        "Job trading/cockroachdb-init: container 'cockroachdb' does not set "
        "allowPrivilegeEscalation: false"
    ]


def test_pod_security_refuses_capabilities_not_dropped() -> None:
    capable = container(securityContext={"runAsNonRoot": True, "allowPrivilegeEscalation": False})
    assert resource_rules.pod_security(POD, pod(capable)) == [
        "Pod trading/cockroachdb-client: container 'cockroachdb' does not drop ALL capabilities "
        "(capabilities.drop: [ALL])"
    ]


def test_pod_security_refuses_privileged_containers() -> None:
    privileged = container()
    privileged["securityContext"] = privileged["securityContext"] | {"privileged": True}
    assert resource_rules.pod_security(STATEFULSET, statefulset(privileged)) == [
        "StatefulSet trading/cockroachdb: container 'cockroachdb' is privileged"
    ]


# --- protection -------------------------------------------------------------------------------


def test_protection_accepts_a_protected_namespace() -> None:
    assert resource_rules.protection(NAMESPACE, {"metadata": {"name": "trading"}}, True) == []


def test_protection_refuses_an_unprotected_namespace() -> None:
    assert resource_rules.protection(NAMESPACE, {"metadata": {"name": "trading"}}, False) == [
        "Namespace trading is not protected: production keeps it out of reach of "
        "`pulumi destroy` and replacements (resource option protect; openalgo:protect true)"
    ]


def test_protection_refuses_an_unprotected_cockroachdb_statefulset() -> None:
    assert resource_rules.protection(STATEFULSET, statefulset(), False) == [
        "StatefulSet trading/cockroachdb is not protected: production keeps it out of reach of "
        "`pulumi destroy` and replacements (resource option protect; openalgo:protect true)"
    ]


def test_protection_leaves_other_objects_alone() -> None:
    other = statefulset(container("web", image="nginx:1.27.0"))
    assert resource_rules.protection(STATEFULSET, other, False) == []
    assert resource_rules.protection(SECRET, {"metadata": {"name": "x"}}, False) == []


# --- schema_keeps_data ------------------------------------------------------------------------


def test_schema_accepts_no_drop_on_a_production_resource() -> None:
    props = {"allow_drop": False, "production": True}
    assert resource_rules.schema_keeps_data(SCHEMA, props) == []


def test_schema_refuses_allow_drop() -> None:
    props = {"allow_drop": True, "production": True}
    assert resource_rules.schema_keeps_data(SCHEMA, props) == [
        "SchemaMigrations: allow_drop is True; in production destroying the schema resource "
        "must never drop the database (openalgo:schema.allowDrop false)"
    ]


def test_schema_refuses_a_resource_that_does_not_know_it_is_production() -> None:
    props = {"allow_drop": False, "production": False}
    assert resource_rules.schema_keeps_data(SCHEMA, props) == [
        "SchemaMigrations: production is False on a production stack; the provider refuses "
        "drops by itself only when it is true (openalgo:environment prod)"
    ]


def test_schema_rule_ignores_other_dynamic_resources() -> None:
    guard = "pulumi-python:dynamic/openalgo:ClusterGuard"
    assert resource_rules.schema_keeps_data(guard, {"allow_drop": True}) == []


# --- stack rules ------------------------------------------------------------------------------


def resource(typ: str, props: dict[str, Any], name: str = "r") -> StackResource:
    return StackResource(typ, props, f"urn:pulumi:prod::openalgo-cockroachdb::{typ}::{name}")


def budget(**spec: Any) -> StackResource:
    props = {
        "metadata": {"name": "cockroachdb-budget", "namespace": "trading"},
        "spec": {"selector": {"matchLabels": NODE_LABELS}, "maxUnavailable": 1} | spec,
    }
    return resource(BUDGET, props, "cluster-budget")


def network_policy(name: str, spec: dict[str, Any]) -> StackResource:
    props = {"metadata": {"name": name, "namespace": "trading"}, "spec": spec}
    return resource(NETWORK_POLICY, props, name)


DEFAULT_DENY = network_policy(
    "default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]}
)
NODE_POLICY = network_policy(
    "cockroachdb",
    {
        "podSelector": {"matchLabels": NODE_LABELS},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [{"podSelector": {"matchLabels": NODE_LABELS}}], "ports": [{"port": 26257}]}
        ],
    },
)
NODES = resource(STATEFULSET, statefulset(), "cluster-statefulset")


def secret(name: str) -> StackResource:
    return resource(SECRET, {"metadata": {"name": name, "namespace": "trading"}}, name)


def test_disruption_budget_accepts_max_unavailable_one_over_the_nodes() -> None:
    assert stack_rules.disruption_budget([NODES, budget()]) == []


def test_disruption_budget_is_required() -> None:
    assert stack_rules.disruption_budget([NODES]) == [
        Violation(
            "StatefulSet trading/cockroachdb: no PodDisruptionBudget selects its pods; add one "
            "with maxUnavailable: 1 so a drain stops one node at a time",
            NODES.urn,
        )
    ]


def test_disruption_budget_must_allow_one_node_down() -> None:
    loose = budget(maxUnavailable=2.0)
    assert stack_rules.disruption_budget([NODES, loose]) == [
        Violation(
            "PodDisruptionBudget trading/cockroachdb-budget: maxUnavailable is 2; it must be 1 "
            "with no minAvailable, so a drain stops one CockroachDB node at a time",
            loose.urn,
        )
    ]


def test_disruption_budget_by_min_available_is_refused() -> None:
    by_minimum = budget(maxUnavailable=None, minAvailable=2)
    assert stack_rules.disruption_budget([NODES, by_minimum])[0].message == (
        "PodDisruptionBudget trading/cockroachdb-budget: maxUnavailable is unset and "
        "minAvailable is 2; it must be 1 with no minAvailable, so a drain stops one CockroachDB "
        "node at a time"
    )


def test_disruption_budget_selecting_other_pods_does_not_count() -> None:
    elsewhere = budget(selector={"matchLabels": {"app.kubernetes.io/name": "openalgo"}})
    assert len(stack_rules.disruption_budget([NODES, elsewhere])) == 1


def test_disruption_budget_in_another_namespace_does_not_count() -> None:
    other = budget()
    other.props["metadata"]["namespace"] = "default"
    assert len(stack_rules.disruption_budget([NODES, other])) == 1


def test_network_policy_accepts_default_deny_and_a_node_policy() -> None:
    assert stack_rules.network_policy([NODES, DEFAULT_DENY, NODE_POLICY]) == []


def test_network_policy_requires_a_default_deny() -> None:
    assert stack_rules.network_policy([NODES, NODE_POLICY]) == [
        Violation(
            "namespace trading: no default-deny ingress NetworkPolicy (podSelector {}, "
            "policyTypes [Ingress], no ingress rules)",
            NODES.urn,
        )
    ]


def test_network_policy_requires_one_selecting_the_nodes() -> None:
    assert stack_rules.network_policy([NODES, DEFAULT_DENY]) == [
        Violation(
            "StatefulSet trading/cockroachdb: no NetworkPolicy selects its pods; add one that "
            "admits only the nodes and the listed SQL and metrics clients",
            NODES.urn,
        )
    ]


def test_network_policy_refuses_a_rule_open_to_every_source() -> None:
    open_policy = network_policy(
        "cockroachdb",
        {"podSelector": {"matchLabels": NODE_LABELS}, "ingress": [{"ports": [{"port": 26257}]}]},
    )
    assert stack_rules.network_policy([NODES, DEFAULT_DENY, open_policy]) == [
        Violation(
            "NetworkPolicy trading/cockroachdb: ingress rule 0 has no 'from', so it admits "
            "every source",
            open_policy.urn,
        )
    ]


def test_network_policy_refuses_peers_that_admit_everything() -> None:
    everyone = network_policy(
        "cockroachdb",
        {
            "podSelector": {"matchLabels": NODE_LABELS},
            "ingress": [{"from": [{"namespaceSelector": {}}, {"ipBlock": {"cidr": "0.0.0.0/0"}}]}],
        },
    )
    assert [v.message for v in stack_rules.network_policy([NODES, DEFAULT_DENY, everyone])] == [
        "NetworkPolicy trading/cockroachdb: ingress rule 0 admits every pod of every namespace",
        "NetworkPolicy trading/cockroachdb: ingress rule 0 admits 0.0.0.0/0",
    ]


def test_a_default_deny_with_ingress_rules_is_not_a_default_deny() -> None:
    allows = network_policy(
        "default-deny-ingress",
        {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": []}]},
    )
    messages = [v.message for v in stack_rules.network_policy([NODES, allows, NODE_POLICY])]
    assert messages[0].startswith("namespace trading: no default-deny ingress NetworkPolicy")


def test_cert_secrets_accept_mounted_secrets_the_stack_declares() -> None:
    init = resource(JOB, job(init_container(f"cockroach init --certs-dir={CERTS_DIR}")))
    declared = [secret("cockroachdb-node-certs"), secret("cockroachdb-client-root")]
    assert stack_rules.cert_secrets([NODES, init, *declared]) == []


def test_cert_secrets_refuse_a_mounted_secret_the_stack_does_not_declare() -> None:
    assert stack_rules.cert_secrets([NODES, secret("cockroachdb-client-root")]) == [
        Violation(
            "StatefulSet trading/cockroachdb: mounts Secret trading/cockroachdb-node-certs, "
            "which this stack does not declare; the certificates must be issued by the stack",
            NODES.urn,
        )
    ]


def test_stack_rules_have_nothing_to_say_without_cockroachdb() -> None:
    web = resource(STATEFULSET, statefulset(container("web", image="nginx:1.27.0")))
    assert stack_rules.disruption_budget([web]) == []
    assert stack_rules.network_policy([web]) == []
    assert stack_rules.cert_secrets([web]) == []
