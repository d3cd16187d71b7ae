"""The CockroachDB nodes: ServiceAccount, Services, PodDisruptionBudget, the log.yaml ConfigMap
and the StatefulSet.

Modelled on the official Helm chart's production settings, with the sizing flags computed
from the memory limit and every security knob of the restricted Pod Security profile set.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import locality, node_logging
from kube.pods import (
    CERTS_VOLUME,
    TMP_VOLUME,
    pod_scheduling,
    restricted_container_security,
    restricted_pod_security,
    secret_volume,
    tmp_volume,
)
from rules.config import StackConfig
from rules.names import (
    CERTS_DIR,
    COCKROACH_BINARY,
    DATA_DIR,
    DATA_VOLUME,
    DISRUPTION_BUDGET,
    HEADLESS_SERVICE,
    HTTP_PORT,
    LOG_CONFIG_MAP,
    NODE_CERTS_SECRET,
    PUBLIC_SERVICE,
    SERVICE_ACCOUNT,
    SQL_PORT,
    STATEFULSET,
    TMP_DIR,
    selector_labels,
    standard_labels,
)
from rules.topology import gomaxprocs, join_addresses, memory_split, service_fqdn

CERTIFICATES_ANNOTATION = "openalgo.io/certificates-sha256"
LOG_CONFIG_ANNOTATION = "openalgo.io/log-config-sha256"
LOG_CONFIG_VOLUME = "log-config"


def advertise_host(namespace: str, cluster_domain: str) -> str:
    """The pod's own stable FQDN; $(POD_NAME) is expanded by the kubelet from the env."""
    return f"$(POD_NAME).{service_fqdn(HEADLESS_SERVICE, namespace, cluster_domain)}"


def cockroach_start_args(config: StackConfig) -> list[str]:
    """Arguments of ``cockroach start`` for every node of the StatefulSet."""
    split = memory_split(config.resources.memory_limit)
    joins = join_addresses(
        STATEFULSET,
        config.replicas,
        HEADLESS_SERVICE,
        config.namespace,
        config.cluster_domain,
        SQL_PORT,
    )
    security = f"--certs-dir={CERTS_DIR}" if config.tls else "--insecure"
    return [
        "start",
        f"--join={','.join(joins)}",
        f"--advertise-host={advertise_host(config.namespace, config.cluster_domain)}",
        security,
        f"--listen-addr=:{SQL_PORT}",
        f"--http-addr=:{HTTP_PORT}",
        f"--store=path={DATA_DIR}",
        split.cache_flag,
        split.max_sql_memory_flag,
        f"--log-config-file={node_logging.LOG_CONFIG_DIR}/{node_logging.LOG_CONFIG_FILE}",
    ]


def node_command(config: StackConfig) -> list[str]:
    """What runs ``cockroach`` with its arguments: with locality, a shell reads it first."""
    return locality.start_command() if config.locality.enabled else [COCKROACH_BINARY]


def log_config_volume() -> k8s.core.v1.VolumeArgs:
    return k8s.core.v1.VolumeArgs(
        name=LOG_CONFIG_VOLUME,
        config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=LOG_CONFIG_MAP),
    )


def readiness_probe(tls: bool) -> k8s.core.v1.ProbeArgs:
    """Ready only when the node accepts SQL; over HTTPS when the cluster is secure."""
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(
            path="/health?ready=1", port="http", scheme="HTTPS" if tls else "HTTP"
        ),
        initial_delay_seconds=10,
        period_seconds=5,
        failure_threshold=3,
    )


def liveness_probe(tls: bool) -> k8s.core.v1.ProbeArgs:
    """Generous thresholds: a busy node must not be killed, which would make things worse."""
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(
            path="/health", port="http", scheme="HTTPS" if tls else "HTTP"
        ),
        initial_delay_seconds=30,
        period_seconds=10,
        failure_threshold=6,
    )


@dataclass(frozen=True)
class CockroachClusterArgs:
    config: StackConfig
    namespace: pulumi.Input[str]
    certificates_sha256: pulumi.Input[str] | None = None
    """Changes when certificates are renewed, rolling the nodes onto them one at a time."""
    grown_in_place: bool = False
    """The claim templates are grown by ``VolumeGrowth``, so the StatefulSet ignores them."""


class CockroachCluster(pulumi.ComponentResource):
    """A CockroachDB cluster of ``replicas`` nodes behind a headless and a public Service."""

    statefulset_name: pulumi.Output[str]
    statefulset_generation: pulumi.Output[int]
    public_service_name: pulumi.Output[str]
    headless_service_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: CockroachClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:cockroachdb:Cluster", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        def meta(resource: str, component: str) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(
                name=resource,
                namespace=args.namespace,
                labels=standard_labels(component, config.version),
            )

        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=meta(SERVICE_ACCOUNT, "database"),
            automount_service_account_token=False,
            opts=child,
        )
        ports = [
            k8s.core.v1.ServicePortArgs(name="grpc", port=SQL_PORT, target_port="grpc"),
            k8s.core.v1.ServicePortArgs(name="http", port=HTTP_PORT, target_port="http"),
        ]
        headless = k8s.core.v1.Service(
            f"{name}-headless",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=HEADLESS_SERVICE,
                namespace=args.namespace,
                labels=standard_labels("database", config.version),
                annotations={
                    "prometheus.io/scrape": "true",
                    "prometheus.io/path": "_status/vars",
                    "prometheus.io/port": str(HTTP_PORT),
                    "prometheus.io/scheme": "https" if config.tls else "http",
                },
            ),
            spec=k8s.core.v1.ServiceSpecArgs(
                cluster_ip="None",
                publish_not_ready_addresses=True,
                selector=selector_labels(),
                ports=ports,
            ),
            opts=child,
        )
        public = k8s.core.v1.Service(
            f"{name}-public",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=PUBLIC_SERVICE,
                namespace=args.namespace,
                labels=standard_labels("database", config.version),
                # Its endpoints appear only once pods are ready, after `cockroach init`, which
                # runs after this: waiting here would deadlock. ClusterRollout is the gate.
                annotations={"pulumi.com/skipAwait": "true"},
            ),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP", selector=selector_labels(), ports=ports
            ),
            opts=child,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-budget",
            metadata=meta(DISRUPTION_BUDGET, "database"),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector_labels()),
                max_unavailable=1,
            ),
            opts=child,
        )
        log_config = k8s.core.v1.ConfigMap(
            f"{name}-log-config",
            metadata=meta(LOG_CONFIG_MAP, "database"),
            data={node_logging.LOG_CONFIG_FILE: node_logging.log_config_yaml()},
            opts=child,
        )
        statefulset = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=STATEFULSET,
                namespace=args.namespace,
                labels=standard_labels("database", config.version),
                # Pods only turn ready once `cockroach init` has run, and the init job runs
                # after this resource: waiting here would deadlock. ClusterRollout is the gate.
                annotations={"pulumi.com/skipAwait": "true"},
            ),
            spec=self._statefulset_spec(
                config, account.metadata.name, headless.metadata.name, args.certificates_sha256
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=config.protect,
                depends_on=[log_config],
                ignore_changes=["spec.volumeClaimTemplates"] if args.grown_in_place else None,
            ),
        )
        self.statefulset_name = statefulset.metadata.name
        self.statefulset_generation = statefulset.metadata.generation
        self.public_service_name = public.metadata.name
        self.headless_service_name = headless.metadata.name
        self.register_outputs(
            {
                "statefulsetName": self.statefulset_name,
                "publicServiceName": self.public_service_name,
                "headlessServiceName": self.headless_service_name,
            }
        )

    @staticmethod
    def _statefulset_spec(
        config: StackConfig,
        service_account: pulumi.Input[str],
        headless_service: pulumi.Input[str],
        certificates_sha256: pulumi.Input[str] | None,
    ) -> k8s.apps.v1.StatefulSetSpecArgs:
        resources = config.resources
        limits = {"memory": resources.memory_limit}
        if resources.cpu_limit:
            limits["cpu"] = resources.cpu_limit
        mounts = [k8s.core.v1.VolumeMountArgs(name=DATA_VOLUME, mount_path=DATA_DIR)]
        mounts.append(k8s.core.v1.VolumeMountArgs(name=TMP_VOLUME, mount_path=TMP_DIR))
        volumes = [tmp_volume(), log_config_volume()]
        mounts.append(
            k8s.core.v1.VolumeMountArgs(
                name=LOG_CONFIG_VOLUME, mount_path=node_logging.LOG_CONFIG_DIR, read_only=True
            )
        )
        if config.locality.enabled:
            mounts.append(locality.mount())
            volumes += locality.volumes()
        if config.tls:
            mounts.append(
                k8s.core.v1.VolumeMountArgs(name=CERTS_VOLUME, mount_path=CERTS_DIR, read_only=True)
            )
            volumes.append(secret_volume(CERTS_VOLUME, NODE_CERTS_SECRET))
        container = k8s.core.v1.ContainerArgs(
            name="cockroachdb",
            image=config.image,
            image_pull_policy="IfNotPresent",
            command=node_command(config),
            args=cockroach_start_args(config),
            env=[
                k8s.core.v1.EnvVarArgs(
                    name="POD_NAME",
                    value_from=k8s.core.v1.EnvVarSourceArgs(
                        field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="metadata.name")
                    ),
                ),
                k8s.core.v1.EnvVarArgs(
                    name="GOMAXPROCS",
                    value=str(gomaxprocs(resources.cpu_request, resources.cpu_limit)),
                ),
                k8s.core.v1.EnvVarArgs(
                    name="COCKROACH_CHANNEL",
                    value="kubernetes-secure" if config.tls else "kubernetes-insecure",
                ),
                # As the official chart: transparent huge pages make the Go runtime's memory
                # use and pause times erratic, which shows up as tail latency under load.
                k8s.core.v1.EnvVarArgs(name="GODEBUG", value="disablethp=1"),
            ],
            ports=[
                k8s.core.v1.ContainerPortArgs(name="grpc", container_port=SQL_PORT, protocol="TCP"),
                k8s.core.v1.ContainerPortArgs(
                    name="http", container_port=HTTP_PORT, protocol="TCP"
                ),
            ],
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": resources.cpu_request, "memory": resources.memory_request},
                limits=limits,
            ),
            readiness_probe=readiness_probe(config.tls),
            liveness_probe=liveness_probe(config.tls) if config.liveness_probe else None,
            security_context=restricted_container_security(),
            volume_mounts=mounts,
        )
        pod = k8s.core.v1.PodSpecArgs(
            service_account_name=service_account,
            automount_service_account_token=False,
            termination_grace_period_seconds=config.termination_grace_period_seconds,
            security_context=restricted_pod_security(),
            **pod_scheduling(config.scheduling),
            affinity=k8s.core.v1.AffinityArgs(
                pod_anti_affinity=k8s.core.v1.PodAntiAffinityArgs(
                    preferred_during_scheduling_ignored_during_execution=[
                        k8s.core.v1.WeightedPodAffinityTermArgs(
                            weight=100,
                            pod_affinity_term=k8s.core.v1.PodAffinityTermArgs(
                                topology_key="kubernetes.io/hostname",
                                label_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels=selector_labels()
                                ),
                            ),
                        )
                    ]
                )
            ),
            topology_spread_constraints=[
                k8s.core.v1.TopologySpreadConstraintArgs(
                    max_skew=1,
                    topology_key="topology.kubernetes.io/zone",
                    when_unsatisfiable="ScheduleAnyway",
                    label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector_labels()),
                )
            ],
            init_containers=(
                [locality.init_container(config.locality)] if config.locality.enabled else None
            ),
            containers=[container],
            volumes=volumes,
        )
        return k8s.apps.v1.StatefulSetSpecArgs(
            service_name=headless_service,
            replicas=config.replicas,
            pod_management_policy="Parallel",
            update_strategy=k8s.apps.v1.StatefulSetUpdateStrategyArgs(type="RollingUpdate"),
            persistent_volume_claim_retention_policy=(
                k8s.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                    when_deleted="Retain",
                    when_scaled="Delete" if config.scaling.release_volumes else "Retain",
                )
            ),
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector_labels()),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    labels=standard_labels("database", config.version),
                    annotations={
                        LOG_CONFIG_ANNOTATION: node_logging.log_config_sha256(),
                        **(
                            {CERTIFICATES_ANNOTATION: certificates_sha256}
                            if certificates_sha256 is not None
                            else {}
                        ),
                    },
                ),
                spec=pod,
            ),
            volume_claim_templates=[
                k8s.core.v1.PersistentVolumeClaimArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=DATA_VOLUME, labels=selector_labels()),
                    spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                        access_modes=["ReadWriteOnce"],
                        storage_class_name=config.storage.storage_class,
                        resources=k8s.core.v1.VolumeResourceRequirementsArgs(
                            requests={"storage": config.storage.size}
                        ),
                    ),
                )
            ],
        )
