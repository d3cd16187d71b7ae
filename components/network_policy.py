"""Ingress rules for the namespace: deny by default, open the SQL port only to named clients."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from rules.config import Peer
from rules.names import (
    CLIENT_ROLE_LABEL,
    HTTP_PORT,
    SQL_PORT,
    selector_labels,
    standard_labels,
)


def _port(number: int) -> k8s.networking.v1.NetworkPolicyPortArgs:
    return k8s.networking.v1.NetworkPolicyPortArgs(port=number, protocol="TCP")


def _peer(peer: Peer) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    """A config peer; with namespace labels only, all pods of those namespaces."""
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=(
            k8s.meta.v1.LabelSelectorArgs(match_labels=peer.namespace_labels)
            if peer.namespace_labels
            else None
        ),
        pod_selector=(
            k8s.meta.v1.LabelSelectorArgs(match_labels=peer.pod_labels) if peer.pod_labels else None
        ),
    )


def ingress_rules(
    sql_clients: tuple[Peer, ...], metrics_clients: tuple[Peer, ...]
) -> list[k8s.networking.v1.NetworkPolicyIngressRuleArgs]:
    """Node-to-node on both ports; SQL from in-namespace clients and config peers; metrics
    from config peers. Anything not listed is dropped by the namespace's default deny."""
    nodes = k8s.networking.v1.NetworkPolicyPeerArgs(
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector_labels())
    )
    local_clients = k8s.networking.v1.NetworkPolicyPeerArgs(
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={CLIENT_ROLE_LABEL: "true"})
    )
    rules = [
        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
            from_=[nodes], ports=[_port(SQL_PORT), _port(HTTP_PORT)]
        ),
        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
            from_=[local_clients, *(_peer(peer) for peer in sql_clients)],
            ports=[_port(SQL_PORT)],
        ),
    ]
    if metrics_clients:
        rules.append(
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                from_=[_peer(peer) for peer in metrics_clients], ports=[_port(HTTP_PORT)]
            )
        )
    return rules


@dataclass(frozen=True)
class ClusterNetworkPolicyArgs:
    namespace: pulumi.Input[str]
    sql_clients: tuple[Peer, ...]
    metrics_clients: tuple[Peer, ...]


class ClusterNetworkPolicy(pulumi.ComponentResource):
    """A default-deny ingress policy for the namespace plus the CockroachDB allow-list."""

    def __init__(
        self, name: str, args: ClusterNetworkPolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:kubernetes:NetworkPolicy", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="default-deny-ingress",
                namespace=args.namespace,
                labels=standard_labels("network-policy"),
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress"]
            ),
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-cockroachdb",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="cockroachdb",
                namespace=args.namespace,
                labels=standard_labels("network-policy"),
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector_labels()),
                policy_types=["Ingress"],
                ingress=ingress_rules(args.sql_clients, args.metrics_clients),
            ),
            opts=child,
        )
        self.register_outputs({})
