"""The validity window and subject common name of X.509 certificates, from PEM or DER.

Only what an expiry check needs is decoded: the DER structure of the to-be-signed part
(RFC 5280 section 4.1) down to ``validity`` and ``subject``. Signatures are not verified;
this reads certificates an operator already trusts, to tell when they run out.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

_SEQUENCE = 0x30
_SET = 0x31
_INTEGER = 0x02
_OID = 0x06
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18
_EXPLICIT_VERSION = 0xA0
_BMP_STRING = 0x1E
_COMMON_NAME_OID = bytes((0x55, 0x04, 0x03))
_PEM_BLOCK = re.compile(
    r"-----BEGIN CERTIFICATE-----(?P<body>[A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----"
)


class CertificateFormatError(ValueError):
    """The bytes are not a certificate this reader understands."""


@dataclass(frozen=True)
class CertificateValidity:
    common_name: str | None
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True)
class _Element:
    tag: int
    start: int
    end: int


def pem_certificates(text: str) -> list[bytes]:
    """DER bytes of every CERTIFICATE block in ``text``, in order (keys are never matched)."""
    blocks = []
    for match in _PEM_BLOCK.finditer(text):
        try:
            blocks.append(base64.b64decode("".join(match["body"].split()), validate=True))
        except binascii.Error as exc:
            raise CertificateFormatError(f"bad base64 in a CERTIFICATE block: {exc}") from None
    return blocks


def _element(data: bytes, offset: int) -> _Element:
    if offset + 2 > len(data):
        raise CertificateFormatError("truncated DER element")
    tag, length = data[offset], data[offset + 1]
    start = offset + 2
    if length & 0x80:
        size = length & 0x7F
        if size == 0 or size > 4 or start + size > len(data):
            raise CertificateFormatError("unsupported DER length")
        length = int.from_bytes(data[start : start + size], "big")
        start += size
    end = start + length
    if end > len(data):
        raise CertificateFormatError("DER element runs past the end of the data")
    return _Element(tag, start, end)


def _children(data: bytes, parent: _Element) -> list[_Element]:
    children, offset = [], parent.start
    while offset < parent.end:
        child = _element(data, offset)
        children.append(child)
        offset = child.end
    return children


def _expect(element: _Element, tag: int, what: str) -> _Element:
    if element.tag != tag:
        raise CertificateFormatError(f"{what}: expected tag 0x{tag:02x}, found 0x{element.tag:02x}")
    return element


def _time(data: bytes, element: _Element) -> datetime:
    text = data[element.start : element.end].decode("ascii", errors="replace")
    if element.tag == _UTC_TIME and re.fullmatch(r"\d{12}Z", text):
        year = int(text[:2])
        # RFC 5280: two-digit years 50-99 are 19xx, 00-49 are 20xx.
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif not (element.tag == _GENERALIZED_TIME and re.fullmatch(r"\d{14}Z", text)):
        raise CertificateFormatError(f"unsupported certificate time {text!r}")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)


def _common_name(data: bytes, subject: _Element) -> str | None:
    for relative_name in _children(data, subject):
        for attribute in _children(data, _expect(relative_name, _SET, "subject")):
            oid, value = _children(data, _expect(attribute, _SEQUENCE, "subject attribute"))[:2]
            _expect(oid, _OID, "attribute type")
            if data[oid.start : oid.end] == _COMMON_NAME_OID:
                raw = data[value.start : value.end]
                codec = "utf-16-be" if value.tag == _BMP_STRING else "utf-8"
                return raw.decode(codec, errors="replace")
    return None


def read_certificate(der: bytes) -> CertificateValidity:
    """Validity and subject CN of one DER-encoded certificate."""
    try:
        certificate = _expect(_element(der, 0), _SEQUENCE, "certificate")
        tbs = _expect(_children(der, certificate)[0], _SEQUENCE, "tbsCertificate")
        fields = _children(der, tbs)
        if fields and fields[0].tag == _EXPLICIT_VERSION:
            fields = fields[1:]
        _expect(fields[0], _INTEGER, "serialNumber")
        validity = _expect(fields[3], _SEQUENCE, "validity")
        subject = _expect(fields[4], _SEQUENCE, "subject")
        not_before, not_after = _children(der, validity)[:2]
        return CertificateValidity(
            common_name=_common_name(der, subject),
            not_before=_time(der, not_before),
            not_after=_time(der, not_after),
        )
    except CertificateFormatError:
        raise
    except (IndexError, ValueError) as exc:
        raise CertificateFormatError(f"not an X.509 certificate: {exc}") from None
