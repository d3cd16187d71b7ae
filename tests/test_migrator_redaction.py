"""Passwords never survive into messages: DSN redaction and secret scrubbing."""

from __future__ import annotations

import pytest

from migrator.redaction import dsn_secrets, redact_dsn, scrub


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (
            "postgresql://root:s3cr%40t@db.example:26257/defaultdb?sslmode=verify-full",
            "postgresql://root:***@db.example:26257/defaultdb?sslmode=verify-full",
        ),
        (
            "postgres://u@h/db?password=hunter2&sslmode=disable",
            "postgres://u@h/db?password=***&sslmode=disable",
        ),
        ("host=h user=u password=hunter2 dbname=d", "host=h user=u password=*** dbname=d"),
        ("host=h password='with space' dbname=d", "host=h password=*** dbname=d"),
        ("host=h sslpassword=keypass", "host=h sslpassword=***"),
        ("postgresql://root@h:26257/defaultdb", "postgresql://root@h:26257/defaultdb"),
    ],
)
def test_redact_dsn_masks_every_password_form(dsn: str, expected: str) -> None:
    assert redact_dsn(dsn) == expected


def test_dsn_secrets_finds_the_decoded_password() -> None:
    assert dsn_secrets("postgresql://root:s3cr%40t@h/db") == ("s3cr@t",)


def test_dsn_secrets_of_an_unparsable_dsn_is_empty() -> None:
    assert dsn_secrets("not a dsn at all ===") == ()


def test_scrub_masks_each_secret_occurrence() -> None:
    assert scrub("pw abc and abc again, also xyz", ["abc", "xyz", ""]) == (
        "pw *** and *** again, also ***"
    )
