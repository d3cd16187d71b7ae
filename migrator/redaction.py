"""Keep passwords out of messages: DSNs are shown without them, known secrets are masked."""

from __future__ import annotations

import re
from collections.abc import Iterable

from psycopg.conninfo import conninfo_to_dict

MASK = "***"
_SECRET_KEYS = frozenset({"password", "sslpassword"})
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:@/?#\s]*):[^@/\s]*@")
_QUERY_SECRET = re.compile(r"(?P<key>[?&](?:ssl)?password=)[^&#\s]*", re.IGNORECASE)
_KEYWORD_SECRET = re.compile(
    r"(?P<key>\b(?:ssl)?password\s*=\s*)(?:'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE
)


def redact_dsn(dsn: str) -> str:
    """The DSN with every password value replaced by ***, whether URL or key=value form."""
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", dsn)
    text = _QUERY_SECRET.sub(lambda m: f"{m['key']}{MASK}", text)
    if "://" not in text:
        text = _KEYWORD_SECRET.sub(lambda m: f"{m['key']}{MASK}", text)
    return text


def dsn_secrets(dsn: str) -> tuple[str, ...]:
    """Password values a DSN carries, so messages can be scrubbed of them."""
    try:
        params = conninfo_to_dict(dsn)
    except Exception:  # an unparsable DSN is reported elsewhere; it holds no usable secret
        return ()
    return tuple(str(v) for k, v in params.items() if k in _SECRET_KEYS and v)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with each non-empty secret replaced by ***."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
