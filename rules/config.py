"""Per-stack configuration, declared once: the validated model is the StackConfig components read.

The raw input is the flat map Pulumi hands a program (``openalgo:replicas`` -> ``"3"``). Every
problem is collected and reported together, each naming the key, the bad value (never a
secret's) and what is allowed, so one failed preview shows everything to fix.

Each section of the model carries its own rules, in three layers, so each message points at the
key that is wrong:

1. shape: pydantic reads each key as plain text, an integer of ASCII digits, ``true``/``false``,
   a quantity, a YAML list or map (a key that fails here is left out of the later layers);
2. bounds and formats: the ``FieldRule`` beside each field (``rules/config_rules.py``:
   ``IntRange``, ``QuantityRange``, ``Format``), which ``scripts/config-table`` prints in
   docs/configuration.md;
3. rules across keys: each section's ``checks``, next to its fields; a rule is skipped while a
   key it uses is already wrong.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AliasGenerator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from migrator.bootstrap import IDENTIFIER, IDENTIFIER_RULE
from rules.config_rules import (
    MAX_CLUSTER_DOMAIN,
    MINIMUM_VERSION,
    OFF_CLUSTER_SCHEMES,
    ON_CLUSTER_SCHEMES,
    RESERVED_LABEL_PREFIX,
    FieldRule,
    Format,
    IntRange,
    QuantityRange,
    admin_dsn_refusal,
    backup_destination_refusal,
    backup_scheme,
    cluster_domain_refusal,
    dns_label_refusal,
    dns_subdomain_refusal,
    image_refusal,
    image_version,
    label_key_refusal,
    label_value_refusal,
    labels_refusal,
    monitoring_labels_refusal,
    name_refusal,
    path_refusal,
    read_bool,
    read_int,
    read_quantity,
    read_text,
)
from rules.cron import CronError, full_backup_period_days, schedule_refusal
from rules.names import DATABASE
from rules.quantities import QUANTITY_HELP, parse_quantity
from rules.settings import SENSITIVE_SETTINGS, SettingValue, setting_refusal

NAMESPACE = "openalgo"
PROVIDER_NAMESPACES = ("kubernetes", "pulumi", "random", "tls")
"""Other config namespaces this program's engine and providers read; any other is a typo."""
DEFAULT_IMAGE = "cockroachdb/cockroach:v25.2.8"
SECRET_KEYS = frozenset({"adminDsn", "backupDestination", "license"})
MAX_REPLICAS = 100
MIGRATION_FILES = "[0-9][0-9][0-9][0-9]_*.sql"

_MIN_MEMORY = "2Gi"
_PROD_MIN_CPU = Decimal(4)
_PROD_MEMORY_PER_CPU = 4 * 2**30
_SHOWN_CHARACTERS = 160


@dataclass(frozen=True)
class Facts:
    """What validation needs beyond the config values: which stack, and where it runs."""

    stack: str
    kubeconfig_present: bool
    project: Path
    secret_keys: frozenset[str]


@dataclass(frozen=True)
class Check:
    """A rule across keys: ``key`` is refused with ``allowed`` unless ``holds``.

    Keys are relative to the section that yields the check. A ``prod_only`` check applies only
    to a prod stack. A check says nothing while a key in ``uses`` (and ``environment`` for a
    ``prod_only`` check) is already wrong, nor while ``key`` is, unless ``despite_key``.
    """

    key: str
    holds: bool
    value: Any
    allowed: str
    uses: tuple[str, ...] = ()
    prod_only: bool = False
    shown: str | None = None
    despite_key: bool = False


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel),
        extra="forbid",
        frozen=True,
        populate_by_name=True,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _plain_input(cls, value: Any, info: ValidationInfo) -> Any:
        """Read every scalar strictly, whatever its field: see the module docstring."""
        field = cls.model_fields[str(info.field_name)]
        annotation = field.annotation
        nested = isinstance(annotation, type) and issubclass(annotation, _Section)
        if isinstance(value, str) or (isinstance(value, Mapping) and not nested):
            read_text(value)
        if annotation is bool:
            return read_bool(value)
        ints = [rule for rule in field.metadata if isinstance(rule, IntRange)]
        quantities = [rule for rule in field.metadata if isinstance(rule, QuantityRange)]
        if annotation is int or (annotation == int | None and value is not None):
            return read_int(value, next(iter(ints), None))
        if quantities:
            return read_quantity(value, quantities[0])
        return value

    def checks(self, facts: Facts) -> Iterator[Check]:
        """The section's rules across keys; a section without any yields none."""
        return iter(())


_CPU = QuantityRange("100m", "32", "CockroachDB is tested up to 32 vCPUs per node")
_MEMORY = QuantityRange(_MIN_MEMORY, "256Gi", "CockroachDB needs at least 2Gi per node")
_LABELS = Format(labels_refusal, "Kubernetes labels")


def _binary_quantity(size: Decimal) -> str:
    """Bytes as Gi when whole, else as Mi rounded up: the smallest value a rule accepts."""
    if size % 2**30 == 0:
        return f"{int(size // 2**30)}Gi"
    return f"{math.ceil(size / 2**20)}Mi"


class Resources(_Section):
    """Per-node compute. No CPU limit by default: CockroachDB throttled by CFS stalls latency."""

    cpu_request: Annotated[
        str, _CPU, Field(description="prod: >= 4, CockroachDB's production minimum")
    ] = "2"
    memory_request: Annotated[
        str, _MEMORY, Field(description="prod: >= 4Gi per requested vCPU")
    ] = "8Gi"
    memory_limit: Annotated[str, _MEMORY, Field(description=">= request")] = "8Gi"
    cpu_limit: Annotated[
        str | None, _CPU, Field(description=">= request; unset is recommended")
    ] = None

    def checks(self, facts: Facts) -> Iterator[Check]:
        yield Check(
            "memoryLimit",
            parse_quantity(self.memory_limit) >= parse_quantity(self.memory_request),
            self.memory_limit,
            f">= resources.memoryRequest ({self.memory_request})",
            uses=("memoryRequest",),
        )
        if self.cpu_limit is not None:
            yield Check(
                "cpuLimit",
                parse_quantity(self.cpu_limit) >= parse_quantity(self.cpu_request),
                self.cpu_limit,
                f">= resources.cpuRequest ({self.cpu_request}), or unset (recommended)",
                uses=("cpuRequest",),
            )
        cpu = parse_quantity(self.cpu_request)
        yield Check(
            "cpuRequest",
            cpu >= _PROD_MIN_CPU,
            self.cpu_request,
            ">= 4 in prod: CockroachDB's production checklist asks for at least 4 vCPUs per node",
            prod_only=True,
        )
        memory_floor = max(cpu, _PROD_MIN_CPU) * _PROD_MEMORY_PER_CPU
        yield Check(
            "memoryRequest",
            parse_quantity(self.memory_request) >= memory_floor,
            self.memory_request,
            f">= {_binary_quantity(memory_floor)} in prod: CockroachDB's production checklist "
            "asks for 4 GiB of RAM per vCPU (2 GiB is for testing only)",
            uses=("cpuRequest",),
            prod_only=True,
        )


class Storage(_Section):
    size: Annotated[
        str,
        QuantityRange("1Gi", "10Ti", "CockroachDB's production checklist: at most 10 TiB"),
        Field(description="grows in place, never shrinks"),
    ] = "100Gi"
    storage_class: Annotated[
        str | None,
        Format(dns_subdomain_refusal, "storage class name, a DNS subdomain"),
        Field(description="required in prod; unset: the cluster default"),
    ] = None

    def checks(self, facts: Facts) -> Iterator[Check]:
        yield Check(
            "storageClass",
            self.storage_class is not None,
            self.storage_class,
            "an SSD storage class name in prod (the cluster default may be slow disks)",
            prod_only=True,
        )


class Peer(_Section):
    """Pods allowed to reach a port: pods with these labels in namespaces with these labels."""

    namespace_labels: Annotated[dict[str, str], _LABELS] = Field(default_factory=dict)
    pod_labels: Annotated[dict[str, str], _LABELS] = Field(default_factory=dict)

    def checks(self, facts: Facts) -> Iterator[Check]:
        yield Check(
            "",
            bool(self.namespace_labels or self.pod_labels),
            self.model_dump(by_alias=True),
            "namespaceLabels and/or podLabels; an empty peer would admit every pod",
        )


class NetworkPolicy(_Section):
    enabled: Annotated[bool, Field(description="`true` in prod")] = False
    sql_clients: tuple[Peer, ...] = ()
    metrics_clients: tuple[Peer, ...] = ()

    def checks(self, facts: Facts) -> Iterator[Check]:
        yield Check(
            "enabled",
            self.enabled,
            self.enabled,
            "true in prod: the SQL port is open only to listed clients",
            prod_only=True,
        )
        for name, peers in (
            ("sqlClients", self.sql_clients),
            ("metricsClients", self.metrics_clients),
        ):
            for index, peer in enumerate(peers):
                for check in peer.checks(facts):
                    yield _within(f"{name}.{index}", check)


class Certificates(_Section):
    """Validity windows; a `pulumi up` inside renew_before_days re-issues the certificate."""

    ca_validity_days: Annotated[
        int, IntRange(365, 7305, "one to twenty years; the CA signs every other certificate")
    ] = 3650
    validity_days: Annotated[
        int,
        IntRange(7, 1826, "a week to five years, cockroach cert's default node lifetime"),
        Field(description="<= CA validity"),
    ] = 365
    renew_before_days: Annotated[int, IntRange(1, 365), Field(description="< validity")] = 30

    def checks(self, facts: Facts) -> Iterator[Check]:
        yield Check(
            "renewBeforeDays",
            self.renew_before_days < self.validity_days,
            self.renew_before_days,
            f"fewer than certificates.validityDays ({self.validity_days})",
            uses=("validityDays",),
        )
        yield Check(
            "validityDays",
            self.validity_days <= self.ca_validity_days,
            self.validity_days,
            f"at most certificates.caValidityDays ({self.ca_validity_days}): a certificate "
            "never outlives the CA that signed it",
            uses=("caValidityDays",),
        )


class KubernetesTarget(_Section):
    """Where manifests go: a cluster from kubeconfig, or YAML files in a directory.

    ``auto`` deploys when a kubeconfig is present and renders otherwise, so `pulumi up` on a
    laptop with no cluster still produces reviewable manifests.
    """

    mode: Annotated[Literal["auto", "cluster", "render"], Field(description="prod: not `auto`")] = (
        "auto"
    )
    render_directory: Annotated[
        str | None, Format(path_refusal, "path"), Field(description="unset: `rendered/<stack>`")
    ] = None
    context: Annotated[
        str | None,
        Format(name_refusal, "kubeconfig context"),
        Field(description="unset: the current context"),
    ] = None
    wait_timeout_seconds: Annotated[
        int,
        IntRange(30, 3600, "bound on waiting for the init Job, a ready pod and a rollout"),
    ] = 600

    def checks(self, facts: Facts) -> Iterator[Check]:
        yield Check(
            "mode",
            self.mode != "auto",
            self.mode,
            "'cluster' or 'render' in prod, never a guess",
            prod_only=True,
        )


class Schema(_Section):
    enabled: bool = True
    migrations_directory: Annotated[
        str,
        Format(path_refusal, "path of a directory holding `NNNN_name.sql` files"),
        Field(description="checked when enabled"),
    ] = "sql/migrations"
    allow_drop: Annotated[bool, Field(description="refused in prod")] = False

    def checks(self, facts: Facts) -> Iterator[Check]:
        if self.enabled:
            path = facts.project / self.migrations_directory
            yield Check(
                "migrationsDirectory",
                path.is_dir() and any(path.glob(MIGRATION_FILES)),
                self.migrations_directory,
                f"a directory of the project holding migrations ({MIGRATION_FILES}); "
                "set schema.enabled: false to apply none",
                uses=("enabled",),
            )
        yield Check(
            "allowDrop",
            not self.allow_drop,
            self.allow_drop,
            "false in prod: destroying the stack never drops trading data",
            prod_only=True,
        )


class Monitoring(_Section):
    """ServiceMonitor and PrometheusRule need the Prometheus Operator's CRDs: off by default."""

    prometheus_operator: Annotated[
        bool, Field(description="ServiceMonitor + PrometheusRule, which need the CRDs")
    ] = False
    grafana_dashboard: Annotated[bool, Field(description="dashboard ConfigMap")] = True
    labels: Annotated[
        dict[str, str],
        Format(monitoring_labels_refusal, f"Kubernetes labels, none under {RESERVED_LABEL_PREFIX}"),
        Field(description="the Prometheus Operator selects on them"),
    ] = Field(default_factory=dict)


_CRON = Format(
    schedule_refusal,
    "five-field cron (day of week 0-6) or `@hourly`/`@daily`/`@weekly`/`@monthly`/`@yearly`",
)


class Backup(_Section):
    """Scheduled full + incremental backups of the database, to ``backupDestination``."""

    enabled: Annotated[bool, Field(description="`true` in prod")] = False
    full_schedule: Annotated[str, _CRON] = "@daily"
    incremental_schedule: Annotated[str, _CRON] = "@hourly"
    retention_days: Annotated[
        int,
        IntRange(1, 3653, "up to ten years; the bucket's lifecycle rule keeps them"),
        Field(description=">= two periods of the full schedule"),
    ] = 30

    def checks(self, facts: Facts) -> Iterator[Check]:
        yield Check(
            "enabled",
            self.enabled,
            self.enabled,
            "true in prod: the trading data is backed up",
            prod_only=True,
        )
        try:
            period = full_backup_period_days(self.full_schedule)
        except CronError:
            period = 0
        yield Check(
            "retentionDays",
            self.retention_days >= 2 * period,
            self.retention_days,
            f">= {2 * period}: two full backup periods of backup.fullSchedule "
            f"({self.full_schedule!r} runs at least every {period} day{'s' * (period != 1)}), "
            "so a complete chain is kept",
            uses=("fullSchedule",),
        )


def _database_name_refusal(value: str) -> str | None:
    if IDENTIFIER.match(value):
        return None
    return f"a database name of {IDENTIFIER_RULE}, at most 63 characters"


_DATABASE_NAME = Format(_database_name_refusal, "database name")


class AppDatabaseNames(_Section):
    """OpenAlgo's five SQLAlchemy databases, each named by the variable OpenAlgo reads."""

    main: Annotated[str, _DATABASE_NAME, Field(description="`DATABASE_URL`")] = "openalgo_app"
    logs: Annotated[str, _DATABASE_NAME, Field(description="`LOGS_DATABASE_URL`")] = "openalgo_logs"
    latency: Annotated[str, _DATABASE_NAME, Field(description="`LATENCY_DATABASE_URL`")] = (
        "openalgo_latency"
    )
    health: Annotated[str, _DATABASE_NAME, Field(description="`HEALTH_DATABASE_URL`")] = (
        "openalgo_health"
    )
    sandbox: Annotated[str, _DATABASE_NAME, Field(description="`SANDBOX_DATABASE_URL`")] = (
        "openalgo_sandbox"
    )

    def by_variable(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.main,
            "LOGS_DATABASE_URL": self.logs,
            "LATENCY_DATABASE_URL": self.latency,
            "HEALTH_DATABASE_URL": self.health,
            "SANDBOX_DATABASE_URL": self.sandbox,
        }


def license_refusal(value: str) -> str | None:
    if value.startswith("crl-") and value.strip() == value and " " not in value:
        return None
    return "a CockroachDB licence key (crl-0-...), as issued, without spaces"


def cluster_settings_refusal(settings: Mapping[str, Any]) -> str | None:
    for name, value in settings.items():
        refusal = setting_refusal(name, value)
        if refusal is not None:
            return refusal
    return None


class Logging(_Section):
    """What the nodes log besides operations on stderr (log.yaml in a ConfigMap)."""

    sql_audit: Annotated[
        bool,
        Field(description="every read and write of the trading tables, to a file"),
    ] = False


class App(_Section):
    """OpenAlgo itself: its own databases, its role's connection limit, its credentials."""

    enabled: Annotated[
        bool, Field(description="provision OpenAlgo's databases and hand it their URLs")
    ] = True
    namespace: Annotated[
        str,
        Format(dns_label_refusal, "DNS-1123 label"),
        Field(description="OpenAlgo's namespace, created for its Secrets; not `namespace`"),
    ] = "openalgo"
    databases: AppDatabaseNames = AppDatabaseNames()
    connection_limit: Annotated[
        int,
        IntRange(10, 10000, "OpenAlgo's pools, bounded"),
        Field(description="the app role's; PostgreSQL only (CockroachDB has no per-role limit)"),
    ] = 200

    def checks(self, facts: Facts) -> Iterator[Check]:
        names = list(self.databases.by_variable().values())
        for key, name in zip(type(self.databases).model_fields, names, strict=True):
            yield Check(
                f"databases.{key}",
                names.count(name) == 1 and name != DATABASE,
                name,
                f"a name of its own: each of OpenAlgo's five databases is separate, and "
                f"{DATABASE!r} holds the trading schema (OpenAlgo's tables would collide)",
            )


_TIER = re.compile(r"^([a-z][a-z0-9_-]{0,62})=([A-Za-z0-9][A-Za-z0-9_.-]{0,62})$")
LOCALITY_IMAGE = "python:3.12.8-alpine3.21"
LOCALITY_FROM_NODES = ("region", "zone")


def tiers_refusal(tiers: tuple[str, ...]) -> str | None:
    for tier in tiers:
        match = _TIER.fullmatch(tier)
        if match is None:
            return (
                f"{tier!r}: a tier is key=value, the key lower-case letters, digits, '-' or '_', "
                "the value letters, digits, '-', '_' or '.', without ',' or '='"
            )
        if match.group(1) in LOCALITY_FROM_NODES:
            return f"{tier!r}: region and zone come from the node's topology labels"
    keys = [tier.partition("=")[0] for tier in tiers]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        return f"each key once (repeated: {', '.join(duplicates)})"
    return None


def container_image_refusal(value: str) -> str | None:
    if value and value.strip() == value and " " not in value and ":" in value.rsplit("/", 1)[-1]:
        return None
    return "an image reference with a pinned tag (name:tag, optionally @sha256:...)"


class Locality(_Section):
    """Where each node runs, as CockroachDB spreads replicas by it: region and zone from the
    Kubernetes node's topology labels, read by an init container, after fixed broader tiers."""

    enabled: Annotated[bool, Field(description="`--locality` on every node")] = True
    tiers: Annotated[
        tuple[str, ...],
        Format(tiers_refusal, "`key=value` tiers"),
        Field(description="before region and zone, e.g. `cloud=gcp`"),
    ] = ()
    image: Annotated[
        str,
        Format(container_image_refusal, "image with a pinned tag"),
        Field(description="runs the init step: any image with `python3`"),
    ] = LOCALITY_IMAGE


class Toleration(_Section):
    """A taint of the nodes reserved for the database that its pods tolerate, as Kubernetes
    writes it."""

    key: Annotated[
        str | None,
        Format(label_key_refusal, "taint key"),
        Field(description="unset: every key (operator `Exists` only)"),
    ] = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: Annotated[
        str | None, Format(label_value_refusal, "taint value"), Field(description="`Equal` only")
    ] = None
    effect: Annotated[
        Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None,
        Field(description="unset: every effect"),
    ] = None
    toleration_seconds: Annotated[
        int | None,
        IntRange(0, 86400, "how long a pod stays on a node tainted NoExecute"),
        Field(description="`NoExecute` only"),
    ] = None

    def checks(self, facts: Facts) -> Iterator[Check]:
        yield Check(
            "key",
            self.key is not None or self.operator == "Exists",
            self.key,
            "a taint key with operator Equal (only Exists may leave it unset, tolerating all)",
            uses=("operator",),
        )
        yield Check(
            "value",
            self.value is None or self.operator == "Equal",
            self.value,
            "no value with operator Exists (it matches the key whatever its value)",
            uses=("operator",),
        )
        yield Check(
            "tolerationSeconds",
            self.toleration_seconds is None or self.effect == "NoExecute",
            self.toleration_seconds,
            "only with effect NoExecute (other taints never evict a running pod)",
            uses=("effect",),
        )


class Scheduling(_Section):
    """Where the database's pods may run: the Helm chart's priority class, node selector and
    tolerations, applied to the CockroachDB nodes, the init job and the client pod alike."""

    priority_class_name: Annotated[
        str | None,
        Format(dns_subdomain_refusal, "PriorityClass name"),
        Field(description="must exist in the cluster"),
    ] = None
    node_selector: Annotated[dict[str, str], _LABELS] = Field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()

    def checks(self, facts: Facts) -> Iterator[Check]:
        for index, toleration in enumerate(self.tolerations):
            for check in toleration.checks(facts):
                yield _within(f"tolerations.{index}", check)


class Upgrade(_Section):
    """``finalize: false`` keeps an upgrade reversible (cluster.preserve_downgrade_option)."""

    finalize: Annotated[bool, Field(description="let a major upgrade finalize")] = False


_ORDINALS = IntRange(0, MAX_REPLICAS - 1)


class Scaling(_Section):
    """Ordinals confirmed decommissioned, which a scale-down may then remove."""

    decommissioned: Annotated[
        tuple[int, ...],
        Field(description=f"pod ordinals, each {_ORDINALS.describe()}, >= replicas"),
    ] = ()
    release_volumes: Annotated[bool, Field(description="delete a removed pod's volume")] = False

    ORDINALS: ClassVar[IntRange] = _ORDINALS

    @field_validator("decommissioned", mode="before")
    @classmethod
    def _plain_ordinals(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        try:
            return [read_int(item) for item in value]
        except ValueError:
            raise ValueError("a YAML list of pod ordinals (integers written with 0-9)") from None


def _within(prefix: str, check: Check) -> Check:
    """A section's check with its keys written from the section's parent."""
    return replace(
        check,
        key=f"{prefix}.{check.key}".rstrip("."),
        uses=tuple(f"{prefix}.{key}" for key in check.uses),
    )


def _is_system_namespace(namespace: str) -> bool:
    return namespace == "default" or namespace.startswith("kube-")


class StackConfig(_Section):
    """The validated config every component takes; nothing below reads pulumi.Config."""

    environment: Annotated[
        Literal["dev", "staging", "prod"],
        Field(description="the stack named `prod` must say `prod`"),
    ]
    namespace: Annotated[
        str,
        Format(dns_label_refusal, "DNS-1123 label"),
        Field(description="not `default` or `kube-*`"),
    ] = "trading"
    allow_system_namespace: Annotated[
        bool, Field(description="allow `default` or `kube-*` as `namespace`")
    ] = False
    cluster_domain: Annotated[
        str,
        Format(cluster_domain_refusal, f"DNS subdomain, at most {MAX_CLUSTER_DOMAIN} characters"),
    ] = "cluster.local"
    image: Annotated[
        str,
        Format(
            image_refusal,
            f"image pinned to a `vX.Y.Z` tag (optionally `@sha256:`), {MINIMUM_VERSION} or "
            "later, in a major release `rules/upgrades.py` lists",
        ),
    ] = DEFAULT_IMAGE
    replicas: Annotated[
        int, IntRange(1, MAX_REPLICAS), Field(description=">= 3 with TLS or in prod")
    ] = 3
    replication_factor: Annotated[
        int,
        IntRange(1, 7, "CockroachDB's documented replication factors are 3, 5 and 7"),
        Field(description="odd, <= replicas, >= 3 in prod"),
    ] = 3
    tls: Annotated[bool, Field(description="`true` in prod")] = True
    allow_insecure: Annotated[
        bool, Field(description="needed for `tls: false`, refused in prod")
    ] = False
    resources: Resources = Resources()
    storage: Storage = Storage()
    termination_grace_period_seconds: Annotated[
        int,
        IntRange(60, 3600, "time for a node to drain, at most an hour"),
        Field(description=">= 300 in prod"),
    ] = 300
    liveness_probe: bool = False
    client_pod: bool = True
    network_policy: NetworkPolicy = NetworkPolicy()
    pod_security: Annotated[
        Literal["privileged", "baseline", "restricted"], Field(description="prod: `restricted`")
    ] = "restricted"
    protect: Annotated[bool, Field(description="`true` in prod")] = False
    certificates: Certificates = Certificates()
    kubernetes: KubernetesTarget = KubernetesTarget()
    schema_: Schema = Field(default=Schema(), alias="schema")
    admin_dsn: Annotated[
        str | None, Format(admin_dsn_refusal, "`postgresql://` URI"), Field(description="secret")
    ] = None
    monitoring: Monitoring = Monitoring()
    backup: Backup = Backup()
    backup_destination: Annotated[
        str | None,
        Format(backup_destination_refusal, "CockroachDB backup URI"),
        Field(
            description="secret; required when backups are on; prod: a Pulumi secret, "
            "`s3://`, `gs://` or `azure…://`"
        ),
    ] = None
    upgrade: Upgrade = Upgrade()
    scaling: Scaling = Scaling()
    scheduling: Scheduling = Scheduling()
    locality: Locality = Locality()
    app: App = App()
    license: Annotated[
        str | None,
        Format(license_refusal, "licence key"),
        Field(description="secret; prod: required unless `licenseWaived`"),
    ] = None
    organization: Annotated[
        str | None,
        Format(name_refusal, "organization"),
        Field(description="the licence's organization; with `license`"),
    ] = None
    license_waived: Annotated[
        bool, Field(description="prod runs unlicensed, knowingly (throttled after the grace)")
    ] = False
    cluster_settings: Annotated[
        dict[str, SettingValue],
        Format(cluster_settings_refusal, "setting: value"),
        Field(description="none the program sets itself; a secret when it holds a sensitive one"),
    ] = Field(default_factory=dict)
    logging: Logging = Logging()

    _facts: Facts = PrivateAttr()

    @model_validator(mode="after")
    def _remember_facts(self, info: ValidationInfo) -> StackConfig:
        """Keep the facts the derived values below are computed from."""
        if not isinstance(info.context, Facts):
            raise TypeError("StackConfig is validated with Facts as context: load_stack_config")
        self._facts = info.context
        return self

    @property
    def stack(self) -> str:
        return self._facts.stack

    @property
    def production(self) -> bool:
        return self.environment == "prod"

    @property
    def version(self) -> str | None:
        return image_version(self.image)

    @property
    def kubernetes_mode(self) -> Literal["cluster", "render"]:
        """``auto`` resolved: a cluster when a kubeconfig is present, else rendered files."""
        mode = self.kubernetes.mode
        if mode == "auto":
            return "cluster" if self._facts.kubeconfig_present else "render"
        return mode

    @property
    def cluster_settings_secret(self) -> bool:
        """``clusterSettings`` is a Pulumi secret (as a whole: a secret path makes it one)."""
        return f"{NAMESPACE}:clusterSettings" in self._facts.secret_keys

    @property
    def render_directory(self) -> str:
        return self.kubernetes.render_directory or f"rendered/{self.stack}"

    def checks(self, facts: Facts) -> Iterator[Check]:
        """Rules across the top-level keys and between sections."""
        yield Check(
            "environment",
            facts.stack != "prod" or self.production,
            self.environment,
            "'prod' in the stack named prod: its production rules cannot be switched off",
        )
        yield Check(
            "namespace",
            self.allow_system_namespace or not _is_system_namespace(self.namespace),
            self.namespace,
            "a namespace of your own: 'default' and kube-* belong to the cluster (set "
            "allowSystemNamespace: true only if you mean it)",
            uses=("allowSystemNamespace",),
        )
        min_replicas = 3 if (self.tls or self.production) else 1
        yield Check(
            "replicas",
            self.replicas >= min_replicas,
            self.replicas,
            f"an integer >= {min_replicas} (3 or more with TLS or in prod, to survive a node "
            "failure)",
            uses=("tls", "environment"),
        )
        yield Check(
            "replicationFactor",
            self.replication_factor % 2 == 1,
            self.replication_factor,
            "an odd integer (Raft needs a majority: 1, 3, 5 or 7)",
        )
        yield Check(
            "replicationFactor",
            self.replication_factor <= self.replicas,
            self.replication_factor,
            f"at most replicas ({self.replicas}): each replica needs its own node",
            uses=("replicas",),
        )
        yield Check(
            "tls",
            self.tls or self.allow_insecure,
            self.tls,
            "true, unless allowInsecure is true to accept an unauthenticated, unencrypted cluster",
            uses=("allowInsecure",),
        )
        yield Check(
            "app.namespace",
            self.app.namespace != self.namespace,
            self.app.namespace,
            f"a namespace other than namespace ({self.namespace}): OpenAlgo's Secrets and pods "
            "stay out of the database's namespace and its network policy",
            uses=("namespace",),
        )
        yield Check(
            "app.namespace",
            self.allow_system_namespace or not _is_system_namespace(self.app.namespace),
            self.app.namespace,
            "a namespace of your own: 'default' and kube-* belong to the cluster",
            uses=("allowSystemNamespace",),
        )
        yield from self._production_checks(facts)
        if self.backup.enabled and not self.backup_destination:
            yield Check(
                "backupDestination",
                False,
                None,
                "a backup URI when backup.enabled (set it with `pulumi config set --secret "
                "openalgo:backupDestination ...`)",
                shown="(unset)",
            )
        yield from self._license_checks(facts)
        yield from self._settings_checks()
        decommissioned = self.scaling.decommissioned
        yield Check(
            "scaling.decommissioned",
            len(set(decommissioned)) == len(decommissioned)
            and all(ordinal >= self.replicas for ordinal in decommissioned),
            list(decommissioned),
            f"distinct ordinals >= replicas ({self.replicas}): a decommissioned node "
            "cannot stay in the StatefulSet",
            uses=("replicas",),
        )

    def _settings_checks(self) -> Iterator[Check]:
        for name in sorted(SENSITIVE_SETTINGS.intersection(self.cluster_settings)):
            yield Check(
                "clusterSettings",
                self.cluster_settings_secret,
                None,
                f"{name!r} is one of CockroachDB's sensitive settings: set it as a secret "
                f"(`pulumi config set --secret --path 'openalgo:clusterSettings[\"{name}\"]' ...`)",
                shown="(a plain value, not shown)",
            )
        yield Check(
            "logging.sqlAudit",
            not self.logging.sql_audit or self.schema_.enabled,
            self.logging.sql_audit,
            "false while schema.enabled is false: the audited tables are the schema's",
            uses=("schema.enabled",),
        )

    def _license_checks(self, facts: Facts) -> Iterator[Check]:
        if self.license is not None:
            yield Check(
                "license",
                f"{NAMESPACE}:license" in facts.secret_keys,
                self.license,
                "a secret: set it with `pulumi config set --secret openalgo:license ...`",
            )
            yield Check(
                "organization",
                self.organization is not None,
                None,
                "the organization the licence was issued to, whenever openalgo:license is set",
                shown="(unset)",
            )
        yield Check(
            "license",
            self.license is not None or self.license_waived,
            None,
            "a licence in prod (`pulumi config set --secret openalgo:license crl-0-...` and "
            "openalgo:organization), or openalgo:licenseWaived: true to run unlicensed, "
            "knowing CockroachDB throttles an unlicensed cluster after its grace period",
            uses=("licenseWaived",),
            prod_only=True,
            shown="(unset)",
        )

    def _production_checks(self, facts: Facts) -> Iterator[Check]:
        """CockroachDB's production checklist and this project's prod rules, top-level keys."""
        yield Check(
            "tls",
            self.tls,
            self.tls,
            "true in prod: a production stack cannot be insecure",
            prod_only=True,
        )
        yield Check(
            "allowInsecure",
            not self.allow_insecure,
            self.allow_insecure,
            "false in prod: a production stack cannot be insecure",
            prod_only=True,
        )
        yield Check(
            "replicationFactor",
            self.replication_factor >= 3,
            self.replication_factor,
            "3 or more in prod, so a node failure loses no quorum",
            prod_only=True,
        )
        yield Check(
            "podSecurity",
            self.pod_security == "restricted",
            self.pod_security,
            "'restricted' in prod",
            prod_only=True,
        )
        yield Check(
            "protect",
            self.protect,
            self.protect,
            "true in prod: guard against deletion",
            prod_only=True,
        )
        yield Check(
            "terminationGracePeriodSeconds",
            self.termination_grace_period_seconds >= 300,
            self.termination_grace_period_seconds,
            ">= 300 in prod, so a node drains its leases and connections before it stops",
            prod_only=True,
        )
        destination = self.backup_destination
        if destination is None:
            return
        scheme = backup_scheme(destination)
        yield Check(
            "backupDestination",
            scheme in OFF_CLUSTER_SCHEMES,
            destination,
            "an off-cluster URI in prod (s3://, gs://, azure-blob://): nodelocal and "
            "userfile backups are lost with the nodes",
            prod_only=True,
            despite_key=scheme in ON_CLUSTER_SCHEMES,  # even when spaced oddly
        )
        yield Check(
            "backupDestination",
            f"{NAMESPACE}:backupDestination" in facts.secret_keys,
            destination,
            "a secret in prod, as it may hold credentials: set it with `pulumi config set "
            "--secret openalgo:backupDestination ...`",
            prod_only=True,
        )


def config_key(model: type[BaseModel], name: str) -> str:
    """The key a user writes for a model field (``schema_`` -> ``schema``, camelCase)."""
    field = model.model_fields[name]
    return field.alias or to_camel(name)


KNOWN_KEYS = frozenset(config_key(StackConfig, name) for name in StackConfig.model_fields)


def leaf_fields(
    model: type[BaseModel] = StackConfig, prefix: str = ""
) -> Iterator[tuple[str, Any]]:
    """Every key a user can set, dotted (``resources.cpuRequest``), with its FieldInfo."""
    for name, field in model.model_fields.items():
        key = prefix + config_key(model, name)
        if isinstance(field.annotation, type) and issubclass(field.annotation, _Section):
            yield from leaf_fields(field.annotation, key + ".")
        else:
            yield key, field


# --- Problems and how they are shown.


@dataclass(frozen=True)
class Problem:
    key: str
    value: str
    allowed: str
    namespace: str = NAMESPACE

    def __str__(self) -> str:
        return f"{self.namespace}:{self.key} = {self.value}: {self.allowed}"


class ConfigError(Exception):
    """Every problem in a stack's config, for one clear report."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(
            f"invalid stack configuration ({count} problem{'s' * (count != 1)}):\n{lines}"
        )


class _Report:
    """Collects problems; hides secrets; skips rules that depend on a key already wrong."""

    def __init__(self, secret_keys: Collection[str]) -> None:
        self.problems: list[Problem] = []
        self.wrong: set[str] = set()
        self._secret_keys = frozenset(secret_keys)

    def shown(self, key: str, value: Any, namespace: str = NAMESPACE) -> str:
        """The value as YAML would show it, or [secret] for a secret key or a secret value."""
        top = key.split(".")[0]
        if top in SECRET_KEYS or f"{namespace}:{top}" in self._secret_keys:
            return "[secret]"
        if isinstance(value, Mapping) and SENSITIVE_SETTINGS.intersection(value):
            return "(holds a sensitive setting, not shown)"
        text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > _SHOWN_CHARACTERS:
            return text[: _SHOWN_CHARACTERS - 3] + "..."
        return text

    def is_wrong(self, key: str) -> bool:
        return any(key == bad or key.startswith(bad + ".") for bad in self.wrong)

    def add(self, key: str, value: Any, allowed: str, *, shown: str | None = None) -> None:
        self.problems.append(Problem(key, shown or self.shown(key, value), allowed))
        self.wrong.add(key)


# --- Layer 1: shape (pydantic), in the user's words.


def _decode(raw: Any) -> Any:
    """Objects and lists arrive as JSON text; scalars stay text for the model to read."""
    if not isinstance(raw, str):
        return raw
    stripped = raw.strip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw
    return raw


def _section_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the YAML map at ``loc`` (for 'did you mean')."""
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        fields = {config_key(model, name): field for name, field in model.model_fields.items()}
        field = fields.get(str(part))
        if field is None:
            return []
        inner = [field.annotation, *get_args(field.annotation)]
        model = next((t for t in inner if isinstance(t, type) and issubclass(t, _Section)), None)
        if model is None:
            return []
    return [config_key(model, name) for name in model.model_fields]


def unknown_key_words(key: str, known: Collection[str]) -> str:
    """'unknown key', the known keys it may be a misspelling or a shortening of, and the list."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.8)
    close = close or sorted(k for k in known if k.lower().startswith(key.lower()))[:2]
    close = close or difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return f"unknown key; {hint}known keys are: {', '.join(sorted(known))}"


def _user_words(detail: Any) -> str:
    kind = detail["type"]
    loc = tuple(detail["loc"])
    if kind == "extra_forbidden":
        return unknown_key_words(str(loc[-1]), _section_keys(loc[:-1]))
    if kind == "literal_error":
        return f"one of {detail['ctx']['expected']}"
    if kind in ("tuple_type", "list_type"):
        return "a YAML list"
    if kind == "dict_type":
        return "a YAML map of text to text"
    if kind in ("model_type", "model_attributes_type"):
        return f"a YAML map with the keys {', '.join(_section_keys(loc))}"
    if kind == "string_type":
        return "text (quote it in YAML)"
    message: str = detail["msg"]
    return message.removeprefix("Value error, ")


def _shape_problems(error: ValidationError, report: _Report) -> None:
    for detail in error.errors():
        key = ".".join(str(part) for part in detail["loc"])
        if detail["type"] == "missing":
            report.add(key, None, "required", shown="(unset)")
        else:
            report.add(key, detail.get("input"), _user_words(detail))


# --- Layer 2: each field's own bounds and format.


def _field_problems(model: BaseModel, report: _Report, prefix: str = "") -> None:
    for name, field in type(model).model_fields.items():
        key = prefix + config_key(type(model), name)
        value = getattr(model, name)
        if report.is_wrong(key):
            continue
        for rule in field.metadata:
            refusal = rule.refusal(value) if isinstance(rule, FieldRule) else None
            if refusal is not None:
                report.add(key, value, refusal)
                break
        items = value if isinstance(value, tuple) else ()
        if isinstance(value, _Section):
            _field_problems(value, report, key + ".")
        for index, item in enumerate(items):
            if isinstance(item, _Section):
                _field_problems(item, report, f"{key}.{index}.")
    if isinstance(model, Scaling):
        ordinals = Scaling.ORDINALS
        for index, ordinal in enumerate(model.decommissioned):
            refusal = ordinals.refusal(ordinal)
            if refusal is not None:
                report.add(f"{prefix}decommissioned.{index}", ordinal, refusal)


# --- Layer 3: each section's rules across keys.


def _rule_problems(config: StackConfig, facts: Facts, report: _Report) -> None:
    sections: list[tuple[str, _Section]] = [("", config)]
    for name in StackConfig.model_fields:
        value = getattr(config, name)
        if isinstance(value, _Section):
            sections.append((config_key(StackConfig, name), value))
    for prefix, section in sections:
        for relative in section.checks(facts):
            check = _within(prefix, relative) if prefix else relative
            if check.prod_only and not config.production:
                continue
            uses = (*check.uses, "environment") if check.prod_only else check.uses
            key_wrong = report.is_wrong(check.key) and not check.despite_key
            if check.holds or key_wrong or any(report.is_wrong(key) for key in uses):
                continue
            report.add(check.key, check.value, check.allowed, shown=check.shown)


# --- Namespaces and keys outside the model.


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, left in enumerate(a, 1):
        current = [i]
        for j, right in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (left != right))
            )
        previous = current
    return previous[-1]


def _foreign_key_problems(values: Mapping[str, Any], report: _Report) -> None:
    """Keys in a namespace nothing reads: a misspelt ``openalgo`` would be silently ignored."""
    readers = (NAMESPACE, *PROVIDER_NAMESPACES)
    for full_key in sorted(values):
        namespace, _, key = full_key.partition(":") if ":" in full_key else ("", "", full_key)
        if namespace in readers:
            continue
        closest = min(readers, key=lambda reader: _edit_distance(namespace, reader))
        near = _edit_distance(namespace, closest) <= max(1, len(namespace) // 3)
        if not near or key.split(".")[0] in KNOWN_KEYS:
            closest = NAMESPACE  # far from every namespace read: most likely the project's
        suggestion = f"{closest}:{key}"
        report.problems.append(
            Problem(
                key,
                report.shown(key, _decode(values[full_key]), namespace),
                f"no part of this program reads the namespace {namespace!r}; did you mean "
                f"{suggestion}? (namespaces read: {', '.join(readers)})",
                namespace=namespace,
            )
        )


def load_stack_config(
    stack: str,
    values: Mapping[str, Any],
    *,
    kubeconfig_present: bool,
    secret_keys: Collection[str] = (),
    project: Path | None = None,
) -> StackConfig:
    """Validate a stack's config; raise ConfigError listing every problem.

    ``values`` is Pulumi's flat config map; ``secret_keys`` are the full keys Pulumi marks as
    secret (their values are never shown); ``project`` is where relative paths start (the
    working directory Pulumi runs the program in, by default).
    """
    report = _Report(secret_keys)
    _foreign_key_problems(values, report)
    ours = {
        key.split(":", 1)[1]: _decode(value)
        for key, value in values.items()
        if key.startswith(f"{NAMESPACE}:")
    }
    for key in sorted(set(ours) - KNOWN_KEYS):
        report.add(key, ours[key], unknown_key_words(key, KNOWN_KEYS))
    known = {key: value for key, value in ours.items() if key in KNOWN_KEYS}
    facts = Facts(stack, kubeconfig_present, project or Path.cwd(), frozenset(secret_keys))
    try:
        config = StackConfig.model_validate(known, context=facts)
    except ValidationError as error:
        _shape_problems(error, report)
        bad = {str(detail["loc"][0]) for detail in error.errors()}
        rest = {key: value for key, value in known.items() if key not in bad}
        if "environment" in bad:
            rest["environment"] = "dev"  # a stand-in: rules that use it are skipped
        report.wrong |= bad
        try:
            config = StackConfig.model_validate(rest, context=facts)
        except ValidationError:
            raise ConfigError(report.problems) from None
    _field_problems(config, report)
    _rule_problems(config, facts, report)
    if report.problems:
        raise ConfigError(report.problems)
    return config


__all__ = [
    "KNOWN_KEYS",
    "MINIMUM_VERSION",
    "QUANTITY_HELP",
    "ConfigError",
    "FieldRule",
    "IntRange",
    "Problem",
    "QuantityRange",
    "StackConfig",
    "leaf_fields",
    "load_stack_config",
]
