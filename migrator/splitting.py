"""Split a SQL script into statements the way the server's lexer would see them.

Semicolons end a statement only outside of: single-quoted strings ('' escapes a quote), E'' strings
(backslash escapes too), double-quoted identifiers, dollar-quoted bodies ($$ or $tag$), line
comments and (nested) block comments. Statements that hold only comments are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_TAG_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")


class SqlSyntaxError(ValueError):
    """A script the splitter cannot tokenize (an unterminated string, comment or dollar quote)."""

    def __init__(self, what: str, line: int) -> None:
        super().__init__(f"unterminated {what} starting at line {line}")
        self.what = what
        self.line = line


@dataclass(frozen=True)
class Statement:
    """One statement of a script: its 1-based index, the line it starts on and its text."""

    index: int
    line: int
    text: str

    def excerpt(self, limit: int = 120) -> str:
        """The statement on one line, shortened to `limit` characters for messages."""
        flat = " ".join(self.text.split())
        return flat if len(flat) <= limit else flat[: limit - 3] + "..."

    def position_of(self, char_position: int) -> tuple[int, int]:
        """File (line, column) of a 1-based character position inside this statement."""
        before = self.text[: max(char_position - 1, 0)]
        line = self.line + before.count("\n")
        column = len(before) - (before.rfind("\n") + 1) + 1
        return line, column


def _dollar_tag_at(script: str, pos: int) -> str | None:
    """The full `$tag$` opening at `pos`, or None when `$` starts no dollar quote there."""
    if pos > 0 and script[pos - 1] in _IDENT_CHARS:
        return None
    end = pos + 1
    if end < len(script) and script[end] in _TAG_START:
        end += 1
        while end < len(script) and script[end] in _IDENT_CHARS and script[end] != "$":
            end += 1
    if end < len(script) and script[end] == "$":
        return script[pos : end + 1]
    return None


def _is_escape_string_start(script: str, pos: int) -> bool:
    """True when the quote at `pos` opens an E'' string (prefix E not part of a longer word)."""
    if pos == 0 or script[pos - 1] not in "eE":
        return False
    return pos == 1 or script[pos - 2] not in _IDENT_CHARS


def split_statements(script: str) -> tuple[Statement, ...]:
    """Statements of `script` in order; raises SqlSyntaxError for unterminated constructs."""
    statements: list[Statement] = []
    length = len(script)
    pos = 0
    line = 1
    start = 0
    first_line: int | None = None

    def finish(end: int) -> None:
        nonlocal first_line
        text = script[start:end].strip()
        if first_line is not None and text:
            statements.append(Statement(index=len(statements) + 1, line=first_line, text=text))
        first_line = None

    while pos < length:
        char = script[pos]
        nxt = script[pos + 1] if pos + 1 < length else ""
        if char == "\n":
            line += 1
            pos += 1
        elif char.isspace():
            pos += 1
        elif char == "-" and nxt == "-":
            newline = script.find("\n", pos)
            pos = length if newline < 0 else newline
        elif char == "/" and nxt == "*":
            opened_at = line
            depth = 1
            pos += 2
            while depth:
                if pos >= length:
                    raise SqlSyntaxError("block comment", opened_at)
                pair = script[pos : pos + 2]
                if pair == "/*":
                    depth += 1
                    pos += 2
                elif pair == "*/":
                    depth -= 1
                    pos += 2
                else:
                    line += script[pos] == "\n"
                    pos += 1
        elif char == ";":
            finish(pos)
            pos += 1
        else:
            if first_line is None:
                first_line = line
                start = pos
            if char in "'\"":
                pos, line = _skip_quoted(script, pos, line)
            elif char == "$" and (tag := _dollar_tag_at(script, pos)) is not None:
                close = script.find(tag, pos + len(tag))
                if close < 0:
                    raise SqlSyntaxError(f"dollar-quoted string {tag}", line)
                end = close + len(tag)
                line += script.count("\n", pos, end)
                pos = end
            else:
                pos += 1
    finish(length)
    return tuple(statements)


def _skip_quoted(script: str, pos: int, line: int) -> tuple[int, int]:
    """Position and line just past the quoted string or identifier starting at `pos`."""
    quote = script[pos]
    backslash_escapes = quote == "'" and _is_escape_string_start(script, pos)
    what = "quoted identifier" if quote == '"' else "string literal"
    opened_at = line
    pos += 1
    length = len(script)
    while True:
        if pos >= length:
            raise SqlSyntaxError(what, opened_at)
        char = script[pos]
        if char == "\n":
            line += 1
        if backslash_escapes and char == "\\":
            if pos + 1 < length and script[pos + 1] == "\n":
                line += 1
            pos += 2
            continue
        if char == quote:
            if pos + 1 < length and script[pos + 1] == quote:
                pos += 2
                continue
            return pos + 1, line
        pos += 1


def leading_keywords(statement_text: str, count: int = 2) -> tuple[str, ...]:
    """The first `count` words of a statement, upper-cased, skipping leading comments."""
    words: list[str] = []
    pos = 0
    text = statement_text
    while pos < len(text) and len(words) < count:
        if text.startswith("--", pos):
            newline = text.find("\n", pos)
            pos = len(text) if newline < 0 else newline
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            pos = len(text) if end < 0 else end + 2
        elif text[pos].isalpha() or text[pos] == "_":
            end = pos
            while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                end += 1
            words.append(text[pos:end].upper())
            pos = end
        elif text[pos].isspace():
            pos += 1
        else:
            break
    return tuple(words)
