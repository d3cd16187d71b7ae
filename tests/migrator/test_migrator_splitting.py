"""Statement splitting: a semicolon ends a statement only where the server's lexer would agree."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrator.splitting import SqlSyntaxError, leading_keywords, split_statements


def texts(script: str) -> list[str]:
    return [statement.text for statement in split_statements(script)]


def test_plain_statements_split_on_semicolons() -> None:
    assert texts("CREATE TABLE a (x INT);\nCREATE TABLE b (y INT);") == [
        "CREATE TABLE a (x INT)",
        "CREATE TABLE b (y INT)",
    ]


def test_last_statement_needs_no_semicolon() -> None:
    assert texts("SELECT 1;\nSELECT 2") == ["SELECT 1", "SELECT 2"]


def test_semicolon_inside_single_quotes_does_not_split() -> None:
    assert texts("INSERT INTO t VALUES ('a;b');SELECT 1") == [
        "INSERT INTO t VALUES ('a;b')",
        "SELECT 1",
    ]


def test_doubled_quote_stays_inside_the_string() -> None:
    assert texts("SELECT 'it''s; fine'; SELECT 2") == ["SELECT 'it''s; fine'", "SELECT 2"]


def test_backslash_escapes_quote_only_in_e_strings() -> None:
    assert texts(r"SELECT E'a\';b'; SELECT 2") == [r"SELECT E'a\';b'", "SELECT 2"]


def test_backslash_is_literal_in_standard_strings() -> None:
    assert texts(r"SELECT 'a\'; SELECT 2") == [r"SELECT 'a\'", "SELECT 2"]


def test_word_ending_in_e_does_not_start_an_escape_string() -> None:
    assert texts(r"SELECT some_e'x\'; SELECT 2") == [r"SELECT some_e'x\'", "SELECT 2"]


def test_semicolon_inside_double_quoted_identifier_does_not_split() -> None:
    assert texts('CREATE TABLE "odd;name" (x INT); SELECT 1') == [
        'CREATE TABLE "odd;name" (x INT)',
        "SELECT 1",
    ]


def test_dollar_quoted_body_keeps_its_semicolons() -> None:
    script = "CREATE FUNCTION f() RETURNS INT AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 2"
    assert texts(script) == [
        "CREATE FUNCTION f() RETURNS INT AS $$ SELECT 1; $$ LANGUAGE sql",
        "SELECT 2",
    ]


def test_tagged_dollar_quote_ends_only_at_the_same_tag() -> None:
    script = "DO $body$ BEGIN PERFORM '$$;'; END $body$; SELECT 2"
    assert texts(script) == ["DO $body$ BEGIN PERFORM '$$;'; END $body$", "SELECT 2"]


def test_positional_parameter_is_not_a_dollar_quote() -> None:
    assert texts("PREPARE p AS SELECT $1; SELECT 2") == ["PREPARE p AS SELECT $1", "SELECT 2"]


def test_semicolon_in_line_comment_does_not_split() -> None:
    assert texts("SELECT 1 -- not here; really\n; SELECT 2") == [
        "SELECT 1 -- not here; really",
        "SELECT 2",
    ]


def test_nested_block_comments_are_skipped_whole() -> None:
    assert texts("SELECT /* a /* b; */ c; */ 1; SELECT 2") == [
        "SELECT /* a /* b; */ c; */ 1",
        "SELECT 2",
    ]


def test_comment_only_chunks_are_not_statements() -> None:
    assert texts("-- header\n/* block */\n;\n-- trailer\n") == []


def test_statement_line_is_the_line_of_its_first_token() -> None:
    statements = split_statements("-- intro\n\nCREATE TABLE a (x INT);\n\n  SELECT\n 1;")
    assert [(s.index, s.line) for s in statements] == [(1, 3), (2, 5)]


def test_lines_inside_strings_and_comments_are_counted() -> None:
    statements = split_statements("SELECT 'a\nb';\n/* c\nd */ SELECT $$\n$$;\nSELECT 3")
    assert [s.line for s in statements] == [1, 4, 6]


def test_error_position_maps_to_file_line_and_column() -> None:
    statement = split_statements("\n\nCREATE TABLE a (\n  x INTT\n)")[0]
    assert statement.position_of(statement.text.index("INTT") + 1) == (4, 5)


@pytest.mark.parametrize(
    ("script", "what", "line"),
    [
        ("SELECT 1;\nSELECT 'open", "string literal", 2),
        ('SELECT "open', "quoted identifier", 1),
        ("SELECT 1;\n\n/* open", "block comment", 3),
        ("DO $x$ BEGIN END", "dollar-quoted string $x$", 1),
    ],
)
def test_unterminated_constructs_are_reported_with_their_line(
    script: str, what: str, line: int
) -> None:
    with pytest.raises(SqlSyntaxError) as caught:
        split_statements(script)
    assert (caught.value.what, caught.value.line) == (what, line)


def test_leading_keywords_skip_comments() -> None:
    assert leading_keywords("-- c\n/* d */ start transaction isolation") == ("START", "TRANSACTION")


SAFE_WORDS = st.text(alphabet="abcdefghij ", min_size=1, max_size=12).filter(str.strip)
LITERALS = st.one_of(
    st.builds(lambda s: "'" + s.replace("'", "''") + "'", st.text(alphabet="ab;'$ \n-*/")),
    st.builds(
        lambda s: "$q$" + s + "$q$", st.text(alphabet="ab;'\" \n$").filter(lambda s: "$q" not in s)
    ),
    st.builds(lambda s: '"' + s.replace('"', '""') + '"', st.text(alphabet='ab;" ', min_size=1)),
    st.builds(
        lambda s: "/*" + s + "*/", st.text(alphabet="ab; '\n").filter(lambda s: "*/" not in s)
    ),
)
STATEMENTS = st.lists(
    st.builds(lambda w, lit: f"SELECT {w.strip()} {lit}", SAFE_WORDS, LITERALS),
    min_size=1,
    max_size=6,
)


@given(STATEMENTS)
def test_joining_statements_with_semicolons_splits_back_into_them(statements: list[str]) -> None:
    assert texts(";\n".join(statements)) == statements
