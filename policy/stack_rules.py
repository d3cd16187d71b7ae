"""Rules that need the whole stack: an object must exist alongside the CockroachDB StatefulSet.

Each takes every resource of the stack and returns the violations, each attached to the resource
it is about (its URN), or to the stack as a whole when something is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policy.kube import (
    describe,
    field,
    is_empty_selector,
    kind_of,
    mapping,
    name_of,
    namespace_of,
    pod_labels,
    pod_spec,
    runs_cockroach,
    secret_volume_names,
    selector_matches,
    sequence,
)

OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


@dataclass(frozen=True)
class StackResource:
    """One resource of the stack as a stack rule sees it."""

    resource_type: str
    props: Mapping[str, Any]
    urn: str = ""
    protected: bool = False

    @property
    def kind(self) -> str | None:
        return kind_of(self.resource_type)

    def describe(self) -> str:
        return describe(self.kind or self.resource_type, self.props)


@dataclass(frozen=True)
class Violation:
    message: str
    urn: str | None = None


def _of_kind(resources: Sequence[StackResource], kind: str) -> list[StackResource]:
    return [resource for resource in resources if resource.kind == kind]


def cockroach_statefulsets(resources: Sequence[StackResource]) -> list[StackResource]:
    return [
        resource
        for resource in _of_kind(resources, "StatefulSet")
        if runs_cockroach(resource.kind, resource.props)
    ]


def _selects_nodes(selector: Any, statefulset: StackResource, candidate: StackResource) -> bool:
    return namespace_of(candidate.props) == namespace_of(statefulset.props) and selector_matches(
        selector, pod_labels(statefulset.kind, statefulset.props)
    )


def disruption_budget(resources: Sequence[StackResource]) -> list[Violation]:
    """A PodDisruptionBudget with maxUnavailable 1 selects the CockroachDB pods."""
    violations = []
    budgets = _of_kind(resources, "PodDisruptionBudget")
    for statefulset in cockroach_statefulsets(resources):
        selecting = [
            budget
            for budget in budgets
            if field(budget.props, "spec", "selector") is not None
            and _selects_nodes(field(budget.props, "spec", "selector"), statefulset, budget)
        ]
        if not selecting:
            violations.append(
                Violation(
                    f"{statefulset.describe()}: no PodDisruptionBudget selects its pods; add one "
                    "with maxUnavailable: 1 so a drain stops one node at a time",
                    statefulset.urn,
                )
            )
        for budget in selecting:
            spec = mapping(budget.props.get("spec"))
            limit = spec.get("maxUnavailable")
            is_one = isinstance(limit, int | float) and not isinstance(limit, bool) and limit == 1
            minimum = spec.get("minAvailable")
            if not is_one or minimum is not None:
                also = "" if minimum is None else f" and minAvailable is {_shown(minimum)}"
                violations.append(
                    Violation(
                        f"{budget.describe()}: maxUnavailable is {_shown(limit)}{also}; it must "
                        "be 1 with no minAvailable, so a drain stops one CockroachDB node at a "
                        "time",
                        budget.urn,
                    )
                )
    return violations


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "unset" if value is None else repr(value)


def _ingress_types(policy: Mapping[str, Any]) -> list[str]:
    """policyTypes as the API server defaults it: Ingress when unset."""
    types = [str(item) for item in sequence(field(policy, "spec", "policyTypes"))]
    return types or ["Ingress"]


def _is_default_deny(policy: StackResource) -> bool:
    spec = mapping(policy.props.get("spec"))
    return (
        spec.get("podSelector") is not None
        and is_empty_selector(spec.get("podSelector"))
        and "Ingress" in _ingress_types(policy.props)
        and not sequence(spec.get("ingress"))
    )


def _open_ingress(policy: StackResource) -> list[str]:
    """Descriptions of the ingress rules of ``policy`` that admit any source."""
    found = []
    for index, rule in enumerate(sequence(field(policy.props, "spec", "ingress"))):
        peers = sequence(mapping(rule).get("from"))
        if not peers:
            found.append(f"ingress rule {index} has no 'from', so it admits every source")
        for peer in peers:
            entry = mapping(peer)
            if (
                entry.get("namespaceSelector") is not None
                and is_empty_selector(entry.get("namespaceSelector"))
                and entry.get("podSelector") is None
            ):
                found.append(f"ingress rule {index} admits every pod of every namespace")
            if field(entry, "ipBlock", "cidr") in OPEN_CIDRS:
                found.append(f"ingress rule {index} admits {field(entry, 'ipBlock', 'cidr')}")
    return found


def network_policy(resources: Sequence[StackResource]) -> list[Violation]:
    """The namespace denies ingress by default and a policy admits only listed peers to the
    CockroachDB pods."""
    violations = []
    policies = _of_kind(resources, "NetworkPolicy")
    for statefulset in cockroach_statefulsets(resources):
        namespace = namespace_of(statefulset.props)
        in_namespace = [p for p in policies if namespace_of(p.props) == namespace]
        if not any(_is_default_deny(policy) for policy in in_namespace):
            violations.append(
                Violation(
                    f"namespace {namespace}: no default-deny ingress NetworkPolicy (podSelector "
                    "{}, policyTypes [Ingress], no ingress rules)",
                    statefulset.urn,
                )
            )
        selecting = [
            policy
            for policy in in_namespace
            if not is_empty_selector(field(policy.props, "spec", "podSelector"))
            and "Ingress" in _ingress_types(policy.props)
            and _selects_nodes(field(policy.props, "spec", "podSelector"), statefulset, policy)
        ]
        if not selecting:
            violations.append(
                Violation(
                    f"{statefulset.describe()}: no NetworkPolicy selects its pods; add one that "
                    "admits only the nodes and the listed SQL and metrics clients",
                    statefulset.urn,
                )
            )
        for policy in selecting:
            violations.extend(
                Violation(f"{policy.describe()}: {problem}", policy.urn)
                for problem in _open_ingress(policy)
            )
    return violations


def cert_secrets(resources: Sequence[StackResource]) -> list[Violation]:
    """Every Secret a CockroachDB workload mounts (certificates) is declared by the stack."""
    declared = {
        (namespace_of(secret.props), name_of(secret.props))
        for secret in _of_kind(resources, "Secret")
    }
    violations = []
    for workload in resources:
        if not runs_cockroach(workload.kind, workload.props):
            continue
        pod = pod_spec(workload.kind, workload.props) or {}
        namespace = namespace_of(workload.props)
        for secret in secret_volume_names(pod):
            if (namespace, secret) not in declared:
                violations.append(
                    Violation(
                        f"{workload.describe()}: mounts Secret {namespace}/{secret}, which this "
                        "stack does not declare; the certificates must be issued by the stack",
                        workload.urn,
                    )
                )
    return violations
