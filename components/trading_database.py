"""The whole deployment for one stack: namespace, certificates, cluster, init, client, policy."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.backups import BackupSchedule, BackupScheduleArgs
from components.certificates import ClusterCertificates, ClusterCertificatesArgs
from components.client import SqlClient, SqlClientArgs
from components.cluster import CockroachCluster, CockroachClusterArgs
from components.cluster_guard import ClusterGuard, ClusterGuardArgs
from components.cluster_rollout import ClusterRollout, ClusterRolloutArgs
from components.cluster_settings import ClusterSettings, ClusterSettingsArgs
from components.init_job import ClusterInit, ClusterInitArgs
from components.locality import NodeReader, NodeReaderArgs
from components.monitoring import ClusterMonitoring, ClusterMonitoringArgs
from components.namespace import TradingNamespace, TradingNamespaceArgs
from components.network_policy import ClusterNetworkPolicy, ClusterNetworkPolicyArgs
from components.openalgo_access import OpenAlgoAccess, OpenAlgoAccessArgs
from components.schema import SchemaMigrations, SchemaMigrationsArgs
from components.volume_growth import VolumeGrowth, VolumeGrowthArgs
from database.admin import AdminAccess
from kube.access import KubeAccess
from migrator.app_databases import AppDatabases
from rules.config import Peer, StackConfig
from rules.names import (
    APP_USER,
    CERTS_DIR,
    CLIENT_POD,
    DATABASE,
    HTTP_PORT,
    INIT_JOB,
    PUBLIC_SERVICE,
    SQL_PORT,
    STATEFULSET,
    selector_labels,
)
from rules.topology import admin_dsn_in_cluster, connection_string, service_fqdn


def sql_shell_command(namespace: str, tls: bool, client_pod: bool) -> str:
    """The operator's SQL shell, the original's command with the stack's security flags."""
    security = f"--certs-dir={CERTS_DIR}" if tls else "--insecure"
    if not client_pod:
        return "client pod disabled (openalgo:clientPod=false): set it to true for a SQL shell"
    return (
        f"kubectl -n {namespace} exec -it {CLIENT_POD} -- ./cockroach sql {security} "
        f"--host={PUBLIC_SERVICE}:{SQL_PORT} -d {DATABASE}"
    )


def kube_access(config: StackConfig) -> KubeAccess | None:
    """Where the pods are, for the providers that wait for them or tunnel to them; None when
    manifests are only rendered."""
    if config.kubernetes_mode != "cluster":
        return None
    return KubeAccess(
        namespace=config.namespace,
        context=config.kubernetes.context,
        statefulset=STATEFULSET,
        init_job=INIT_JOB,
        pod_selector=tuple(sorted(selector_labels().items())),
        port=SQL_PORT,
        timeout_s=float(config.kubernetes.wait_timeout_seconds),
    )


def sql_route(config: StackConfig) -> KubeAccess | None:
    """Where a SQL-speaking provider finds the pods: None when the operator's DSN is to be used
    as it is (configured, or nothing deployed)."""
    access = kube_access(config)
    if access is None or config.admin_dsn is not None:
        return None
    return access


def sql_clients(config: StackConfig) -> tuple[Peer, ...]:
    """The configured SQL clients, plus every pod of OpenAlgo's namespace unless a configured
    peer already names that namespace (then the narrower peer stands)."""
    peers = config.network_policy.sql_clients
    if not config.app.enabled:
        return peers
    key = "kubernetes.io/metadata.name"
    if any(peer.namespace_labels.get(key) == config.app.namespace for peer in peers):
        return peers
    return (*peers, Peer(namespace_labels={key: config.app.namespace}))


def admin_ui_command(namespace: str, tls: bool) -> str:
    scheme = "https" if tls else "http"
    return (
        f"kubectl -n {namespace} port-forward svc/{PUBLIC_SERVICE} {HTTP_PORT}:{HTTP_PORT}"
        f"  # then open {scheme}://localhost:{HTTP_PORT}"
    )


class TradingDatabase(pulumi.ComponentResource):
    """CockroachDB for OpenAlgo, built from the validated stack config."""

    namespace: pulumi.Output[str]
    public_host: str
    app_password: pulumi.Output[str] | None
    app_connection_string: pulumi.Output[str]
    certificates: ClusterCertificates | None
    init: ClusterInit
    schema: SchemaMigrations | None
    admin: AdminAccess
    guard: ClusterGuard
    rollout: ClusterRollout | None
    monitoring: ClusterMonitoring
    backups: BackupSchedule | None
    openalgo: OpenAlgoAccess | None

    def __init__(
        self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:cockroachdb:TradingDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = TradingNamespace(
            "namespace",
            TradingNamespaceArgs(
                name=config.namespace, pod_security=config.pod_security, protect=config.protect
            ),
            opts=child,
        )
        self.namespace = namespace.name
        self.public_host = service_fqdn(PUBLIC_SERVICE, config.namespace, config.cluster_domain)

        self.certificates = None
        if config.tls:
            self.certificates = ClusterCertificates(
                "certificates",
                ClusterCertificatesArgs(
                    namespace=namespace.name,
                    namespace_name=config.namespace,
                    cluster_domain=config.cluster_domain,
                    policy=config.certificates,
                ),
                opts=child,
            )
        if config.network_policy.enabled:
            ClusterNetworkPolicy(
                "network-policy",
                ClusterNetworkPolicyArgs(
                    namespace=namespace.name,
                    sql_clients=sql_clients(config),
                    metrics_clients=config.network_policy.metrics_clients,
                ),
                opts=child,
            )
        after_certificates = pulumi.ResourceOptions(
            parent=self, depends_on=[self.certificates] if self.certificates else []
        )
        self.admin = self._admin_access(config)
        self.guard = self._guard(config)
        before_nodes: list[pulumi.Resource] = [self.guard]
        access = kube_access(config)
        if access is not None:
            before_nodes.append(
                VolumeGrowth(
                    "volumes",
                    VolumeGrowthArgs(
                        size=config.storage.size,
                        storage_class=config.storage.storage_class,
                        access=access,
                    ),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self.guard]),
                )
            )
        if config.locality.enabled:
            before_nodes.append(
                NodeReader(
                    "node-reader",
                    NodeReaderArgs(namespace=namespace.name, namespace_name=config.namespace),
                    opts=child,
                )
            )
        cluster = CockroachCluster(
            "cluster",
            CockroachClusterArgs(
                config=config,
                namespace=namespace.name,
                certificates_sha256=(
                    self.certificates.node_certificate_sha256 if self.certificates else None
                ),
                grown_in_place=access is not None,
            ),
            opts=pulumi.ResourceOptions.merge(
                after_certificates, pulumi.ResourceOptions(depends_on=before_nodes)
            ),
        )
        self.init = ClusterInit(
            "init",
            ClusterInitArgs(
                namespace=namespace.name,
                namespace_name=config.namespace,
                cluster_domain=config.cluster_domain,
                image=config.image,
                tls=config.tls,
                scheduling=config.scheduling,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster]),
        )
        self.rollout = None
        if access is not None:
            self.rollout = ClusterRollout(
                "rollout",
                ClusterRolloutArgs(
                    access=access,
                    template={"generation": cluster.statefulset_generation},
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster, self.init]),
            )
        if config.client_pod:
            SqlClient(
                "client",
                SqlClientArgs(
                    namespace=namespace.name,
                    image=config.image,
                    tls=config.tls,
                    scheduling=config.scheduling,
                ),
                opts=after_certificates,
            )

        self.monitoring = ClusterMonitoring(
            "monitoring",
            ClusterMonitoringArgs(
                namespace=namespace.name,
                namespace_name=config.namespace,
                cluster_domain=config.cluster_domain,
                tls=config.tls,
                prometheus_operator=config.monitoring.prometheus_operator,
                grafana_dashboard=config.monitoring.grafana_dashboard,
                expected_nodes=config.replicas,
                labels=dict(config.monitoring.labels),
            ),
            opts=after_certificates,
        )

        self.app_password = None
        if config.tls:
            # CockroachDB refuses passwords on insecure clusters, so only secure ones get one.
            self.app_password = random.RandomPassword(
                "app-password", length=32, special=False, opts=child
            ).result
        self.schema = self._schema(config)
        self.backups = self._backups(config)
        self.settings = self._settings(config)
        self.openalgo = self._openalgo(config)
        self.app_connection_string = pulumi.Output.secret(
            pulumi.Output.from_input(self.app_password).apply(
                lambda password: connection_string(
                    self.public_host, SQL_PORT, DATABASE, APP_USER, password
                )
            )
        )
        self.sql_shell_command = sql_shell_command(config.namespace, config.tls, config.client_pod)
        self.admin_ui_command = admin_ui_command(config.namespace, config.tls)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "publicHost": self.public_host,
                "appConnectionString": self.app_connection_string,
            }
        )

    def _admin_access(self, config: StackConfig) -> AdminAccess:
        """Root's access for every provider that speaks SQL: the configured DSN, else root over
        the public Service in cluster mode (None when only rendering); under TLS the CA and
        root's client certificate."""
        dsn = config.admin_dsn
        if dsn is None and config.kubernetes_mode != "render":
            dsn = admin_dsn_in_cluster(self.public_host, SQL_PORT, config.tls)
        certificates = self.certificates
        if certificates is None:
            return AdminAccess(dsn=dsn, kube_access=sql_route(config))
        return AdminAccess(
            dsn=dsn,
            ca_cert=certificates.ca_cert_pem,
            client_cert=certificates.root_client.cert_pem,
            client_key=certificates.root_client.key_pem,
            kube_access=sql_route(config),
        )

    def _guard(self, config: StackConfig) -> ClusterGuard:
        return ClusterGuard(
            "guard",
            ClusterGuardArgs(
                version=config.version,
                replicas=config.replicas,
                replication_factor=config.replication_factor,
                production=config.production,
                decommissioned=config.scaling.decommissioned,
                finalize=config.upgrade.finalize,
                admin=self.admin,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _settings(self, config: StackConfig) -> ClusterSettings | None:
        """Licence, settings and SQL audit, once the schema's tables exist."""
        if not (
            config.cluster_settings
            or config.license
            or config.organization
            or config.logging.sql_audit
        ):
            return None
        if self.admin.dsn is None:
            pulumi.log.warn(
                "cluster settings, licence and SQL audit not applied: no database is reachable "
                "(manifests only rendered); set openalgo:adminDsn to manage them",
                resource=self,
            )
            return None
        return ClusterSettings(
            "settings",
            ClusterSettingsArgs(
                settings=config.cluster_settings,
                settings_secret=config.cluster_settings_secret,
                organization=config.organization,
                license=config.license,
                sql_audit=config.logging.sql_audit,
                admin=self.admin,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[r for r in (self.schema, self.init) if r is not None]
            ),
        )

    def _backups(self, config: StackConfig) -> BackupSchedule | None:
        if not config.backup.enabled or config.backup_destination is None:
            return None
        if self.admin.dsn is None or self.schema is None:
            pulumi.log.warn(
                "backup schedule not written: no database is reachable (manifests only "
                "rendered); set openalgo:adminDsn to manage it",
                resource=self,
            )
            return None
        return BackupSchedule(
            "backups",
            BackupScheduleArgs(
                database=DATABASE,
                destination=pulumi.Output.secret(config.backup_destination),
                full_schedule=config.backup.full_schedule,
                incremental_schedule=config.backup.incremental_schedule,
                admin=self.admin,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.schema]),
        )

    def _schema(self, config: StackConfig) -> SchemaMigrations | None:
        """Apply sql/migrations once `cockroach init` has run, unless nothing can be reached."""
        if not config.schema_.enabled:
            return None
        if self.admin.dsn is None:
            pulumi.log.warn(
                "schema not applied: manifests are only rendered and openalgo:adminDsn is "
                "unset; apply it later with `python -m migrator apply --dsn ...`",
                resource=self,
            )
            return None
        return SchemaMigrations(
            "schema",
            SchemaMigrationsArgs(
                admin=self.admin,
                migrations_dir=config.schema_.migrations_directory,
                database=DATABASE,
                app_user=APP_USER,
                app_password=self.app_password,
                replication_factor=config.replication_factor,
                allow_drop=config.schema_.allow_drop,
                production=config.production,
                app_databases=(config.app.databases.by_variable() if config.app.enabled else None),
                app_connection_limit=config.app.connection_limit if config.app.enabled else None,
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.init, *([self.rollout] if self.rollout else [])],
                protect=config.protect,
            ),
        )

    def _openalgo(self, config: StackConfig) -> OpenAlgoAccess | None:
        """OpenAlgo's database URLs and the CA, in its namespace, once its databases exist."""
        if not config.app.enabled:
            return None
        return OpenAlgoAccess(
            "openalgo-app",
            OpenAlgoAccessArgs(
                namespace=config.app.namespace,
                databases=AppDatabases(config.app.databases.by_variable()),
                user=APP_USER,
                host=self.public_host,
                port=SQL_PORT,
                password=self.app_password,
                ca_cert=self.certificates.ca_cert_pem if self.certificates else None,
                protect=config.protect,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.schema] if self.schema else []
            ),
        )
