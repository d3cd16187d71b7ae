"""The ``cockroachdb-client`` pod operators exec into for a SQL shell, as in the original.

Under TLS it carries the operator role's certificate, never root's: anyone allowed to exec into
pods in the namespace gets a shell that reads the trading tables and the cluster's state and
changes nothing. Changes go through `pulumi up` and ``python -m operations``, which authenticate
as root from the deploying machine. Insecure stacks (refused in prod) authenticate nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from kube.pods import (
    client_volumes,
    pod_scheduling,
    restricted_container_security,
    restricted_pod_security,
)
from rules.config import Scheduling
from rules.names import (
    CERTS_DIR,
    CLIENT_POD,
    CLIENT_ROLE_LABEL,
    OPERATOR_CLIENT_CERTS_SECRET,
    OPERATOR_USER,
    TMP_DIR,
    standard_labels,
)


def client_env(tls: bool) -> list[k8s.core.v1.EnvVarArgs]:
    """``cockroach`` reads these, so the runbooks' commands need neither ``--certs-dir`` nor
    ``--user``: a process started by ``kubectl exec`` inherits them."""
    env = [k8s.core.v1.EnvVarArgs(name="HOME", value=TMP_DIR)]
    if tls:
        env += [
            k8s.core.v1.EnvVarArgs(name="COCKROACH_CERTS_DIR", value=CERTS_DIR),
            k8s.core.v1.EnvVarArgs(name="COCKROACH_USER", value=OPERATOR_USER),
        ]
    return env


@dataclass(frozen=True)
class SqlClientArgs:
    namespace: pulumi.Input[str]
    image: str
    tls: bool
    scheduling: Scheduling


class SqlClient(pulumi.ComponentResource):
    """A long-running pod with the cockroach binary and, under TLS, the operator's certificate."""

    pod_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: SqlClientArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:cockroachdb:Client", name, None, opts)
        mounts, volumes = client_volumes(args.tls, OPERATOR_CLIENT_CERTS_SECRET)
        pod = k8s.core.v1.Pod(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=CLIENT_POD,
                namespace=args.namespace,
                labels=standard_labels("client", name=CLIENT_POD) | {CLIENT_ROLE_LABEL: "true"},
            ),
            spec=k8s.core.v1.PodSpecArgs(
                automount_service_account_token=False,
                termination_grace_period_seconds=5,
                security_context=restricted_pod_security(),
                **pod_scheduling(args.scheduling),
                containers=[
                    k8s.core.v1.ContainerArgs(
                        name="cockroachdb-client",
                        image=args.image,
                        image_pull_policy="IfNotPresent",
                        command=["sleep", "infinity"],
                        env=client_env(args.tls),
                        security_context=restricted_container_security(),
                        resources=k8s.core.v1.ResourceRequirementsArgs(
                            requests={"cpu": "50m", "memory": "64Mi"},
                            limits={"memory": "512Mi"},
                        ),
                        volume_mounts=mounts,
                    )
                ],
                volumes=volumes,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.pod_name = pod.metadata.name
        self.register_outputs({"podName": self.pod_name})
