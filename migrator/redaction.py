"""Kept for importers of the old location; redaction lives in ``database.redaction``."""

from database.redaction import (
    MASK,
    dsn_problem,
    dsn_secrets,
    mask_quoted_values,
    redact_dsn,
    redact_message,
    scrub,
)

__all__ = [
    "MASK",
    "dsn_problem",
    "dsn_secrets",
    "mask_quoted_values",
    "redact_dsn",
    "redact_message",
    "scrub",
]
