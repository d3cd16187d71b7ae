"""The policy pack against the committed stacks, as the mocks harness renders them.

The committed prod stack passes every production rule. Config validation refuses an unsafe prod
config outright, so the broken variants below edit what the harness recorded, the way a future
code change (rather than a config change) could break production; each is named by its policy.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pulumi
import pytest
from stack_harness import PROJECT, RenderedStack, run_stack_file

from policy.catalogue import POLICY_NAMES, production_violations
from policy.production import ProductionSettings, declares_production, unrecognised_production
from policy.stack_rules import StackResource

STATEFULSET = "kubernetes:apps/v1:StatefulSet"
NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"
BUDGET = "kubernetes:policy/v1:PodDisruptionBudget"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
JOB = "kubernetes:batch/v1:Job"
POD = "kubernetes:core/v1:Pod"
SCHEMA = "pulumi-python:dynamic/openalgo:SchemaMigrations"


def effective_protect(options: pulumi.ResourceOptions | None) -> bool:
    """Protection as the engine registers it: the resource's own, else its parent's."""
    if options is None:
        return False
    if options.protect is not None:
        return options.protect
    parent = options.parent
    return bool(parent is not None and parent._protect)


def stack_resources(rendered: RenderedStack, stack: str) -> list[StackResource]:
    return [
        StackResource(
            recorded.typ,
            recorded.manifest(),
            f"urn:pulumi:{stack}::{PROJECT}::{recorded.typ}::{recorded.name}",
            effective_protect(rendered.options.get(f"{recorded.typ}::{recorded.name}")),
        )
        for recorded in rendered.resources
    ]


@pytest.fixture(scope="module")
def prod() -> list[StackResource]:
    return stack_resources(run_stack_file("prod"), "prod")


def edited(
    resources: list[StackResource],
    typ: str,
    change: Callable[[dict[str, Any]], None],
    name: str | None = None,
) -> list[StackResource]:
    """A copy of the stack with ``change`` applied to the props of each resource of ``typ``
    (named ``name``, if given)."""
    result = []
    for resource in resources:
        if resource.resource_type == typ and (name is None or resource.urn.endswith(f"::{name}")):
            props = copy.deepcopy(dict(resource.props))
            change(props)
            resource = StackResource(typ, props, resource.urn, resource.protected)
        result.append(resource)
    return result


def without(resources: list[StackResource], typ: str, name: str) -> list[StackResource]:
    return [r for r in resources if not (r.resource_type == typ and r.urn.endswith(f"::{name}"))]


def unprotected(resources: list[StackResource], typ: str) -> list[StackResource]:
    return [
        StackResource(r.resource_type, r.props, r.urn, False) if r.resource_type == typ else r
        for r in resources
    ]


def node_container(props: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = props["spec"]["template"]["spec"]["containers"][0]
    return container


def test_the_committed_prod_stack_passes_every_production_rule(
    prod: list[StackResource],
) -> None:
    assert production_violations(prod) == {}


def test_the_committed_prod_stack_declares_production(prod: list[StackResource]) -> None:
    assert [r.resource_type for r in prod if declares_production(r.resource_type, r.props)] == [
        SCHEMA
    ]


def test_the_prod_program_on_a_stack_not_named_prod_is_refused(
    prod: list[StackResource],
) -> None:
    declared = [r.urn for r in prod if declares_production(r.resource_type, r.props)]
    assert len(unrecognised_production("production", ProductionSettings(), declared)) == 1


def test_every_policy_of_the_pack_has_a_rule_the_stacks_are_checked_with() -> None:
    assert set(POLICY_NAMES) >= {
        "cockroachdb-tls",
        "cockroachdb-disruption-budget",
        "container-resources",
        "cockroachdb-network-policy",
        "cockroachdb-cert-secrets",
        "protected-resources",
        "schema-keeps-data",
        "image-pinned",
        "pod-security",
    }


def test_nodes_started_insecure_are_refused(prod: list[StackResource]) -> None:
    def insecure(props: dict[str, Any]) -> None:
        container = node_container(props)
        container["args"] = [
            "--insecure" if arg.startswith("--certs-dir") else arg for arg in container["args"]
        ]

    assert production_violations(edited(prod, STATEFULSET, insecure)) == {
        "cockroachdb-tls": [
            "StatefulSet trading/cockroachdb: container 'cockroachdb' turns on --insecure; "
            "production CockroachDB must use TLS (--certs-dir)",
            "StatefulSet trading/cockroachdb: container 'cockroachdb' has no --certs-dir; "
            "production nodes serve TLS with certificates mounted from a Secret",
        ]
    }


def test_a_missing_disruption_budget_is_refused(prod: list[StackResource]) -> None:
    assert production_violations(without(prod, BUDGET, "cluster-budget")) == {
        "cockroachdb-disruption-budget": [
            "StatefulSet trading/cockroachdb: no PodDisruptionBudget selects its pods; add one "
            "with maxUnavailable: 1 so a drain stops one node at a time"
        ]
    }


def test_a_budget_letting_two_nodes_go_is_refused(prod: list[StackResource]) -> None:
    def two(props: dict[str, Any]) -> None:
        props["spec"]["maxUnavailable"] = 2

    assert production_violations(edited(prod, BUDGET, two)) == {
        "cockroachdb-disruption-budget": [
            "PodDisruptionBudget trading/cockroachdb-budget: maxUnavailable is 2; it must be 1 "
            "with no minAvailable, so a drain stops one CockroachDB node at a time"
        ]
    }


def test_a_job_without_resources_is_refused(prod: list[StackResource]) -> None:
    def unsized(props: dict[str, Any]) -> None:
        for container in props["spec"]["template"]["spec"]["containers"]:
            container.pop("resources", None)

    violations = production_violations(edited(prod, JOB, unsized))
    assert list(violations) == ["container-resources"]
    assert violations["container-resources"][0].endswith(
        "sets no requests.cpu, requests.memory, limits.memory; production containers need CPU "
        "and memory requests and a memory limit"
    )


def test_a_missing_default_deny_policy_is_refused(prod: list[StackResource]) -> None:
    assert production_violations(without(prod, NETWORK_POLICY, "network-policy-default-deny")) == {
        "cockroachdb-network-policy": [
            "namespace trading: no default-deny ingress NetworkPolicy (podSelector {}, "
            "policyTypes [Ingress], no ingress rules)"
        ]
    }


def test_a_missing_node_certificate_secret_is_refused(prod: list[StackResource]) -> None:
    assert production_violations(without(prod, SECRET, "cockroachdb-node-certs")) == {
        "cockroachdb-cert-secrets": [
            "StatefulSet trading/cockroachdb: mounts Secret trading/cockroachdb-node-certs, "
            "which this stack does not declare; the certificates must be issued by the stack"
        ]
    }


def test_an_unprotected_namespace_and_statefulset_are_refused(prod: list[StackResource]) -> None:
    broken = unprotected(unprotected(prod, NAMESPACE), STATEFULSET)
    assert production_violations(broken) == {
        "protected-resources": [
            "Namespace trading is not protected: production keeps it out of reach of "
            "`pulumi destroy` and replacements (resource option protect; openalgo:protect true)",
            "StatefulSet trading/cockroachdb is not protected: production keeps it out of reach "
            "of `pulumi destroy` and replacements (resource option protect; openalgo:protect "
            "true)",
            "Namespace openalgo is not protected: production keeps it out of reach of "
            "`pulumi destroy` and replacements (resource option protect; openalgo:protect true)",
        ]
    }


def test_a_schema_allowed_to_drop_the_database_is_refused(prod: list[StackResource]) -> None:
    def droppable(props: dict[str, Any]) -> None:
        props["allow_drop"] = True

    assert production_violations(edited(prod, SCHEMA, droppable)) == {
        "schema-keeps-data": [
            "SchemaMigrations: allow_drop is True; in production destroying the schema resource "
            "must never drop the database (openalgo:schema.allowDrop false)"
        ]
    }


def test_a_client_pod_on_latest_is_refused(prod: list[StackResource]) -> None:
    def latest(props: dict[str, Any]) -> None:
        props["spec"]["containers"][0]["image"] = "cockroachdb/cockroach:latest"

    assert production_violations(edited(prod, POD, latest)) == {
        "image-pinned": [
            "Pod trading/cockroachdb-client: container 'cockroachdb-client' image "
            "'cockroachdb/cockroach:latest' is not pinned: use a release tag or an @sha256: "
            "digest, never :latest or no tag"
        ]
    }


def test_nodes_allowed_to_escalate_privileges_are_refused(prod: list[StackResource]) -> None:
    def escalating(props: dict[str, Any]) -> None:
        node_container(props)["securityContext"]["allowPrivilegeEscalation"] = True

    assert production_violations(edited(prod, STATEFULSET, escalating)) == {
        "pod-security": [
            "StatefulSet trading/cockroachdb: container 'cockroachdb' does not set "
            "allowPrivilegeEscalation: false"
        ]
    }


def test_the_dev_stack_would_fail_the_production_rules_it_relaxes() -> None:
    dev = stack_resources(run_stack_file("dev", kubernetes={"mode": "cluster"}), "dev")
    assert sorted(production_violations(dev)) == [
        "cockroachdb-network-policy",
        "cockroachdb-tls",
        "protected-resources",
        "schema-keeps-data",
    ]
