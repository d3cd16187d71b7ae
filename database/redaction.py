"""Keep passwords out of messages: the one place that knows where a DSN keeps its secrets.

A DSN is shown only through `redact_dsn`, which masks the password whatever the DSN's shape,
including shapes libpq cannot parse (bad percent-encoding, an unencoded '@' or '/' in the
password, an unterminated quote). `dsn_problem` says why a DSN cannot be used without quoting any
part of it, because libpq's own parse errors quote the offending text, which is often the
password. `redact_message` cleans any other text (a server or driver error) of the DSN and its
secrets before it is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from urllib.parse import unquote

from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

MASK = "***"
MIN_SECRET_LENGTH = 3
"""Shorter pieces are not scrubbed from messages: masking every "a" would hide the message, not
a secret. The DSN itself is still shown only redacted, whatever the length."""
URI_SCHEMES = ("postgresql://", "postgres://")
_SECRET_KEYS = frozenset({"password", "sslpassword"})
_SCHEME = re.compile(r"^\s*(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)")
_VALUE = r"'(?:[^'\\]|\\.)*(?:'|\\?\Z)|(?:\\.|[^\s\\])*\\?"
_KEYWORD_TOKEN = re.compile(
    rf"(?P<key>[A-Za-z_][A-Za-z0-9_]*)(?P<eq>\s*=\s*)(?P<value>{_VALUE})|(?P<stray>\S+)",
    re.DOTALL,
)
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_UNSAFE_IN_USERINFO = "/?#"


@cache
def _libpq_keywords() -> frozenset[str]:
    """Connection option names; a libpq message may quote these, never a value."""
    return frozenset(
        option.keyword.decode() for option in pq.Conninfo.get_defaults() if option.keyword
    )


def _known(key: str) -> bool:
    """An option name that may be shown with its value masked."""
    return key in _libpq_keywords() or key.lower() in _SECRET_KEYS


def _shown(key: str, value: str) -> bool:
    """Values of known, non-secret options are shown; a misspelt `pasword=` is not, nor a value
    that is itself a connection string (libpq reads `dbname=postgresql://...` as one)."""
    nested = "=" in value or "://" in value or "@" in value
    return key in _libpq_keywords() and key not in _SECRET_KEYS and not nested


def _is_uri(dsn: str) -> bool:
    return _SCHEME.match(dsn) is not None


def _split_uri(dsn: str) -> tuple[str, str, str | None]:
    """(scheme, text after it, user-info or None): the user-info ends at the LAST '@', so a
    password holding an unencoded '@' or '/' is still all inside it."""
    match = _SCHEME.match(dsn)
    assert match is not None
    rest = dsn[match.end() :]
    at = rest.rfind("@")
    return match["scheme"], rest, (rest[:at] if at >= 0 else None)


def _redact_query(query: str, hidden: list[str]) -> str:
    """`a=1&password=x&...`: values of secret keys, unknown keys and stray segments masked."""
    shown: list[str] = []
    for segment in query.split("&"):
        key, eq, value = segment.partition("=")
        if eq and _shown(key, value):
            shown.append(segment)
        elif eq and _known(key):
            hidden.append(value)
            shown.append(f"{key}={MASK}")
        elif segment:
            hidden.append(segment)
            if not shown or shown[-1] != MASK:
                shown.append(MASK)
    return "&".join(shown)


def _redact_ports(authority: str, hidden: list[str]) -> str:
    """Without an '@', `user:password` reads as `host:port`: from the first port that is not a
    number on, the rest of the host list is masked (a password may hold ',' or ':')."""
    offset = 0
    for spec in authority.split(","):
        host, colon, port = spec.rpartition(":") if not spec.endswith("]") else ("", "", spec)
        if colon and not port.isdigit():
            start = offset + len(host) + 1
            hidden.append(authority[start:])
            return f"{authority[:start]}{MASK}"
        offset += len(spec) + 1
    return authority


def _redact_uri(dsn: str, hidden: list[str]) -> str:
    scheme, rest, userinfo = _split_uri(dsn)
    if userinfo is not None and any(c in userinfo for c in _UNSAFE_IN_USERINFO):
        # Which '@' ends the user-info cannot be told (a '?' in the password, or an '@' in the
        # query): show nothing after the scheme. dsn_problem refuses such a DSN anyway.
        hidden.append(rest)
        return f"{scheme}{MASK}"
    if userinfo is not None:
        user, colon, password = userinfo.partition(":")
        if colon:
            hidden.append(password)
        after = rest[len(userinfo) + 1 :]
        text = f"{scheme}{user}{':' + MASK if colon else ''}@{after}"
    else:
        end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        text = f"{scheme}{_redact_ports(rest[:end], hidden)}{rest[end:]}"
    base, question, query = text.partition("?")
    return f"{base}{question}{_redact_query(query, hidden)}" if question else base


def _redact_keywords(dsn: str, hidden: list[str]) -> str:
    def token(match: re.Match[str]) -> str:
        if match["key"] and _shown(match["key"], match["value"]):
            return match.group(0)
        hidden.append(match.group(0))
        if match["key"]:
            hidden.extend((match["value"], _unescape(match["value"])))
        if match["key"] and _known(match["key"]):
            return f"{match['key']}{match['eq']}{MASK}"
        return MASK

    return _KEYWORD_TOKEN.sub(token, dsn)


def _unescape(raw: str) -> str:
    """A key=value form value without its quotes and backslash escapes."""
    body = raw[1:].removesuffix("'") if raw.startswith("'") else raw
    return re.sub(r"\\(.)", r"\1", body)


def _redact(dsn: str) -> tuple[str, list[str]]:
    """The DSN as it may be shown, and every piece that was masked."""
    hidden: list[str] = []
    shown = _redact_uri(dsn, hidden) if _is_uri(dsn) else _redact_keywords(dsn, hidden)
    return shown, hidden


def redact_dsn(dsn: str) -> str:
    """The DSN with every password, and anything that might be one, replaced by ***.

    URI and key=value forms alike: the password in the user-info or a `password=` option,
    values of options libpq does not know (a misspelt `pasword=`), and stray text.
    """
    return _redact(dsn)[0]


def dsn_secrets(dsn: str) -> tuple[str, ...]:
    """Every form in which the DSN's passwords could appear in a message: as written, decoded,
    and as libpq parsed them. Works on DSNs libpq cannot parse."""
    found = _redact(dsn)[1]
    try:
        params = conninfo_to_dict(dsn)
    except Exception:  # noqa: S110 - the masked pieces above still apply
        pass
    else:
        found += [str(v) for k, v in params.items() if k in _SECRET_KEYS and v]
    found += [unquote(piece) for piece in found]
    return tuple(dict.fromkeys(s for s in found if len(s) >= MIN_SECRET_LENGTH))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with each non-empty secret replaced by ***."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mask_quoted_values(message: str) -> str:
    """A libpq conninfo message with every quoted value masked; option names stay readable.

    A value holding a '"' itself breaks the pairing of quotes, so with an odd number of them
    everything from the first quote to the last is masked.
    """

    def readable(inner: str) -> bool:
        return inner in _libpq_keywords() or (len(inner) == 1 and not inner.isalnum())

    if message.count('"') % 2:
        first, last = message.find('"'), message.rfind('"')
        return f'{message[:first]}"{MASK}"{message[last + 1 :]}'

    def mask(match: re.Match[str]) -> str:
        quote, inner = match.group(0)[0], match.group(0)[1:-1]
        return match.group(0) if readable(inner) else f"{quote}{MASK}{quote}"

    return _QUOTED.sub(mask, message)


def _authority(rest: str) -> str:
    """The host part of a URI without user-info: up to the first '/', '?' or '#'."""
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


def _uri_problem(dsn: str) -> str | None:
    scheme, rest, userinfo = _split_uri(dsn)
    if dsn != dsn.lstrip():
        return "a URI DSN must start with its scheme, without leading spaces"
    if scheme.lower() not in URI_SCHEMES:
        return f"the scheme must be postgresql:// or postgres://, not {scheme}"
    if rest.count("@") > 1:
        return (
            "it holds more than one '@'; only the '@' that ends the user name and password "
            "may be written as is, any other must be percent-encoded as %40"
        )
    authority = _authority(rest if userinfo is None else rest[len(userinfo) + 1 :])
    if _redact_ports(authority, []) != authority:
        hint = "" if userinfo is not None else "; a user name and password go before an '@'"
        return (
            "the text after a ':' in the host part is not a port number"
            f"{hint} (postgresql://user:password@host:port/database)"
        )
    if userinfo is None:
        return None
    if any(c in userinfo for c in _UNSAFE_IN_USERINFO):
        return (
            "a '/', '?' or '#' comes before the '@'; in the user name and password write "
            "them percent-encoded as %2F, %3F and %23"
        )
    if _BAD_PERCENT.search(userinfo):
        return (
            "the user name or password holds a '%' not followed by two hex digits; "
            "write a literal '%' as %25"
        )
    return None


def dsn_problem(dsn: str) -> str | None:
    """Why libpq cannot use `dsn`, worded without quoting any part of it; None when it parses.

    A URI with a second '@', or a '/', '?' or '#' before its '@', is refused even where libpq
    would accept it, because libpq then reads part of the password as the host or database.
    """
    problem = _uri_problem(dsn) if _is_uri(dsn) else None
    if problem is not None:
        return problem
    try:
        conninfo_to_dict(dsn)
    except Exception as exc:
        reason = mask_quoted_values(redact_message(str(exc).strip(), dsn))
        return f"libpq cannot parse it ({redact_message(reason, dsn) or type(exc).__name__})"
    return None


def redact_message(text: str, dsn: str, secrets: Iterable[str] = ()) -> str:
    """`text` with the DSN shown redacted and each of its (and the other given) secrets masked."""
    if dsn:
        text = text.replace(dsn, redact_dsn(dsn))
    return scrub(text, (*dsn_secrets(dsn), *secrets))
