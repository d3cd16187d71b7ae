"""Days to expiry of the cluster's certificates, from a certs directory, PEM files or Secrets.

Sources are what operators have at hand: a ``--certs-dir`` like CockroachDB's
(``ca.crt``, ``node.crt``, ``client.<user>.crt``), single PEM files, or a Secret as
``kubectl get secret -o json`` prints it. Only ``*.crt`` entries are read; keys never are.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from operations.tables import render_table
from operations.x509 import CertificateFormatError, pem_certificates, read_certificate

DEFAULT_WARN_DAYS = 30
CERT_SUFFIX = ".crt"
SECONDS_PER_DAY = 86400


class CertificateSourceError(Exception):
    """A source that cannot be read or holds no certificate; the message names it."""


class ExpiryState(enum.Enum):
    OK = "ok"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    NOT_YET_VALID = "not yet valid"


@dataclass(frozen=True)
class FoundCertificate:
    source: str
    common_name: str | None
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True)
class Expiry:
    certificate: FoundCertificate
    days_left: int
    state: ExpiryState

    def as_dict(self) -> dict[str, Any]:
        cert = self.certificate
        return {
            "source": cert.source,
            "common_name": cert.common_name,
            "not_before": cert.not_before.isoformat(),
            "not_after": cert.not_after.isoformat(),
            "days_left": self.days_left,
            "state": self.state.value,
        }


def certificates_in_pem(text: str, source: str) -> list[FoundCertificate]:
    """Every certificate in a PEM text; a bundle such as a rotated ca.crt holds several."""
    try:
        blocks = pem_certificates(text)
        validities = [read_certificate(der) for der in blocks]
    except CertificateFormatError as exc:
        raise CertificateSourceError(f"{source}: {exc}") from None
    if not validities:
        raise CertificateSourceError(f"{source}: no PEM CERTIFICATE block")
    several = len(validities) > 1
    return [
        FoundCertificate(
            f"{source}[{i}]" if several else source, v.common_name, v.not_before, v.not_after
        )
        for i, v in enumerate(validities)
    ]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise CertificateSourceError(f"{path}: cannot read: {exc.strerror}") from None


def certificates_in_file(path: Path) -> list[FoundCertificate]:
    return certificates_in_pem(_read_text(path), str(path))


def certificates_in_directory(directory: Path) -> list[FoundCertificate]:
    """``*.crt`` files of a certs directory, by name."""
    if not directory.is_dir():
        raise CertificateSourceError(f"{directory}: not a directory")
    files = sorted(directory.glob(f"*{CERT_SUFFIX}"))
    if not files:
        raise CertificateSourceError(f"{directory}: no *{CERT_SUFFIX} files")
    return [found for path in files for found in certificates_in_file(path)]


def certificates_in_secret(document: Mapping[str, Any], source: str) -> list[FoundCertificate]:
    """``*.crt`` entries of a Kubernetes Secret object (``data`` base64, or ``stringData``)."""
    if document.get("kind") != "Secret":
        raise CertificateSourceError(f"{source}: not a Kubernetes Secret (kind is not 'Secret')")
    name = str(document.get("metadata", {}).get("name", source))
    entries: dict[str, str] = {}
    for key, value in (document.get("data") or {}).items():
        if key.endswith(CERT_SUFFIX):
            try:
                entries[key] = base64.b64decode(str(value), validate=True).decode("ascii")
            except (binascii.Error, UnicodeDecodeError):
                raise CertificateSourceError(
                    f"{source}: data.{key} is not base64 of a PEM text"
                ) from None
    for key, value in (document.get("stringData") or {}).items():
        if key.endswith(CERT_SUFFIX):
            entries[key] = str(value)
    if not entries:
        raise CertificateSourceError(f"{source}: Secret {name} has no *{CERT_SUFFIX} entry")
    return [
        found
        for key in sorted(entries)
        for found in certificates_in_pem(entries[key], f"secret/{name}:{key}")
    ]


def certificates_in_secret_file(text: str, source: str) -> list[FoundCertificate]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CertificateSourceError(
            f"{source}: not JSON ({exc.msg}); "
            "save the Secret with `kubectl get secret NAME -o json`"
        ) from None
    if not isinstance(document, dict):
        raise CertificateSourceError(f"{source}: not a Kubernetes Secret object")
    return certificates_in_secret(document, source)


def expiry(certificate: FoundCertificate, now: datetime, warn_days: int) -> Expiry:
    """Whole days left (rounded down) and whether that is inside the warning window."""
    remaining = certificate.not_after - now
    if remaining <= timedelta(0):
        state = ExpiryState.EXPIRED
    elif now < certificate.not_before:
        state = ExpiryState.NOT_YET_VALID
    elif remaining < timedelta(days=warn_days):
        state = ExpiryState.EXPIRING
    else:
        state = ExpiryState.OK
    return Expiry(certificate, int(remaining.total_seconds() // SECONDS_PER_DAY), state)


def assess_certificates(
    certificates: Iterable[FoundCertificate], now: datetime, warn_days: int = DEFAULT_WARN_DAYS
) -> list[Expiry]:
    """Soonest expiry first, so the table starts with what needs attention."""
    expiries = [expiry(cert, now, warn_days) for cert in certificates]
    return sorted(expiries, key=lambda e: (e.certificate.not_after, e.certificate.source))


def needs_attention(expiries: Iterable[Expiry]) -> bool:
    return any(e.state is not ExpiryState.OK for e in expiries)


def render_expiries(expiries: list[Expiry], warn_days: int) -> str:
    rows = [
        [
            e.certificate.source,
            e.certificate.common_name or "-",
            e.certificate.not_after.strftime("%Y-%m-%d %H:%M UTC"),
            str(e.days_left),
            e.state.value,
        ]
        for e in expiries
    ]
    attention = [e for e in expiries if e.state is not ExpiryState.OK]
    verdict = (
        f"{len(attention)} of {len(expiries)} certificates need attention "
        f"(warning window {warn_days} days)"
        if attention
        else f"all {len(expiries)} certificates valid for at least {warn_days} more days"
    )
    headers = ["CERTIFICATE", "SUBJECT CN", "EXPIRES", "DAYS LEFT", "STATE"]
    return f"{render_table(headers, rows)}\n{verdict}"
