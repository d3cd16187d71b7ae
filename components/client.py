"""The ``cockroachdb-client`` pod operators exec into for a SQL shell, as in the original."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import (
    restricted_container_security,
    restricted_pod_security,
    root_client_volumes,
)
from rules.names import (
    CERTS_DIR,
    CLIENT_POD,
    CLIENT_ROLE_LABEL,
    TMP_DIR,
    standard_labels,
)


def client_env(tls: bool) -> list[k8s.core.v1.EnvVarArgs]:
    """``cockroach sql`` reads these, so ``--certs-dir`` need not be typed in the shell."""
    env = [k8s.core.v1.EnvVarArgs(name="HOME", value=TMP_DIR)]
    if tls:
        env.append(k8s.core.v1.EnvVarArgs(name="COCKROACH_CERTS_DIR", value=CERTS_DIR))
    return env


@dataclass(frozen=True)
class SqlClientArgs:
    namespace: pulumi.Input[str]
    image: str
    tls: bool


class SqlClient(pulumi.ComponentResource):
    """A long-running pod with the cockroach binary and, under TLS, root's client certificate."""

    pod_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: SqlClientArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:cockroachdb:Client", name, None, opts)
        mounts, volumes = root_client_volumes(args.tls)
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
