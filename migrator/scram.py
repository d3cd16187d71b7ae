"""SCRAM-SHA-256 password verifiers, built and checked on the client.

The role's password is sent to the server already hashed (PostgreSQL and CockroachDB both accept a
pre-computed `SCRAM-SHA-256$...` verifier), so the clear text never reaches the wire or the server's
statement log. Re-running bootstrap compares the stored verifier with the wanted password to decide
whether an ALTER ROLE is needed at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

DEFAULT_ITERATIONS = 4096
_VERIFIER = re.compile(
    r"^SCRAM-SHA-256\$(?P<iterations>[0-9]+):(?P<salt>[A-Za-z0-9+/=]+)"
    r"\$(?P<stored_key>[A-Za-z0-9+/=]+):(?P<server_key>[A-Za-z0-9+/=]+)$"
)


def _keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest(), server_key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def build_verifier(
    password: str, *, salt: bytes | None = None, iterations: int = DEFAULT_ITERATIONS
) -> str:
    """A `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` string for `password`."""
    if not password.isascii():
        raise ValueError("the role password must be ASCII (SCRAM normalization is not applied)")
    salt = os.urandom(16) if salt is None else salt
    stored_key, server_key = _keys(password, salt, iterations)
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def verifier_matches(stored: str, password: str, role: str) -> bool | None:
    """Whether `stored` (SCRAM or md5 form) was made from `password`; None if it cannot be told."""
    if not password.isascii():
        return None
    match = _VERIFIER.match(stored)
    if match is not None:
        salt = base64.b64decode(match["salt"])
        stored_key, server_key = _keys(password, salt, int(match["iterations"]))
        return hmac.compare_digest(_b64(stored_key), match["stored_key"]) and hmac.compare_digest(
            _b64(server_key), match["server_key"]
        )
    if stored.startswith("md5") and len(stored) == 35:
        expected = (
            "md5" + hashlib.md5((password + role).encode(), usedforsecurity=False).hexdigest()
        )
        return hmac.compare_digest(expected, stored)
    return None
