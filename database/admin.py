"""An admin connection to the cluster from inside a dynamic provider method.

Credentials arrive as (secret) provider inputs: a DSN and, under TLS, the CA and root's client
certificate and key. The PEMs exist on disk only while the method runs, 0600 in a private
directory, and every error shows the DSN only through database.redaction.

The route to the server (``admin_route``): a DSN the operator configured is used as it is.
Otherwise the DSN names the public Service, which resolves inside the cluster only: in a pod it
is used as it is, anywhere else the connection goes through a port-forward to a ready pod
(``kube.tunnel``). libpq then dials the tunnel (``hostaddr``) but still checks the
server certificate against the Service's name (``host``), so TLS verification is unchanged and
the node certificate needs no extra name.

What travels (``AdminAccess``): the program describes the admin access once, as one value, and
every resource that speaks SQL receives it as the same provider inputs (``ADMIN_KEYS``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from database.connect import ConnectError, connect
from database.redaction import dsn_problem, redact_dsn
from kube.access import ClusterNotReadyError, KubeAccess, inside_cluster

if TYPE_CHECKING:
    import pulumi

ADMIN_SECRET_KEYS = ("admin_dsn", "ca_cert", "client_cert", "client_key")
ADMIN_KEYS = (*ADMIN_SECRET_KEYS, "kube_access")
"""The provider inputs of the admin access; their names are those existing state holds."""


@dataclass(frozen=True)
class AdminAccess:
    """How a provider reaches the cluster as an admin: a DSN, under TLS the CA and root's client
    certificate and key, and where the pods are when the DSN names the in-cluster Service (None:
    the DSN is used as it is)."""

    dsn: pulumi.Input[str] | None
    ca_cert: pulumi.Input[str] | None = None
    client_cert: pulumi.Input[str] | None = None
    client_key: pulumi.Input[str] | None = None
    kube_access: KubeAccess | None = None

    def inputs(self) -> dict[str, Any]:
        """The provider inputs, plain: the provider base marks ``ADMIN_SECRET_KEYS`` secret."""
        return {
            "admin_dsn": self.dsn,
            "ca_cert": self.ca_cert,
            "client_cert": self.client_cert,
            "client_key": self.client_key,
            "kube_access": None if self.kube_access is None else self.kube_access.to_input(),
        }


class AdminConnectionError(Exception):
    """The cluster could not be reached; the message holds no secret."""


@contextlib.contextmanager
def tls_files(
    ca_cert: str | None, client_cert: str | None, client_key: str | None
) -> Iterator[dict[str, str]]:
    """libpq options pointing at the given PEMs, written 0600 into a private temporary directory
    that is removed when the block ends."""
    pems = {"sslrootcert": ca_cert, "sslcert": client_cert, "sslkey": client_key}
    if not any(pems.values()):
        yield {}
        return
    directory = tempfile.mkdtemp(prefix="openalgo-schema-")
    try:
        options: dict[str, str] = {}
        for option, pem in pems.items():
            if not pem:
                continue
            path = os.path.join(directory, f"{option}.pem")
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(pem)
            options[option] = path
        yield options
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def connect_options(dsn: str, tls: dict[str, str]) -> dict[str, str]:
    """TLS file options, plus verify-full when a CA is given and the DSN names no sslmode."""
    options = dict(tls)
    if tls.get("sslrootcert"):
        try:
            has_mode = "sslmode" in conninfo_to_dict(dsn)
        except Exception:  # an unparsable DSN is reported by the connect call, redacted
            has_mode = True
        if not has_mode:
            options["sslmode"] = "verify-full"
    return options


def optional_str(props: Mapping[str, Any], key: str) -> str | None:
    value = props.get(key)
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Route:
    """libpq options that send the connection along the chosen path, and its name for errors."""

    options: dict[str, str]
    via: str


@contextlib.contextmanager
def admin_route(props: Mapping[str, Any]) -> Iterator[Route]:
    """The path to the server for ``props["kube_access"]`` (see the module docstring)."""
    access = KubeAccess.from_input(props.get("kube_access"))
    if access is None:
        yield Route({}, "the configured DSN")
        return
    if inside_cluster():
        yield Route({}, "the Service's DNS name (inside the cluster)")
        return
    from kube.tunnel import port_forward

    try:
        with port_forward(access) as tunnel:
            yield Route({"hostaddr": tunnel.host, "port": str(tunnel.port)}, tunnel.describe())
    except ClusterNotReadyError as error:
        raise AdminConnectionError(str(error)) from None


@dataclass(frozen=True)
class AdminEndpoint:
    """The admin DSN and the libpq options that reach the server with it (TLS files, route)."""

    dsn: str
    options: dict[str, str]
    via: str


@contextlib.contextmanager
def admin_endpoint(props: Mapping[str, Any]) -> Iterator[AdminEndpoint]:
    """``ADMIN_KEYS`` of ``props`` made usable: route open and PEMs on disk while the block runs."""
    dsn = optional_str(props, "admin_dsn")
    if dsn is None:
        raise AdminConnectionError("admin_dsn: an admin DSN is required")
    with (
        admin_route(props) as route,
        tls_files(
            optional_str(props, "ca_cert"),
            optional_str(props, "client_cert"),
            optional_str(props, "client_key"),
        ) as tls,
    ):
        yield AdminEndpoint(dsn, {**connect_options(dsn, tls), **route.options}, route.via)


@contextlib.contextmanager
def admin_connection(props: Mapping[str, Any]) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection through ``admin_endpoint``; the DSN is checked first."""
    dsn = optional_str(props, "admin_dsn")
    problem = dsn_problem(dsn) if dsn is not None else None
    if dsn is not None and problem is not None:
        raise AdminConnectionError(f"admin_dsn {redact_dsn(dsn)} is not valid: {problem}")
    with admin_endpoint(props) as endpoint:
        try:
            connection = connect(endpoint.dsn, endpoint.options, through=endpoint.via)
        except ConnectError as error:
            raise AdminConnectionError(str(error)) from None
        with connection:
            yield connection


def is_cockroachdb(connection: psycopg.Connection[Any]) -> bool:
    row = connection.execute("SELECT version()").fetchone()
    return row is not None and "CockroachDB" in str(row[0])
