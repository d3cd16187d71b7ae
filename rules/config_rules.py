"""Checks of one config value on its own: bounds, Kubernetes names and labels, images, URIs.

Each field of the config model carries a ``FieldRule`` (``IntRange``, ``QuantityRange``,
``Format``); the same objects give the error message, the configuration table's wording and
the property test's ranges. The ``read_*`` functions read a raw scalar strictly, before any
bound applies.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from database.redaction import dsn_problem
from rules.quantities import QUANTITY_HELP, parse_quantity
from rules.upgrades import RELEASES, parse_version

MINIMUM_VERSION = "v25.2.0"
"""The oldest CockroachDB release the program's flags and SQL are written and checked for
(sql/README.md: the migrations run on v25.2 and are parsed with v25.2's parser)."""
SUPPORTED_MAJORS = tuple(
    major for major, _ in RELEASES if parse_version(f"v{major}.0") >= parse_version(MINIMUM_VERSION)
)
"""Majors from the minimum to the newest the upgrade guard can reason about."""

_PLAIN_INT = re.compile(r"-?[0-9]{1,30}", re.ASCII)
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)
_DNS_SUBDOMAIN = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", re.ASCII
)
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", re.ASCII)
_PINNED_TAG = re.compile(r"v(?P<major>[0-9]+)\.(?P<minor>[0-9]+)\.(?P<patch>[0-9]+)", re.ASCII)
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}\Z", re.ASCII)
_DOMAIN_PART = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?/)?{_PATH_PART}(?:/{_PATH_PART})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?",
    re.ASCII,
)
_LONGEST_POD_PREFIX = len("cockroachdb-99.cockroachdb.") + 63 + len(".svc.")
"""A pod's FQDN is this long before the cluster domain (the namespace at its longest)."""
MAX_CLUSTER_DOMAIN = 253 - _LONGEST_POD_PREFIX
"""So every pod's name stays within DNS's 253 characters."""
OFF_CLUSTER_SCHEMES = ("s3", "gs", "azure-blob", "azure-storage", "azure")
ON_CLUSTER_SCHEMES = ("nodelocal", "userfile")
BACKUP_SCHEMES = (*OFF_CLUSTER_SCHEMES, *ON_CLUSTER_SCHEMES, "http", "https", "external")
RESERVED_LABEL_PREFIX = "app.kubernetes.io/"


# --- Field rules: bounds and formats attached to fields, read by layer 2 and the config table.


class FieldRule:
    """A check of one field's value on its own; ``describe`` is the config table's wording."""

    def refusal(self, value: Any) -> str | None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class IntRange(FieldRule):
    low: int
    high: int
    why: str = ""

    def describe(self) -> str:
        return f"{self.low} to {self.high}"

    def refusal(self, value: Any) -> str | None:
        if value is None or self.low <= value <= self.high:
            return None
        return f"an integer from {self.low} to {self.high}" + (f" ({self.why})" * bool(self.why))


@dataclass(frozen=True)
class QuantityRange(FieldRule):
    low: str
    high: str
    why: str = ""

    def describe(self) -> str:
        return f"{self.low} to {self.high}"

    def refusal(self, value: Any) -> str | None:
        if value is None or (
            parse_quantity(self.low) <= parse_quantity(value) <= parse_quantity(self.high)
        ):
            return None
        return f"a quantity from {self.low} to {self.high}" + (f" ({self.why})" * bool(self.why))


@dataclass(frozen=True)
class Format(FieldRule):
    """A text format; ``check`` returns what is allowed when the value does not fit."""

    check: Callable[[Any], str | None]
    words: str

    def describe(self) -> str:
        return self.words

    def refusal(self, value: Any) -> str | None:
        return None if value is None else self.check(value)


def dns_label_refusal(value: str) -> str | None:
    if len(value) <= 63 and _DNS_LABEL.fullmatch(value):
        return None
    return "a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters"


def dns_subdomain_refusal(value: str) -> str | None:
    if len(value) <= 253 and _DNS_SUBDOMAIN.fullmatch(value):
        return None
    return "a DNS-1123 subdomain: lower-case labels joined by '.', at most 253 characters"


def cluster_domain_refusal(value: str) -> str | None:
    if (
        len(value) <= MAX_CLUSTER_DOMAIN
        and _DNS_SUBDOMAIN.fullmatch(value)
        and all(len(part) <= 63 for part in value.split("."))
    ):
        return None
    return (
        f"a DNS subdomain such as cluster.local, at most {MAX_CLUSTER_DOMAIN} characters (so "
        "every pod's name stays within DNS's 253)"
    )


def label_key_refusal(key: str) -> str | None:
    """Kubernetes' rule for a label key: [DNS-subdomain prefix/]name, name <= 63 characters."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or dns_subdomain_refusal(prefix) is not None):
        return "a label key's prefix must be a DNS subdomain"
    if not (len(name) <= 63 and _LABEL_NAME.fullmatch(name)):
        return (
            "a label key's name must be 1-63 letters, digits, '-', '_' or '.', starting and "
            "ending with a letter or digit"
        )
    return None


def label_value_refusal(value: str) -> str | None:
    """Kubernetes' rule for a label value: empty, or a name of at most 63 characters."""
    if value == "" or (len(value) <= 63 and _LABEL_NAME.fullmatch(value)):
        return None
    return (
        "a label value must be empty or 1-63 letters, digits, '-', '_' or '.', starting and "
        "ending with a letter or digit"
    )


def labels_refusal(labels: Mapping[str, str]) -> str | None:
    for key, value in labels.items():
        refusal = label_key_refusal(key) or label_value_refusal(value)
        if refusal is not None:
            return f"{refusal} (in {key!r}: {value!r})"
    return None


def monitoring_labels_refusal(labels: Mapping[str, str]) -> str | None:
    reserved = sorted(key for key in labels if key.startswith(RESERVED_LABEL_PREFIX))
    if reserved:
        return (
            f"labels other than {RESERVED_LABEL_PREFIX}* (set by this program; "
            f"found {', '.join(reserved)})"
        )
    return labels_refusal(labels)


def image_version(image: str) -> str | None:
    """The vMAJOR.MINOR.PATCH tag of an image reference, if it has one."""
    name = _DIGEST.sub("", image)
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
    return tag if _PINNED_TAG.fullmatch(tag) else None


def image_refusal(value: str) -> str | None:
    version = image_version(value)
    if len(value) > 255 or not _IMAGE.fullmatch(value) or version is None:
        return (
            "an image pinned to a release tag (e.g. cockroachdb/cockroach:v25.2.8, optionally "
            "with @sha256:<digest>); 'latest', floating tags and a digest alone are refused"
        )
    if parse_version(version) < parse_version(MINIMUM_VERSION):
        return (
            f"CockroachDB {MINIMUM_VERSION} or later: the release this program's flags and "
            "SQL are written for"
        )
    if parse_version(version).major not in SUPPORTED_MAJORS:
        return (
            f"a CockroachDB release in {', '.join(SUPPORTED_MAJORS)}: the upgrade rules in "
            "rules/upgrades.py know no later one"
        )
    return None


def path_refusal(value: str) -> str | None:
    return (
        None if value.strip() == value and value else "a non-empty path without surrounding spaces"
    )


def name_refusal(value: str) -> str | None:
    return (
        None if value.strip() == value and value else "a non-empty name without surrounding spaces"
    )


def admin_dsn_refusal(value: str) -> str | None:
    try:
        scheme = urlsplit(value).scheme
    except ValueError:  # e.g. an unclosed [IPv6] host
        scheme = ""
    if scheme not in ("postgres", "postgresql") or value.strip() != value:
        return "a postgresql:// connection URI"
    problem = dsn_problem(value)
    return None if problem is None else f"a postgresql:// connection URI libpq can read ({problem})"


def backup_destination_refusal(value: str) -> str | None:
    if value != value.strip() or any(character.isspace() for character in value):
        return "a URI without spaces"
    if backup_scheme(value) not in BACKUP_SCHEMES:
        return f"a CockroachDB backup URI ({', '.join(f'{s}://' for s in BACKUP_SCHEMES)})"
    return None


def backup_scheme(value: str) -> str:
    """The scheme as CockroachDB reads it: case-insensitive, surrounding spaces ignored."""
    try:
        return urlsplit(value.strip()).scheme.lower()
    except ValueError:
        return ""


# --- Strict reading of raw scalars, before any bound applies.


def _control_characters(text: str) -> list[str]:
    return [
        f"U+{ord(character):04X}"
        for character in text
        if unicodedata.category(character) in ("Cc", "Cf", "Zl", "Zp")
    ]


def read_text(value: Any) -> Any:
    """Refuse control and invisible formatting characters (a pasted newline, a bidi mark)."""
    texts = [value] if isinstance(value, str) else []
    if isinstance(value, Mapping):
        texts = [str(item) for pair in value.items() for item in pair]
    found = [code for text in texts for code in _control_characters(text)]
    if found:
        raise ValueError(f"text without control characters (found {', '.join(found[:3])})")
    return value


def read_int(value: Any, bounds: IntRange | None = None) -> Any:
    """An integer as YAML writes it: ASCII digits, no '_', no exponent, no full-width digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _PLAIN_INT.fullmatch(value):
        return int(value)
    within = f", from {bounds.low} to {bounds.high}" if bounds else ""
    raise ValueError(f"an integer written with the digits 0-9{within}")


def read_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError("true or false")


def read_quantity(value: Any, bounds: QuantityRange) -> Any:
    if value is None:
        return None
    try:
        parse_quantity(value)
    except ValueError:
        raise ValueError(
            f"must be {QUANTITY_HELP} (digits 0-9, no sign, no spaces), from {bounds.low} to "
            f"{bounds.high}"
        ) from None
    return value
