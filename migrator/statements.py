"""What kind of statement a migration file holds, judged from its leading keywords.

Three questions, each answered before anything runs: is it a schema or privilege change (DDL) or
another statement, for the summary's counts; can it run inside the transaction that wraps each
portable file; and does it change who the session is, which the engine's own bookkeeping cannot
survive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migrator.splitting import leading_keywords

DDL_VERBS = frozenset(
    {"CREATE", "ALTER", "DROP", "GRANT", "REVOKE", "COMMENT", "TRUNCATE", "REINDEX"}
)
_CONCURRENTLY = re.compile(r"\bconcurrently\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Rule:
    """Statements starting with `words`; `advice` says what to do instead."""

    words: tuple[str, ...]
    advice: str


_NOT_IN_TRANSACTION = (
    _Rule(
        ("CREATE", "INDEX", "CONCURRENTLY"),
        "drop CONCURRENTLY: the index is then built inside the migration's transaction",
    ),
    _Rule(
        ("CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"),
        "drop CONCURRENTLY: the index is then built inside the migration's transaction",
    ),
    _Rule(
        ("DROP", "INDEX", "CONCURRENTLY"),
        "drop CONCURRENTLY: the index is then dropped inside the migration's transaction",
    ),
    _Rule(("REINDEX", "DATABASE"), "reindex single tables or indexes, without CONCURRENTLY"),
    _Rule(("REINDEX", "SYSTEM"), "reindex single tables or indexes, without CONCURRENTLY"),
    _Rule(
        ("CREATE", "DATABASE"),
        "the engine creates the target database itself; other databases are not migrations",
    ),
    _Rule(("DROP", "DATABASE"), "databases are not dropped by migrations"),
    _Rule(("CREATE", "TABLESPACE"), "tablespaces are server administration, not migrations"),
    _Rule(("DROP", "TABLESPACE"), "tablespaces are server administration, not migrations"),
    _Rule(("VACUUM",), "leave it to autovacuum, or run it by hand outside migrations"),
    _Rule(("ALTER", "SYSTEM"), "server settings are configuration, not migrations"),
    _Rule(
        ("CREATE", "SUBSCRIPTION"), "logical replication is server administration, not migrations"
    ),
    _Rule(("DROP", "SUBSCRIPTION"), "logical replication is server administration, not migrations"),
    _Rule(("DISCARD", "ALL"), "the engine resets the session before each migration"),
    _Rule(
        ("SET", "CLUSTER", "SETTING"),
        "put it in the NNNN_name.crdb.sql companion, which runs outside a transaction",
    ),
)

_SESSION_IDENTITY = (
    ("SET", "ROLE"),
    ("SET", "LOCAL", "ROLE"),
    ("SET", "SESSION", "ROLE"),
    ("SET", "SESSION", "AUTHORIZATION"),
    ("SET", "LOCAL", "SESSION", "AUTHORIZATION"),
    ("SET", "SESSION", "SESSION", "AUTHORIZATION"),
    ("RESET", "ROLE"),
    ("RESET", "SESSION", "AUTHORIZATION"),
)


def is_ddl(statement_text: str) -> bool:
    """True for schema and privilege changes (CREATE, ALTER, DROP, GRANT, ...)."""
    words = leading_keywords(statement_text, 1)
    return bool(words) and words[0] in DDL_VERBS


def transaction_refusal(statement_text: str) -> str | None:
    """Why the statement cannot run inside a transaction block, with what to do; else None."""
    words = leading_keywords(statement_text, 4)
    if words[:1] == ("REINDEX",) and _CONCURRENTLY.search(statement_text):
        return (
            f"{' '.join(words[:2])} ... CONCURRENTLY cannot run inside a transaction, and the "
            "engine runs each migration file in one; drop CONCURRENTLY"
        )
    for rule in _NOT_IN_TRANSACTION:
        if words[: len(rule.words)] == rule.words:
            return (
                f"{' '.join(rule.words)} cannot run inside a transaction, and the engine runs "
                f"each migration file in one; {rule.advice}"
            )
    return None


def session_identity_refusal(statement_text: str) -> str | None:
    """Why a statement that changes the session's role is refused; else None."""
    words = leading_keywords(statement_text, 5)
    for prefix in _SESSION_IDENTITY:
        if words[: len(prefix)] == prefix:
            return (
                f"{' '.join(prefix)} is not allowed: migrations run as the admin user, who "
                "also records them in the history; give objects to another role with "
                "ALTER ... OWNER TO or GRANT instead"
            )
    return None
