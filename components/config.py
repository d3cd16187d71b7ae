"""Per-stack configuration, read and validated once before any resource is declared.

The raw input is the flat map Pulumi hands a program (``openalgo:replicas`` -> ``"3"``); the
output is a frozen ``StackConfig``. Every problem is collected and reported together, each naming
the key, the bad value and what is allowed, so one failed preview shows everything to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import (
    AliasGenerator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel

from components.quantities import QUANTITY_HELP, parse_quantity

NAMESPACE = "openalgo"
DEFAULT_IMAGE = "cockroachdb/cockroach:v25.2.8"
SECRET_KEYS = frozenset({"adminDsn", "backupDestination"})

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PINNED_TAG = re.compile(r"^v(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)$")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_MIN_MEMORY = "2Gi"
_CRON = re.compile(r"^(@(hourly|daily|weekly|monthly|yearly|annually)|(\S+\s+){4}\S+)$")
_SCHEDULE_DAYS = {"@daily": 1, "@weekly": 7, "@monthly": 31, "@yearly": 366, "@annually": 366}


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel),
        extra="forbid",
        frozen=True,
        populate_by_name=True,
    )


def _quantity(value: str) -> str:
    try:
        parse_quantity(value)
    except ValueError:
        raise ValueError(f"must be {QUANTITY_HELP}") from None
    return value


class Resources(_Section):
    """Per-node compute. No CPU limit by default: CockroachDB throttled by CFS stalls latency."""

    cpu_request: str = "2"
    memory_request: str = "8Gi"
    memory_limit: str = "8Gi"
    cpu_limit: str | None = None

    _check_quantities = field_validator(
        "cpu_request", "memory_request", "memory_limit", "cpu_limit"
    )(lambda value: None if value is None else _quantity(value))


class Storage(_Section):
    size: str = "100Gi"
    storage_class: str | None = None

    _check_size = field_validator("size")(_quantity)


class Peer(_Section):
    """Pods allowed to reach a port: pods with these labels in namespaces with these labels."""

    namespace_labels: dict[str, str] = Field(default_factory=dict)
    pod_labels: dict[str, str] = Field(default_factory=dict)


class NetworkPolicy(_Section):
    enabled: bool = False
    sql_clients: tuple[Peer, ...] = ()
    metrics_clients: tuple[Peer, ...] = ()


class Certificates(_Section):
    """Validity windows; a `pulumi up` inside renew_before_days re-issues the certificate."""

    ca_validity_days: int = Field(default=3650, ge=1)
    validity_days: int = Field(default=365, ge=1)
    renew_before_days: int = Field(default=30, ge=1)


class KubernetesTarget(_Section):
    """Where manifests go: a cluster from kubeconfig, or YAML files in a directory.

    ``auto`` deploys when a kubeconfig is present and renders otherwise, so `pulumi up` on a
    laptop with no cluster still produces reviewable manifests.
    """

    mode: Literal["auto", "cluster", "render"] = "auto"
    render_directory: str | None = None
    context: str | None = None
    wait_timeout_seconds: int = Field(default=600, ge=30, le=3600)
    """Bound on waiting for the init Job, a ready pod and a rollout before `pulumi up` fails."""


class Schema(_Section):
    enabled: bool = True
    migrations_directory: str = "sql/migrations"
    allow_drop: bool = False


class Monitoring(_Section):
    """ServiceMonitor and PrometheusRule need the Prometheus Operator's CRDs: off by default."""

    prometheus_operator: bool = False
    grafana_dashboard: bool = True
    labels: dict[str, str] = Field(default_factory=dict)


class Backup(_Section):
    """Scheduled full + incremental backups of the database, to ``backupDestination``."""

    enabled: bool = False
    full_schedule: str = "@daily"
    incremental_schedule: str = "@hourly"
    retention_days: int = Field(default=30, ge=1)


class Upgrade(_Section):
    """``finalize: false`` keeps an upgrade reversible (cluster.preserve_downgrade_option)."""

    finalize: bool = False


class Scaling(_Section):
    """Ordinals confirmed decommissioned, which a scale-down may then remove."""

    decommissioned: tuple[int, ...] = ()
    release_volumes: bool = False


class _RawConfig(_Section):
    environment: Literal["dev", "staging", "prod"]
    namespace: str = "trading"
    cluster_domain: str = "cluster.local"
    image: str = DEFAULT_IMAGE
    replicas: int = 3
    replication_factor: int = 3
    tls: bool = True
    allow_insecure: bool = False
    resources: Resources = Resources()
    storage: Storage = Storage()
    termination_grace_period_seconds: int = 300
    liveness_probe: bool = False
    client_pod: bool = True
    network_policy: NetworkPolicy = NetworkPolicy()
    pod_security: Literal["privileged", "baseline", "restricted"] = "restricted"
    protect: bool = False
    certificates: Certificates = Certificates()
    kubernetes: KubernetesTarget = KubernetesTarget()
    schema_: Schema = Field(default=Schema(), alias="schema")
    admin_dsn: str | None = None
    monitoring: Monitoring = Monitoring()
    backup: Backup = Backup()
    backup_destination: str | None = None
    upgrade: Upgrade = Upgrade()
    scaling: Scaling = Scaling()


KNOWN_KEYS = frozenset(
    (field.alias or to_camel(name)) for name, field in _RawConfig.model_fields.items()
)


@dataclass(frozen=True)
class Problem:
    key: str
    value: str
    allowed: str

    def __str__(self) -> str:
        return f"{NAMESPACE}:{self.key} = {self.value}: {self.allowed}"


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


def _shown(key: str, value: Any) -> str:
    if key.split(".")[0] in SECRET_KEYS:
        return "[secret]"
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, default=str)


def _decode(raw: str) -> Any:
    """Objects and lists arrive as JSON text; scalars stay text for pydantic to coerce."""
    stripped = raw.strip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw
    return raw


def image_version(image: str) -> str | None:
    """The vMAJOR.MINOR.PATCH tag of an image reference, if it has one."""
    name = _DIGEST.sub("", image)
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
    return tag if _PINNED_TAG.match(tag) else None


def _pydantic_problems(error: ValidationError) -> list[Problem]:
    problems = []
    for detail in error.errors():
        key = ".".join(str(part) for part in detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = "unknown key"
        if detail["type"] == "missing":
            problems.append(Problem(key, "(unset)", "required"))
            continue
        problems.append(Problem(key, _shown(key, detail.get("input")), message))
    return problems


def _rule_problems(raw: _RawConfig) -> list[Problem]:
    """Rules that span several keys; each one names the key a user should change."""
    problems: list[Problem] = []
    prod = raw.environment == "prod"

    def require(ok: bool, key: str, value: Any, allowed: str) -> None:
        if not ok:
            problems.append(Problem(key, _shown(key, value), allowed))

    require(
        bool(_DNS_LABEL.match(raw.namespace)) and len(raw.namespace) <= 63,
        "namespace",
        raw.namespace,
        "a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters",
    )
    require(
        bool(_DNS_SUBDOMAIN.match(raw.cluster_domain)),
        "clusterDomain",
        raw.cluster_domain,
        "a DNS subdomain such as cluster.local",
    )
    require(
        image_version(raw.image) is not None or bool(_DIGEST.search(raw.image)),
        "image",
        raw.image,
        "an image pinned to a release tag (e.g. cockroachdb/cockroach:v25.2.8) or a sha256 "
        "digest; 'latest' and floating tags are refused",
    )

    min_replicas = 3 if (raw.tls or prod) else 1
    require(
        raw.replicas >= min_replicas,
        "replicas",
        raw.replicas,
        f"an integer >= {min_replicas}"
        + (
            " (3 or more with TLS or in prod, to survive a node failure)"
            if min_replicas > 1
            else ""
        ),
    )
    require(
        raw.replication_factor >= 1 and raw.replication_factor % 2 == 1,
        "replicationFactor",
        raw.replication_factor,
        "an odd integer >= 1 (Raft needs a majority: 1, 3, 5, ...)",
    )
    require(
        raw.replication_factor <= raw.replicas,
        "replicationFactor",
        raw.replication_factor,
        f"at most replicas ({raw.replicas}): each replica needs its own node",
    )
    require(
        raw.tls or raw.allow_insecure,
        "tls",
        raw.tls,
        "true, unless allowInsecure is true to accept an unauthenticated, unencrypted cluster",
    )
    if prod:
        require(raw.tls, "tls", raw.tls, "true in prod: a production stack cannot be insecure")
        require(
            not raw.allow_insecure,
            "allowInsecure",
            raw.allow_insecure,
            "false in prod: a production stack cannot be insecure",
        )
        require(
            raw.replication_factor >= 3,
            "replicationFactor",
            raw.replication_factor,
            "3 or more in prod, so a node failure loses no quorum",
        )
        require(
            raw.network_policy.enabled,
            "networkPolicy.enabled",
            raw.network_policy.enabled,
            "true in prod: the SQL port is open only to listed clients",
        )
        require(
            raw.pod_security == "restricted",
            "podSecurity",
            raw.pod_security,
            "'restricted' in prod",
        )
        require(raw.protect, "protect", raw.protect, "true in prod: guard against deletion")
        require(
            raw.storage.storage_class is not None,
            "storage.storageClass",
            raw.storage.storage_class,
            "an SSD storage class name in prod (the cluster default may be slow disks)",
        )
        require(
            raw.termination_grace_period_seconds >= 300,
            "terminationGracePeriodSeconds",
            raw.termination_grace_period_seconds,
            ">= 300 in prod, so a node drains its leases and connections before it stops",
        )
        require(
            not raw.schema_.allow_drop,
            "schema.allowDrop",
            raw.schema_.allow_drop,
            "false in prod: destroying the stack never drops trading data",
        )
        require(
            raw.kubernetes.mode != "auto",
            "kubernetes.mode",
            raw.kubernetes.mode,
            "'cluster' or 'render' in prod, never a guess",
        )
    require(
        raw.termination_grace_period_seconds >= 60,
        "terminationGracePeriodSeconds",
        raw.termination_grace_period_seconds,
        "an integer >= 60, so a node can drain before it is killed",
    )

    res = raw.resources
    memory_limit = parse_quantity(res.memory_limit)
    require(
        memory_limit >= parse_quantity(res.memory_request),
        "resources.memoryLimit",
        res.memory_limit,
        f">= resources.memoryRequest ({res.memory_request})",
    )
    require(
        memory_limit >= parse_quantity(_MIN_MEMORY),
        "resources.memoryLimit",
        res.memory_limit,
        f">= {_MIN_MEMORY}: CockroachDB needs that much per node",
    )
    require(
        parse_quantity(res.cpu_request) > 0,
        "resources.cpuRequest",
        res.cpu_request,
        "more than 0 cores",
    )
    if res.cpu_limit is not None:
        require(
            parse_quantity(res.cpu_limit) >= parse_quantity(res.cpu_request),
            "resources.cpuLimit",
            res.cpu_limit,
            f">= resources.cpuRequest ({res.cpu_request}), or unset (recommended)",
        )
    require(
        parse_quantity(raw.storage.size) >= parse_quantity("1Gi"),
        "storage.size",
        raw.storage.size,
        ">= 1Gi",
    )
    if raw.storage.storage_class is not None:
        require(
            bool(_DNS_SUBDOMAIN.match(raw.storage.storage_class)),
            "storage.storageClass",
            raw.storage.storage_class,
            "a storage class name (DNS subdomain)",
        )

    problems += _day2_problems(raw)

    certs = raw.certificates
    require(
        certs.renew_before_days < certs.validity_days,
        "certificates.renewBeforeDays",
        certs.renew_before_days,
        f"fewer than certificates.validityDays ({certs.validity_days})",
    )
    require(
        certs.validity_days <= certs.ca_validity_days,
        "certificates.validityDays",
        certs.validity_days,
        f"at most certificates.caValidityDays ({certs.ca_validity_days})",
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
    return problems


def _day2_problems(raw: _RawConfig) -> list[Problem]:
    """Backups, scaling: the rules that keep day-2 changes from losing data."""
    problems: list[Problem] = []
    backup = raw.backup
    prod = raw.environment == "prod"
    if prod and not backup.enabled:
        problems.append(
            Problem("backup.enabled", "false", "true in prod: the trading data is backed up")
        )
    if backup.enabled and not raw.backup_destination:
        problems.append(
            Problem(
                "backupDestination",
                "(unset)",
                "a backup URI when backup.enabled (set it with `pulumi config set --secret "
                "openalgo:backupDestination ...`)",
            )
        )
    if prod and (raw.backup_destination or "").startswith("nodelocal://"):
        problems.append(
            Problem(
                "backupDestination",
                "[secret]",
                "an off-cluster URI in prod (s3://, gs://, azure-blob://): nodelocal backups "
                "are lost with the nodes",
            )
        )
    for key, schedule in (
        ("backup.fullSchedule", backup.full_schedule),
        ("backup.incrementalSchedule", backup.incremental_schedule),
    ):
        if not _CRON.match(schedule.strip()):
            problems.append(
                Problem(key, repr(schedule), "a cron expression or @hourly/@daily/@weekly")
            )
    full_days = _SCHEDULE_DAYS.get(backup.full_schedule.strip())
    if full_days and backup.retention_days < 2 * full_days:
        problems.append(
            Problem(
                "backup.retentionDays",
                str(backup.retention_days),
                f">= {2 * full_days} (two full backup periods), so a complete chain is kept",
            )
        )
    decommissioned = raw.scaling.decommissioned
    if len(set(decommissioned)) != len(decommissioned) or any(
        ordinal < raw.replicas for ordinal in decommissioned
    ):
        problems.append(
            Problem(
                "scaling.decommissioned",
                json.dumps(list(decommissioned)),
                f"distinct ordinals >= replicas ({raw.replicas}): a decommissioned node "
                "cannot stay in the StatefulSet",
            )
        )
    return problems


def _field_and_rule_problems(error: ValidationError, known: Mapping[str, Any]) -> list[Problem]:
    """Field errors, plus the cross-key rules that can still be judged without the bad keys."""
    problems = _pydantic_problems(error)
    bad = {str(detail["loc"][0]) for detail in error.errors()}
    try:
        rest = _RawConfig.model_validate({k: v for k, v in known.items() if k not in bad})
    except ValidationError:
        return problems
    return problems + [p for p in _rule_problems(rest) if p.key.split(".")[0] not in bad]


def _unknown_key_problems(keys: Iterable[str]) -> list[Problem]:
    allowed = ", ".join(sorted(KNOWN_KEYS))
    return [
        Problem(key, "(set)", f"unknown key; known keys are: {allowed}")
        for key in sorted(set(keys) - KNOWN_KEYS)
    ]


def load_stack_config(
    stack: str, values: Mapping[str, str], *, kubeconfig_present: bool
) -> StackConfig:
    """Validate a stack's ``openalgo:*`` config; raise ConfigError listing every problem.

    ``values`` is Pulumi's flat config map; keys of other namespaces are ignored.
    """
    ours = {
        key.split(":", 1)[1]: _decode(value)
        for key, value in values.items()
        if key.startswith(f"{NAMESPACE}:")
    }
    problems = _unknown_key_problems(ours)
    known = {key: value for key, value in ours.items() if key in KNOWN_KEYS}
    try:
        raw = _RawConfig.model_validate(known)
    except ValidationError as error:
        raise ConfigError(problems + _field_and_rule_problems(error, known)) from None
    problems += _rule_problems(raw)
    if problems:
        raise ConfigError(problems)

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
    "QUANTITY_HELP",
    "ConfigError",
    "Problem",
    "StackConfig",
    "load_stack_config",
]
