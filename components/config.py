"""Per-stack configuration, read and validated once before any resource is declared.

The raw input is the flat map Pulumi hands a program (``openalgo:replicas`` -> ``"3"``); the
output is a frozen ``StackConfig``. Every problem is collected and reported together, each naming
the key, the bad value (never a secret's) and what is allowed, so one failed preview shows
everything to fix.

Validation runs in three passes, so each message points at the key that is wrong:

1. shape: pydantic reads each key as plain text, an integer of ASCII digits, ``true``/``false``,
   a quantity, a YAML list or map (a key that fails here is left out of the later passes);
2. bounds and formats: the ``FieldRule`` objects (``components/config_rules.py``: ``IntRange``,
   ``QuantityRange``, ``Format``), which the README's table and its test read too;
3. rules that span keys; a rule is skipped while a key it depends on is already wrong.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AliasGenerator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from components.config_rules import (
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
    labels_refusal,
    monitoring_labels_refusal,
    name_refusal,
    path_refusal,
    read_bool,
    read_int,
    read_quantity,
    read_text,
)
from components.cron import CronError, full_backup_period_days, schedule_refusal
from components.quantities import QUANTITY_HELP, parse_quantity

NAMESPACE = "openalgo"
PROVIDER_NAMESPACES = ("kubernetes", "pulumi", "random", "tls")
"""Other config namespaces this program's engine and providers read; any other is a typo."""
DEFAULT_IMAGE = "cockroachdb/cockroach:v25.2.8"
SECRET_KEYS = frozenset({"adminDsn", "backupDestination"})
MAX_REPLICAS = 100
MIGRATION_FILES = "[0-9][0-9][0-9][0-9]_*.sql"

_MIN_MEMORY = "2Gi"
_PROD_MIN_CPU = Decimal(4)
_PROD_MEMORY_PER_CPU = 4 * 2**30
_SHOWN_CHARACTERS = 160


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
        if annotation is int:
            return read_int(value, next(iter(ints), None))
        if quantities:
            return read_quantity(value, quantities[0])
        return value


_CPU = QuantityRange("100m", "32", "CockroachDB is tested up to 32 vCPUs per node")
_MEMORY = QuantityRange(_MIN_MEMORY, "256Gi", "CockroachDB needs at least 2Gi per node")
_LABELS = Format(labels_refusal, "Kubernetes label keys and values")


class Resources(_Section):
    """Per-node compute. No CPU limit by default: CockroachDB throttled by CFS stalls latency."""

    cpu_request: Annotated[str, _CPU] = "2"
    memory_request: Annotated[str, _MEMORY] = "8Gi"
    memory_limit: Annotated[str, _MEMORY] = "8Gi"
    cpu_limit: Annotated[str | None, _CPU] = None


class Storage(_Section):
    size: Annotated[
        str, QuantityRange("1Gi", "10Ti", "CockroachDB's production checklist: at most 10 TiB")
    ] = "100Gi"
    storage_class: Annotated[
        str | None, Format(dns_subdomain_refusal, "storage class name (DNS subdomain)")
    ] = None


class Peer(_Section):
    """Pods allowed to reach a port: pods with these labels in namespaces with these labels."""

    namespace_labels: Annotated[dict[str, str], _LABELS] = Field(default_factory=dict)
    pod_labels: Annotated[dict[str, str], _LABELS] = Field(default_factory=dict)


class NetworkPolicy(_Section):
    enabled: bool = False
    sql_clients: tuple[Peer, ...] = ()
    metrics_clients: tuple[Peer, ...] = ()


class Certificates(_Section):
    """Validity windows; a `pulumi up` inside renew_before_days re-issues the certificate."""

    ca_validity_days: Annotated[
        int, IntRange(365, 7305, "one to twenty years; the CA signs every other certificate")
    ] = 3650
    validity_days: Annotated[
        int, IntRange(7, 1826, "a week to five years, cockroach cert's default node lifetime")
    ] = 365
    renew_before_days: Annotated[int, IntRange(1, 365)] = 30


class KubernetesTarget(_Section):
    """Where manifests go: a cluster from kubeconfig, or YAML files in a directory.

    ``auto`` deploys when a kubeconfig is present and renders otherwise, so `pulumi up` on a
    laptop with no cluster still produces reviewable manifests.
    """

    mode: Literal["auto", "cluster", "render"] = "auto"
    render_directory: Annotated[str | None, Format(path_refusal, "path")] = None
    context: Annotated[str | None, Format(name_refusal, "kubeconfig context name")] = None
    wait_timeout_seconds: Annotated[
        int,
        IntRange(30, 3600, "bound on waiting for the init Job, a ready pod and a rollout"),
    ] = 600


class Schema(_Section):
    enabled: bool = True
    migrations_directory: Annotated[
        str, Format(path_refusal, "directory holding NNNN_name.sql files")
    ] = "sql/migrations"
    allow_drop: bool = False


class Monitoring(_Section):
    """ServiceMonitor and PrometheusRule need the Prometheus Operator's CRDs: off by default."""

    prometheus_operator: bool = False
    grafana_dashboard: bool = True
    labels: Annotated[
        dict[str, str],
        Format(monitoring_labels_refusal, f"Kubernetes labels, none under {RESERVED_LABEL_PREFIX}"),
    ] = Field(default_factory=dict)


class Backup(_Section):
    """Scheduled full + incremental backups of the database, to ``backupDestination``."""

    enabled: bool = False
    full_schedule: Annotated[str, Format(schedule_refusal, "cron expression")] = "@daily"
    incremental_schedule: Annotated[str, Format(schedule_refusal, "cron expression")] = "@hourly"
    retention_days: Annotated[
        int, IntRange(1, 3653, "up to ten years; the bucket's lifecycle rule keeps them")
    ] = 30


class Upgrade(_Section):
    """``finalize: false`` keeps an upgrade reversible (cluster.preserve_downgrade_option)."""

    finalize: bool = False


class Scaling(_Section):
    """Ordinals confirmed decommissioned, which a scale-down may then remove."""

    decommissioned: tuple[int, ...] = ()
    release_volumes: bool = False

    ORDINALS: ClassVar[IntRange] = IntRange(0, MAX_REPLICAS - 1)

    @field_validator("decommissioned", mode="before")
    @classmethod
    def _plain_ordinals(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        try:
            return [read_int(item) for item in value]
        except ValueError:
            raise ValueError("a YAML list of pod ordinals (integers written with 0-9)") from None


class _RawConfig(_Section):
    environment: Literal["dev", "staging", "prod"]
    namespace: Annotated[str, Format(dns_label_refusal, "DNS-1123 label")] = "trading"
    allow_system_namespace: bool = False
    cluster_domain: Annotated[str, Format(cluster_domain_refusal, "DNS subdomain")] = (
        "cluster.local"
    )
    image: Annotated[
        str, Format(image_refusal, f"image pinned to vX.Y.Z, {MINIMUM_VERSION} or later")
    ] = DEFAULT_IMAGE
    replicas: Annotated[int, IntRange(1, MAX_REPLICAS)] = 3
    replication_factor: Annotated[
        int, IntRange(1, 7, "CockroachDB's documented replication factors are 3, 5 and 7")
    ] = 3
    tls: bool = True
    allow_insecure: bool = False
    resources: Resources = Resources()
    storage: Storage = Storage()
    termination_grace_period_seconds: Annotated[
        int, IntRange(60, 3600, "time for a node to drain, at most an hour")
    ] = 300
    liveness_probe: bool = False
    client_pod: bool = True
    network_policy: NetworkPolicy = NetworkPolicy()
    pod_security: Literal["privileged", "baseline", "restricted"] = "restricted"
    protect: bool = False
    certificates: Certificates = Certificates()
    kubernetes: KubernetesTarget = KubernetesTarget()
    schema_: Schema = Field(default=Schema(), alias="schema")
    admin_dsn: Annotated[str | None, Format(admin_dsn_refusal, "postgresql:// URI")] = None
    monitoring: Monitoring = Monitoring()
    backup: Backup = Backup()
    backup_destination: Annotated[
        str | None, Format(backup_destination_refusal, "CockroachDB backup URI")
    ] = None
    upgrade: Upgrade = Upgrade()
    scaling: Scaling = Scaling()


def config_key(model: type[BaseModel], name: str) -> str:
    """The key a user writes for a model field (``schema_`` -> ``schema``, camelCase)."""
    field = model.model_fields[name]
    return field.alias or to_camel(name)


KNOWN_KEYS = frozenset(config_key(_RawConfig, name) for name in _RawConfig.model_fields)


def leaf_fields(model: type[BaseModel] = _RawConfig, prefix: str = "") -> Iterator[tuple[str, Any]]:
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


@dataclass(frozen=True)
class StackConfig:
    """The validated config every component takes; nothing below reads pulumi.Config."""

    stack: str
    environment: str
    namespace: str
    cluster_domain: str
    image: str
    version: str | None
    replicas: int
    replication_factor: int
    tls: bool
    resources: Resources
    storage: Storage
    termination_grace_period_seconds: int
    liveness_probe: bool
    client_pod: bool
    network_policy: NetworkPolicy
    pod_security: str
    protect: bool
    certificates: Certificates
    kubernetes_mode: Literal["cluster", "render"]
    render_directory: str
    kubernetes_context: str | None
    kubernetes_wait_timeout_s: int
    schema: Schema
    admin_dsn: str | None
    monitoring: Monitoring
    backup: Backup
    backup_destination: str | None
    upgrade: Upgrade
    scaling: Scaling

    @property
    def production(self) -> bool:
        return self.environment == "prod"


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
        text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > _SHOWN_CHARACTERS:
            return text[: _SHOWN_CHARACTERS - 3] + "..."
        return text

    def is_wrong(self, key: str) -> bool:
        return any(key == bad or key.startswith(bad + ".") for bad in self.wrong)

    def add(self, key: str, value: Any, allowed: str, *, shown: str | None = None) -> None:
        self.problems.append(Problem(key, shown or self.shown(key, value), allowed))
        self.wrong.add(key)

    def require(
        self, ok: bool, key: str, value: Any, allowed: str, uses: Iterable[str] = ()
    ) -> None:
        """Report ``key`` unless ``ok``; say nothing while ``key`` or a key it uses is wrong."""
        if ok or any(self.is_wrong(k) for k in (key, *uses)):
            return
        self.add(key, value, allowed)


# --- Pass 1: shape (pydantic), in the user's words.


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
    model: Any = _RawConfig
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


# --- Pass 2: each field's own bounds and format.


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


# --- Pass 3: rules across keys.


def _is_system_namespace(namespace: str) -> bool:
    return namespace == "default" or namespace.startswith("kube-")


def _rule_problems(
    raw: _RawConfig, stack: str, report: _Report, secret_keys: Collection[str], project: Path
) -> None:
    """Rules that span several keys; each one names the key a user should change."""
    require = report.require
    prod = raw.environment == "prod"
    env = ("environment",)

    require(
        stack != "prod" or prod,
        "environment",
        raw.environment,
        "'prod' in the stack named prod: its production rules cannot be switched off",
    )
    require(
        raw.allow_system_namespace or not _is_system_namespace(raw.namespace),
        "namespace",
        raw.namespace,
        "a namespace of your own: 'default' and kube-* belong to the cluster (set "
        "allowSystemNamespace: true only if you mean it)",
        uses=("allowSystemNamespace",),
    )
    min_replicas = 3 if (raw.tls or prod) else 1
    require(
        raw.replicas >= min_replicas,
        "replicas",
        raw.replicas,
        f"an integer >= {min_replicas} (3 or more with TLS or in prod, to survive a node failure)",
        uses=("tls", *env),
    )
    require(
        raw.replication_factor % 2 == 1,
        "replicationFactor",
        raw.replication_factor,
        "an odd integer (Raft needs a majority: 1, 3, 5 or 7)",
    )
    require(
        raw.replication_factor <= raw.replicas,
        "replicationFactor",
        raw.replication_factor,
        f"at most replicas ({raw.replicas}): each replica needs its own node",
        uses=("replicas",),
    )
    require(
        raw.tls or raw.allow_insecure,
        "tls",
        raw.tls,
        "true, unless allowInsecure is true to accept an unauthenticated, unencrypted cluster",
        uses=("allowInsecure",),
    )
    if prod:
        _production_problems(raw, report, secret_keys)

    res = raw.resources
    require(
        parse_quantity(res.memory_limit) >= parse_quantity(res.memory_request),
        "resources.memoryLimit",
        res.memory_limit,
        f">= resources.memoryRequest ({res.memory_request})",
        uses=("resources.memoryRequest",),
    )
    if res.cpu_limit is not None:
        require(
            parse_quantity(res.cpu_limit) >= parse_quantity(res.cpu_request),
            "resources.cpuLimit",
            res.cpu_limit,
            f">= resources.cpuRequest ({res.cpu_request}), or unset (recommended)",
            uses=("resources.cpuRequest",),
        )

    certs = raw.certificates
    require(
        certs.renew_before_days < certs.validity_days,
        "certificates.renewBeforeDays",
        certs.renew_before_days,
        f"fewer than certificates.validityDays ({certs.validity_days})",
        uses=("certificates.validityDays",),
    )
    require(
        certs.validity_days <= certs.ca_validity_days,
        "certificates.validityDays",
        certs.validity_days,
        f"at most certificates.caValidityDays ({certs.ca_validity_days}): a certificate "
        "never outlives the CA that signed it",
        uses=("certificates.caValidityDays",),
    )
    for section, peers in (
        ("networkPolicy.sqlClients", raw.network_policy.sql_clients),
        ("networkPolicy.metricsClients", raw.network_policy.metrics_clients),
    ):
        for index, peer in enumerate(peers):
            require(
                bool(peer.namespace_labels or peer.pod_labels),
                f"{section}.{index}",
                peer.model_dump(by_alias=True),
                "namespaceLabels and/or podLabels; an empty peer would admit every pod",
            )
    if raw.schema_.enabled:
        require(
            _has_migrations(project, raw.schema_.migrations_directory),
            "schema.migrationsDirectory",
            raw.schema_.migrations_directory,
            f"a directory of the project holding migrations ({MIGRATION_FILES}); "
            "set schema.enabled: false to apply none",
            uses=("schema.enabled",),
        )
    _day2_problems(raw, report)


def _has_migrations(project: Path, directory: str) -> bool:
    path = project / directory
    return path.is_dir() and any(path.glob(MIGRATION_FILES))


def _binary_quantity(size: Decimal) -> str:
    """Bytes as Gi when whole, else as Mi rounded up: the smallest value a rule accepts."""
    if size % 2**30 == 0:
        return f"{int(size // 2**30)}Gi"
    return f"{math.ceil(size / 2**20)}Mi"


def _production_problems(raw: _RawConfig, report: _Report, secret_keys: Collection[str]) -> None:
    """CockroachDB's production checklist and this project's prod rules."""
    require = report.require
    env = ("environment",)
    require(raw.tls, "tls", raw.tls, "true in prod: a production stack cannot be insecure", env)
    require(
        not raw.allow_insecure,
        "allowInsecure",
        raw.allow_insecure,
        "false in prod: a production stack cannot be insecure",
        env,
    )
    require(
        raw.replication_factor >= 3,
        "replicationFactor",
        raw.replication_factor,
        "3 or more in prod, so a node failure loses no quorum",
        env,
    )
    require(
        raw.network_policy.enabled,
        "networkPolicy.enabled",
        raw.network_policy.enabled,
        "true in prod: the SQL port is open only to listed clients",
        env,
    )
    require(
        raw.pod_security == "restricted",
        "podSecurity",
        raw.pod_security,
        "'restricted' in prod",
        env,
    )
    require(raw.protect, "protect", raw.protect, "true in prod: guard against deletion", env)
    require(
        raw.storage.storage_class is not None,
        "storage.storageClass",
        raw.storage.storage_class,
        "an SSD storage class name in prod (the cluster default may be slow disks)",
        env,
    )
    require(
        raw.termination_grace_period_seconds >= 300,
        "terminationGracePeriodSeconds",
        raw.termination_grace_period_seconds,
        ">= 300 in prod, so a node drains its leases and connections before it stops",
        env,
    )
    require(
        not raw.schema_.allow_drop,
        "schema.allowDrop",
        raw.schema_.allow_drop,
        "false in prod: destroying the stack never drops trading data",
        env,
    )
    require(
        raw.kubernetes.mode != "auto",
        "kubernetes.mode",
        raw.kubernetes.mode,
        "'cluster' or 'render' in prod, never a guess",
        env,
    )
    cpu = parse_quantity(raw.resources.cpu_request)
    require(
        cpu >= _PROD_MIN_CPU,
        "resources.cpuRequest",
        raw.resources.cpu_request,
        ">= 4 in prod: CockroachDB's production checklist asks for at least 4 vCPUs per node",
        env,
    )
    memory_floor = max(cpu, _PROD_MIN_CPU) * _PROD_MEMORY_PER_CPU
    require(
        parse_quantity(raw.resources.memory_request) >= memory_floor,
        "resources.memoryRequest",
        raw.resources.memory_request,
        f">= {_binary_quantity(memory_floor)} in prod: CockroachDB's production checklist asks "
        "for 4 GiB of RAM per vCPU (2 GiB is for testing only)",
        ("resources.cpuRequest", *env),
    )
    destination = raw.backup_destination
    if destination is not None:
        scheme = backup_scheme(destination)
        off_cluster = (
            "an off-cluster URI in prod (s3://, gs://, azure-blob://): nodelocal and "
            "userfile backups are lost with the nodes"
        )
        if scheme in ON_CLUSTER_SCHEMES and not report.is_wrong("environment"):
            report.add("backupDestination", destination, off_cluster)  # even if spaced oddly
        else:
            require(
                scheme in OFF_CLUSTER_SCHEMES, "backupDestination", destination, off_cluster, env
            )
        require(
            f"{NAMESPACE}:backupDestination" in secret_keys,
            "backupDestination",
            destination,
            "a secret in prod, as it may hold credentials: set it with `pulumi config set "
            "--secret openalgo:backupDestination ...`",
            env,
        )


def _day2_problems(raw: _RawConfig, report: _Report) -> None:
    """Backups, scaling: the rules that keep day-2 changes from losing data."""
    require = report.require
    backup = raw.backup
    prod = raw.environment == "prod"
    require(
        backup.enabled or not prod,
        "backup.enabled",
        backup.enabled,
        "true in prod: the trading data is backed up",
        ("environment",),
    )
    if backup.enabled and not raw.backup_destination and not report.is_wrong("backupDestination"):
        report.add(
            "backupDestination",
            None,
            "a backup URI when backup.enabled (set it with `pulumi config set --secret "
            "openalgo:backupDestination ...`)",
            shown="(unset)",
        )
    if not report.is_wrong("backup.fullSchedule"):
        try:
            period = full_backup_period_days(backup.full_schedule)
        except CronError:
            period = 0
        require(
            backup.retention_days >= 2 * period,
            "backup.retentionDays",
            backup.retention_days,
            f">= {2 * period}: two full backup periods of backup.fullSchedule "
            f"({backup.full_schedule!r} runs at least every {period} day{'s' * (period != 1)}), "
            "so a complete chain is kept",
            ("backup.fullSchedule",),
        )
    decommissioned = raw.scaling.decommissioned
    require(
        len(set(decommissioned)) == len(decommissioned)
        and all(ordinal >= raw.replicas for ordinal in decommissioned),
        "scaling.decommissioned",
        list(decommissioned),
        f"distinct ordinals >= replicas ({raw.replicas}): a decommissioned node "
        "cannot stay in the StatefulSet",
        ("replicas",),
    )


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
    try:
        raw = _RawConfig.model_validate(known)
    except ValidationError as error:
        _shape_problems(error, report)
        bad = {str(detail["loc"][0]) for detail in error.errors()}
        rest = {key: value for key, value in known.items() if key not in bad}
        if "environment" in bad:
            rest["environment"] = "dev"  # a stand-in: rules that use it are skipped
        report.wrong |= bad
        try:
            raw = _RawConfig.model_validate(rest)
        except ValidationError:
            raise ConfigError(report.problems) from None
    _field_problems(raw, report)
    _rule_problems(raw, stack, report, secret_keys, project or Path.cwd())
    if report.problems:
        raise ConfigError(report.problems)

    mode = raw.kubernetes.mode
    if mode == "auto":
        mode = "cluster" if kubeconfig_present else "render"
    return StackConfig(
        stack=stack,
        environment=raw.environment,
        namespace=raw.namespace,
        cluster_domain=raw.cluster_domain,
        image=raw.image,
        version=image_version(raw.image),
        replicas=raw.replicas,
        replication_factor=raw.replication_factor,
        tls=raw.tls,
        resources=raw.resources,
        storage=raw.storage,
        termination_grace_period_seconds=raw.termination_grace_period_seconds,
        liveness_probe=raw.liveness_probe,
        client_pod=raw.client_pod,
        network_policy=raw.network_policy,
        pod_security=raw.pod_security,
        protect=raw.protect,
        certificates=raw.certificates,
        kubernetes_mode=mode,
        render_directory=raw.kubernetes.render_directory or f"rendered/{stack}",
        kubernetes_context=raw.kubernetes.context,
        kubernetes_wait_timeout_s=raw.kubernetes.wait_timeout_seconds,
        schema=raw.schema_,
        admin_dsn=raw.admin_dsn,
        monitoring=raw.monitoring,
        backup=raw.backup,
        backup_destination=raw.backup_destination,
        upgrade=raw.upgrade,
        scaling=raw.scaling,
    )


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
