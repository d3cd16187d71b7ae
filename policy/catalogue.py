"""Every rule of the pack under its policy name, and a way to run them all on a production stack
without the policy SDK (what tests and reviewers use to see what a preview would report)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from policy import resource_rules, stack_rules
from policy.stack_rules import StackResource, Violation

ResourceRule = Callable[[str, Mapping[str, Any]], list[str]]
StackRule = Callable[[Sequence[StackResource]], list[Violation]]

RESOURCE_RULES: dict[str, tuple[str, ResourceRule]] = {
    "cockroachdb-tls": (
        "CockroachDB runs with TLS: no --insecure, certificates mounted from a Secret.",
        resource_rules.cockroach_tls,
    ),
    "container-resources": (
        "Every container has CPU and memory requests and a memory limit.",
        resource_rules.container_resources,
    ),
    "image-pinned": (
        "Every image is pinned to a release tag or digest, never :latest.",
        resource_rules.image_pinned,
    ),
    "pod-security": (
        "Containers run as non-root, without privilege escalation, with ALL capabilities dropped.",
        resource_rules.pod_security,
    ),
    "schema-keeps-data": (
        "The schema resource never drops the database (allow_drop false, production true).",
        resource_rules.schema_keeps_data,
    ),
}
PROTECTION_POLICY = (
    "protected-resources",
    "The namespace and the CockroachDB StatefulSet are protected against deletion.",
)
STACK_RULES: dict[str, tuple[str, StackRule]] = {
    "cockroachdb-disruption-budget": (
        "A PodDisruptionBudget with maxUnavailable 1 selects the CockroachDB pods.",
        stack_rules.disruption_budget,
    ),
    "cockroachdb-network-policy": (
        "Ingress is denied by default and only listed peers reach the CockroachDB pods.",
        stack_rules.network_policy,
    ),
    "cockroachdb-cert-secrets": (
        "Every certificate Secret a CockroachDB workload mounts is declared by the stack.",
        stack_rules.cert_secrets,
    ),
}
GUARD_POLICY = (
    "production-recognised",
    "A program that declares production runs on a stack this pack checks as production.",
)
POLICY_NAMES = (*RESOURCE_RULES, PROTECTION_POLICY[0], *STACK_RULES, GUARD_POLICY[0])


def production_violations(resources: Sequence[StackResource]) -> dict[str, list[str]]:
    """What each policy reports for ``resources`` once the stack is production, by policy name
    (policies with nothing to report are left out)."""
    found: dict[str, list[str]] = {}
    for name, (_, rule) in RESOURCE_RULES.items():
        for resource in resources:
            found.setdefault(name, []).extend(rule(resource.resource_type, resource.props))
    for resource in resources:
        found.setdefault(PROTECTION_POLICY[0], []).extend(
            resource_rules.protection(resource.resource_type, resource.props, resource.protected)
        )
    for name, (_, stack_rule) in STACK_RULES.items():
        found[name] = [violation.message for violation in stack_rule(resources)]
    return {name: messages for name, messages in found.items() if messages}
