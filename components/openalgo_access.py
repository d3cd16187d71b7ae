"""What the OpenAlgo application needs to run on this database, in its own namespace.

A Secret holding OpenAlgo's five SQLAlchemy database URLs (the environment variables its
`.sample.env` names), ready for `envFrom`, and under TLS a second Secret holding only the
cluster CA certificate (no key), to mount where the URLs' `sslrootcert` points. The URLs use the
`sqlalchemy-cockroachdb` dialect and `sslmode=verify-full`. The namespace is created here but
never deleted by `pulumi destroy` (OpenAlgo's own workloads live in it); its Pod Security level
is left to whoever deploys OpenAlgo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from migrator.app_databases import URL_SCHEME, AppDatabases, app_database_urls, tls_query
from rules.names import (
    CA_SECRET,
    OPENALGO_CA_MOUNT_DIR,
    OPENALGO_URLS_SECRET,
    standard_labels,
)

CA_FILE = f"{OPENALGO_CA_MOUNT_DIR}/ca.crt"


@dataclass(frozen=True)
class OpenAlgoAccessArgs:
    """namespace: OpenAlgo's namespace. host/port: the public Service, as pods reach it.
    password: the application role's (None on an insecure cluster). ca_cert: the cluster CA
    (None on an insecure cluster). protect: the namespace is protected (prod)."""

    namespace: str
    databases: AppDatabases
    user: str
    host: str
    port: int
    password: pulumi.Input[str] | None = None
    ca_cert: pulumi.Input[str] | None = None
    protect: bool = False


def database_urls(args: OpenAlgoAccessArgs, password: str | None) -> dict[str, str]:
    """The five URLs; verify-full against the mounted CA when the cluster runs TLS."""
    query = tls_query(CA_FILE) if args.ca_cert is not None else {"sslmode": "disable"}
    return app_database_urls(
        args.databases,
        user=args.user,
        password=password,
        host=args.host,
        port=args.port,
        scheme=URL_SCHEME,
        query=query,
    )


class OpenAlgoAccess(pulumi.ComponentResource):
    """OpenAlgo's namespace, its database URLs as a Secret, and the CA it verifies against."""

    urls: pulumi.Output[Mapping[str, str]]
    namespace: str

    def __init__(
        self, name: str, args: OpenAlgoAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:openalgo:DatabaseAccess", name, None, opts)
        labels = standard_labels("openalgo-access")
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace, labels=labels),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=True),
        )
        self.namespace = args.namespace
        self.urls = pulumi.Output.secret(
            pulumi.Output.from_input(args.password).apply(
                lambda password: database_urls(args, password)
            )
        )
        k8s.core.v1.Secret(
            f"{name}-urls",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=OPENALGO_URLS_SECRET, namespace=namespace.metadata.name, labels=labels
            ),
            type="Opaque",
            string_data=self.urls,
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.ca_cert is not None:
            k8s.core.v1.Secret(
                f"{name}-ca",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=CA_SECRET, namespace=namespace.metadata.name, labels=labels
                ),
                type="Opaque",
                string_data={"ca.crt": args.ca_cert},
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"namespace": args.namespace, "urls": self.urls})
