"""Passwords never survive into messages: DSN redaction and secret scrubbing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from malformed_dsns import MALFORMED_DSNS, SECRET_MARKER

from database.redaction import dsn_problem, dsn_secrets, redact_dsn, redact_message, scrub
from migrator import ConnectionFailedError, Target
from migrator.session import Counters, connect


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


def test_redact_dsn_masks_the_whole_password_when_it_holds_an_unencoded_at_sign() -> None:
    assert redact_dsn("postgresql://admin:p@ss@db/x") == "postgresql://admin:***@db/x"


def test_redact_dsn_masks_the_value_of_a_misspelt_password_key() -> None:
    assert redact_dsn("host=h pasword=hunter2 dbname=d") == "host=h *** dbname=d"


def test_redact_dsn_masks_a_connection_string_nested_in_dbname() -> None:
    assert redact_dsn("host=h dbname=postgresql://u:hunter2@h/d") == "host=h dbname=***"


def test_redact_dsn_masks_a_port_that_is_really_a_password() -> None:
    assert redact_dsn("postgresql://admin:hunter2") == "postgresql://admin:***"


def test_dsn_secrets_finds_the_decoded_password() -> None:
    assert "s3cr@t" in dsn_secrets("postgresql://root:s3cr%40t@h/db")


def test_dsn_secrets_of_an_unparsable_dsn_still_finds_the_password() -> None:
    assert "SEKRETpw%zz" in dsn_secrets("postgresql://admin:SEKRETpw%zz@h/db")


def test_scrub_masks_each_secret_occurrence() -> None:
    assert scrub("pw abc and abc again, also xyz", ["abc", "xyz", ""]) == (
        "pw *** and *** again, also ***"
    )


def test_redact_message_replaces_the_raw_dsn_with_its_redacted_form() -> None:
    dsn = "postgresql://admin:hunter2@db/x"
    assert redact_message(f"bad: {dsn}", dsn) == "bad: postgresql://admin:***@db/x"


def test_dsn_problem_names_the_percent_rule_for_a_bad_escape_in_the_password() -> None:
    problem = dsn_problem("postgresql://admin:SEKRETpw%zz@h/db")
    assert problem is not None
    assert "write a literal '%' as %25" in problem


def test_dsn_problem_refuses_a_second_at_sign_naming_the_encoding() -> None:
    problem = dsn_problem("postgresql://admin:p@ss@h/db")
    assert problem is not None
    assert "%40" in problem


def test_dsn_problem_refuses_a_slash_before_the_at_sign_naming_the_encoding() -> None:
    problem = dsn_problem("postgresql://admin:pa/ss@h/db")
    assert problem is not None
    assert "%2F" in problem


def test_dsn_problem_refuses_a_port_that_is_not_a_number() -> None:
    problem = dsn_problem("postgresql://admin:pw@db:port/x")
    assert problem is not None
    assert problem.startswith("the text after a ':' in the host part is not a port number")


def test_dsn_problem_keeps_libpqs_reason_with_option_names_readable() -> None:
    assert dsn_problem("host=h passwrd=hunter2") == (
        'libpq cannot parse it (invalid connection option "***")'
    )


def test_dsn_problem_accepts_a_well_formed_dsn() -> None:
    assert dsn_problem("postgresql://admin:p%40ss%2Fw%3Ard@h:26257/db?sslmode=require") is None


@pytest.mark.parametrize("dsn", MALFORMED_DSNS.values(), ids=MALFORMED_DSNS.keys())
def test_redacted_dsn_never_shows_the_password(dsn: str) -> None:
    assert SECRET_MARKER not in redact_dsn(dsn)


@pytest.mark.parametrize("dsn", MALFORMED_DSNS.values(), ids=MALFORMED_DSNS.keys())
def test_dsn_problem_never_quotes_the_password(dsn: str) -> None:
    assert SECRET_MARKER not in (dsn_problem(dsn) or "")


@pytest.mark.parametrize("dsn", MALFORMED_DSNS.values(), ids=MALFORMED_DSNS.keys())
def test_connect_failure_never_shows_the_password(dsn: str) -> None:
    with pytest.raises(ConnectionFailedError) as caught:
        connect(dsn, Counters(), options={"connect_timeout": "2"})
    assert SECRET_MARKER not in str(caught.value)


REFUSED = {name: dsn for name, dsn in MALFORMED_DSNS.items() if dsn_problem(dsn) is not None}


@pytest.mark.parametrize("dsn", REFUSED.values(), ids=REFUSED.keys())
def test_target_refusing_a_dsn_never_shows_the_password(dsn: str) -> None:
    with pytest.raises(ValueError, match="is not valid") as caught:
        Target(admin_dsn=dsn)
    assert SECRET_MARKER not in str(caught.value)


PASSWORD_TAIL = st.text(
    alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]) | st.sampled_from("\t\n"),
    max_size=12,
)
SHAPES = (
    "postgresql://admin:{pw}@127.0.0.1:1/db",
    "postgresql://127.0.0.1:1/db?user=admin&password={pw}&sslmode=disable",
    "host=127.0.0.1 port=1 user=admin password={pw} dbname=db",
    "host=127.0.0.1 port=1 password='{pw}' dbname=db",
)


@settings(max_examples=300, deadline=None)
@given(tail=PASSWORD_TAIL, head=PASSWORD_TAIL, shape=st.sampled_from(SHAPES))
def test_no_password_survives_any_message_whatever_it_holds(
    head: str, tail: str, shape: str
) -> None:
    dsn = shape.format(pw=f"{head}{SECRET_MARKER}{tail}")
    shown = [redact_dsn(dsn), dsn_problem(dsn) or ""]
    try:
        connect(dsn, Counters(), options={"connect_timeout": "2"}).close()
    except ConnectionFailedError as exc:
        shown.append(str(exc))
    assert not [text for text in shown if SECRET_MARKER in text]
