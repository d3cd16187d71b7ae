"""The cluster's private CA and the node and client certificates CockroachDB authenticates with.

Each certificate carries ``early_renewal_hours``: a routine `pulumi up` inside that window
re-issues it, so certificates are renewed before anything breaks, never after.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from rules.config import Certificates as CertificatePolicy
from rules.names import (
    APP_CLIENT_CERTS_SECRET,
    APP_USER,
    CA_SECRET,
    HEADLESS_SERVICE,
    NODE_CERTS_SECRET,
    OPERATOR_CLIENT_CERTS_SECRET,
    OPERATOR_USER,
    PUBLIC_SERVICE,
    ROOT_CLIENT_CERTS_SECRET,
    ROOT_USER,
    standard_labels,
)
from rules.topology import node_certificate_sans

HOURS_PER_DAY = 24
NODE_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"]
CLIENT_USES = ["digital_signature", "key_encipherment", "client_auth"]
CA_USES = ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"]
ORGANIZATION = "Cockroach"


def client_secret_keys(user: str) -> tuple[str, str]:
    """File names CockroachDB looks up in --certs-dir for a SQL user's client certificate."""
    return f"client.{user}.crt", f"client.{user}.key"


@dataclass(frozen=True)
class IssuedCertificate:
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]


@dataclass(frozen=True)
class ClusterCertificatesArgs:
    namespace: pulumi.Input[str]
    namespace_name: str
    cluster_domain: str
    policy: CertificatePolicy


class ClusterCertificates(pulumi.ComponentResource):
    """CA, node certificate and client certificates for root, the application user and the
    operator role, stored as Secrets whose keys are the file names CockroachDB expects."""

    ca_cert_pem: pulumi.Output[str]
    node_certificate_sha256: pulumi.Output[str]
    root_client: IssuedCertificate
    app_client: IssuedCertificate

    def __init__(
        self, name: str, args: ClusterCertificatesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:cockroachdb:Certificates", name, None, opts)
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        policy = args.policy

        ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm="RSA", rsa_bits=2048, opts=child)
        ca_cert = tls.SelfSignedCert(
            f"{name}-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(
                common_name="Cockroach CA", organization=ORGANIZATION
            ),
            allowed_uses=CA_USES,
            validity_period_hours=policy.ca_validity_days * HOURS_PER_DAY,
            early_renewal_hours=policy.renew_before_days * HOURS_PER_DAY,
            opts=child,
        )
        self.ca_cert_pem = ca_cert.cert_pem
        self._ca_key_pem = ca_key.private_key_pem

        node = self._issue(
            f"{name}-node",
            common_name="node",
            dns_names=node_certificate_sans(
                PUBLIC_SERVICE, HEADLESS_SERVICE, args.namespace_name, args.cluster_domain
            ),
            ip_addresses=["127.0.0.1"],
            uses=NODE_USES,
        )
        self.node_certificate_sha256 = pulumi.Output.all(self.ca_cert_pem, node.cert_pem).apply(
            lambda pems: hashlib.sha256("".join(pems).encode()).hexdigest()
        )
        self.root_client = self._issue(f"{name}-client-root", common_name=ROOT_USER)
        self.app_client = self._issue(f"{name}-client-{APP_USER}", common_name=APP_USER)
        operator = self._issue(f"{name}-client-operator", common_name=OPERATOR_USER)

        self._store(NODE_CERTS_SECRET, {"node.crt": node.cert_pem, "node.key": node.key_pem})
        self._store(CA_SECRET, {})
        self._store_client(ROOT_CLIENT_CERTS_SECRET, ROOT_USER, self.root_client)
        self._store_client(APP_CLIENT_CERTS_SECRET, APP_USER, self.app_client)
        self._store_client(OPERATOR_CLIENT_CERTS_SECRET, OPERATOR_USER, operator)
        self.register_outputs(
            {
                "caCertPem": self.ca_cert_pem,
                "nodeCertsSecret": NODE_CERTS_SECRET,
                "rootClientCertsSecret": ROOT_CLIENT_CERTS_SECRET,
                "appClientCertsSecret": APP_CLIENT_CERTS_SECRET,
                "operatorClientCertsSecret": OPERATOR_CLIENT_CERTS_SECRET,
                "caSecret": CA_SECRET,
            }
        )

    def _issue(
        self,
        name: str,
        *,
        common_name: str,
        dns_names: list[str] | None = None,
        ip_addresses: list[str] | None = None,
        uses: list[str] = CLIENT_USES,
    ) -> IssuedCertificate:
        child = pulumi.ResourceOptions(parent=self)
        key = tls.PrivateKey(f"{name}-key", algorithm="RSA", rsa_bits=2048, opts=child)
        request = tls.CertRequest(
            f"{name}-csr",
            private_key_pem=key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=common_name, organization=ORGANIZATION),
            dns_names=dns_names,
            ip_addresses=ip_addresses,
            opts=child,
        )
        cert = tls.LocallySignedCert(
            name,
            cert_request_pem=request.cert_request_pem,
            ca_cert_pem=self.ca_cert_pem,
            ca_private_key_pem=self._ca_key_pem,
            allowed_uses=uses,
            validity_period_hours=self._args.policy.validity_days * HOURS_PER_DAY,
            early_renewal_hours=self._args.policy.renew_before_days * HOURS_PER_DAY,
            opts=child,
        )
        return IssuedCertificate(cert_pem=cert.cert_pem, key_pem=key.private_key_pem)

    def _store_client(self, secret: str, user: str, issued: IssuedCertificate) -> None:
        cert_file, key_file = client_secret_keys(user)
        self._store(secret, {cert_file: issued.cert_pem, key_file: issued.key_pem})

    def _store(self, secret: str, files: dict[str, pulumi.Output[str]]) -> None:
        k8s.core.v1.Secret(
            secret,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=secret,
                namespace=self._args.namespace,
                labels=standard_labels("certificates"),
            ),
            type="Opaque",
            string_data={"ca.crt": self.ca_cert_pem, **files},
            opts=pulumi.ResourceOptions(parent=self),
        )
