"""The one-time ``cockroach init`` that turns freshly started nodes into a cluster.

The StatefulSet is not awaited (its pods only turn ready after init). Neither is this job by the
Kubernetes provider: ClusterRollout waits for it within the stack's bound and, when it fails,
reports its last log lines. The job retries until the first node answers.
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
    CLIENT_ROLE_LABEL,
    COCKROACH_BINARY,
    HEADLESS_SERVICE,
    INIT_JOB,
    ROOT_CLIENT_CERTS_SECRET,
    SQL_PORT,
    STATEFULSET,
    standard_labels,
)
from rules.topology import pod_fqdn

ATTEMPTS = 60
RETRY_SECONDS = 5
ALREADY_INITIALIZED = "cluster has already been initialized"


def init_script(host: str, tls: bool) -> str:
    """Shell loop: success on init or on "already initialized", retry while nodes start."""
    security = f"--certs-dir={CERTS_DIR}" if tls else "--insecure"
    return "\n".join(
        [
            "set -u",
            f"for attempt in $(seq 1 {ATTEMPTS}); do",
            f"  if output=$({COCKROACH_BINARY} init {security} --host={host} 2>&1); then",
            '    echo "$output"; exit 0',
            "  fi",
            '  case "$output" in',
            f'    *"{ALREADY_INITIALIZED}"*) echo "already initialized: nothing to do"; exit 0;;',
            "  esac",
            f'  echo "attempt $attempt/{ATTEMPTS}: $output"',
            f"  sleep {RETRY_SECONDS}",
            "done",
            'echo "the first node never answered: see kubectl -n <namespace> describe pod" >&2',
            "exit 1",
        ]
    )


@dataclass(frozen=True)
class ClusterInitArgs:
    namespace: pulumi.Input[str]
    namespace_name: str
    cluster_domain: str
    image: str
    tls: bool
    scheduling: Scheduling


class ClusterInit(pulumi.ComponentResource):
    """Runs ``cockroach init`` once; later `pulumi up`s never replace or re-run it."""

    job_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: ClusterInitArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:cockroachdb:Init", name, None, opts)
        host = pod_fqdn(STATEFULSET, 0, HEADLESS_SERVICE, args.namespace_name, args.cluster_domain)
        mounts, volumes = client_volumes(args.tls, ROOT_CLIENT_CERTS_SECRET)
        labels = standard_labels("init", name="cockroachdb-init") | {CLIENT_ROLE_LABEL: "true"}
        job = k8s.batch.v1.Job(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=INIT_JOB,
                namespace=args.namespace,
                labels=labels,
                annotations={"pulumi.com/skipAwait": "true"},
            ),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=3,
                active_deadline_seconds=(ATTEMPTS * RETRY_SECONDS) * 4,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        restart_policy="OnFailure",
                        automount_service_account_token=False,
                        security_context=restricted_pod_security(),
                        **pod_scheduling(args.scheduling),
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name="init",
                                image=args.image,
                                image_pull_policy="IfNotPresent",
                                command=[
                                    "/bin/bash",
                                    "-c",
                                    init_script(f"{host}:{SQL_PORT}", args.tls),
                                ],
                                security_context=restricted_container_security(),
                                resources=k8s.core.v1.ResourceRequirementsArgs(
                                    requests={"cpu": "100m", "memory": "128Mi"},
                                    limits={"memory": "256Mi"},
                                ),
                                volume_mounts=mounts,
                            )
                        ],
                        volumes=volumes,
                    ),
                ),
            ),
            # Initialisation happens once per cluster: an image upgrade or a spec tweak must
            # never replace the finished job (Job specs are immutable, so a change would).
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["spec"]),
        )
        self.job_name = job.metadata.name
        self.register_outputs({"jobName": self.job_name})
