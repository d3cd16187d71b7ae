"""The namespace every CockroachDB resource lives in, with Pod Security admission."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from rules.names import standard_labels


def pod_security_labels(level: str) -> dict[str, str]:
    """Enforce, audit and warn at one level, pinned to the API server's latest policy."""
    labels = {}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = "latest"
    return labels


@dataclass(frozen=True)
class TradingNamespaceArgs:
    name: str
    pod_security: str
    protect: bool


class TradingNamespace(pulumi.ComponentResource):
    """A namespace whose admission policy rejects pods that break the security profile."""

    name: pulumi.Output[str]

    def __init__(
        self, name: str, args: TradingNamespaceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:kubernetes:Namespace", name, None, opts)
        labels = standard_labels("namespace") | pod_security_labels(args.pod_security)
        namespace = k8s.core.v1.Namespace(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.name, labels=labels),
            # Deleting a namespace deletes the volume claims in it, and with them the data the
            # StatefulSet's retention policy keeps: `pulumi destroy` leaves the namespace.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=True),
        )
        self.name = namespace.metadata.apply(lambda meta: meta.name or args.name)
        self.register_outputs({"name": self.name})
