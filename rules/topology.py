"""Names, addresses and sizes derived from the stack config.

Everything here is a pure function so the rules CockroachDB depends on (stable join addresses,
certificate SANs, memory headroom) are tested directly, without Pulumi.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import quote

from rules.quantities import mebibytes, parse_quantity

JOIN_PEERS = 3
"""CockroachDB's guidance: list three to five nodes in --join; the first three ordinals suffice."""

MEMORY_BUDGET = 0.80
"""Share of the memory limit that 2 x --max-sql-memory + --cache may take; the rest is Go heap."""

CACHE_SHARE = 0.25
SQL_MEMORY_SHARE = 0.25


def service_fqdn(service: str, namespace: str, cluster_domain: str) -> str:
    return f"{service}.{namespace}.svc.{cluster_domain}"


def pod_fqdn(statefulset: str, ordinal: int, headless: str, namespace: str, domain: str) -> str:
    return f"{statefulset}-{ordinal}.{service_fqdn(headless, namespace, domain)}"


def join_addresses(
    statefulset: str, replicas: int, headless: str, namespace: str, domain: str, port: int
) -> list[str]:
    """The --join list: the first pods by stable DNS name, never more pods than exist."""
    return [
        f"{pod_fqdn(statefulset, ordinal, headless, namespace, domain)}:{port}"
        for ordinal in range(min(replicas, JOIN_PEERS))
    ]


def service_dns_forms(service: str, namespace: str, cluster_domain: str) -> list[str]:
    """Every name a client in the cluster may use for a service."""
    return [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        service_fqdn(service, namespace, cluster_domain),
    ]


def node_certificate_sans(
    public_service: str, headless_service: str, namespace: str, cluster_domain: str
) -> list[str]:
    """DNS SANs of the node certificate: every form of both services plus a wildcard per pod."""
    names = ["localhost", "node"]
    names += service_dns_forms(public_service, namespace, cluster_domain)
    names += service_dns_forms(headless_service, namespace, cluster_domain)
    names.append(f"*.{service_fqdn(headless_service, namespace, cluster_domain)}")
    names.append(f"*.{headless_service}.{namespace}")
    names.append(f"*.{headless_service}")
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class MemorySplit:
    """--cache and --max-sql-memory in MiB, within MEMORY_BUDGET of the memory limit."""

    cache_mib: int
    max_sql_memory_mib: int

    @property
    def cache_flag(self) -> str:
        return f"--cache={self.cache_mib}MiB"

    @property
    def max_sql_memory_flag(self) -> str:
        return f"--max-sql-memory={self.max_sql_memory_mib}MiB"


def memory_split(memory_limit: str) -> MemorySplit:
    """Split the memory limit between the storage cache and SQL memory.

    A quarter each (CockroachDB's production advice); 2 x SQL + cache then uses 75% of the
    limit, inside the 80% that leaves room for the Go runtime before the OOM killer acts.
    """
    limit_mib = mebibytes(memory_limit)
    return MemorySplit(
        cache_mib=math.floor(limit_mib * CACHE_SHARE),
        max_sql_memory_mib=math.floor(limit_mib * SQL_MEMORY_SHARE),
    )


def gomaxprocs(cpu_request: str, cpu_limit: str | None) -> int:
    """Go scheduler threads: the CPU limit when set, otherwise the request, rounded up, at least 1.

    Without it Go sizes itself to the node's cores and the container is throttled.
    """
    cores = parse_quantity(cpu_limit if cpu_limit else cpu_request)
    return max(1, math.ceil(cores))


def connection_string(host: str, port: int, database: str, user: str, password: str | None) -> str:
    """libpq URL for the application; verify-full under TLS, plain only without a password."""
    if password is None:
        return f"postgresql://{quote(user)}@{host}:{port}/{database}?sslmode=disable"
    return (
        f"postgresql://{quote(user)}:{quote(password, safe='')}@{host}:{port}/{database}"
        "?sslmode=verify-full&sslrootcert=ca.crt"
    )


def admin_dsn_in_cluster(host: str, port: int, tls: bool) -> str:
    """root over the public Service: reachable when `pulumi up` runs inside the cluster."""
    mode = "verify-full" if tls else "disable"
    return f"postgresql://root@{host}:{port}/defaultdb?sslmode={mode}"
