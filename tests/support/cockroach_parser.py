"""CockroachDB's own SQL parser for the tests: a small Go helper (dev/parser) around the parser
package CockroachDB itself uses, pinned to the release the cluster runs. It is built once per
version of its sources into a cache directory outside the repository, so only the first run pays
for the build; each file it parses yields one JSON report line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from repo import DEV

from migrator.placeholders import render

PARSER_DIR = DEV / "parser"
PARSER_SOURCES = ("go.mod", "go.sum", "main.go")
BUILD_TIMEOUT_SECONDS = 900
PARSE_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class ParseReport:
    """What the helper printed for one file."""

    statements: int
    errors: list[dict[str, object]]
    normalized: list[str]


def parser_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "openalgo-cockroachdb"


def parser_sources_digest() -> str:
    """Hash of the helper's sources: a new digest means a new binary."""
    digest = hashlib.sha256()
    for name in PARSER_SOURCES:
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update((PARSER_DIR / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def build_parser(go: str, target: Path) -> None:
    """Build the helper into target, atomically, so parallel runs cannot see half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=target.name + ".", dir=target.parent)
    os.close(fd)
    try:
        result = subprocess.run(
            [go, "build", "-mod=readonly", "-trimpath", "-buildvcs=false", "-o", partial, "."],
            cwd=PARSER_DIR,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                f"building the SQL parser helper in {PARSER_DIR} failed "
                f"(exit {result.returncode}):\n{result.stderr}"
            )
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def run_parser(binary: Path, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=PARSE_TIMEOUT_SECONDS,
        check=False,
    )


def read_reports(stdout: str) -> dict[str, ParseReport]:
    reports = {}
    for line in stdout.splitlines():
        raw = json.loads(line)
        reports[raw["file"]] = ParseReport(
            statements=raw["statements"], errors=raw["errors"], normalized=raw["normalized"]
        )
    return reports


def rendered_copies(files: list[Path], directory: Path, app_user: str) -> list[Path]:
    """Copies of `files` with their placeholders filled in, as the engine runs them."""
    copies = []
    for path in files:
        copy = directory / path.name
        copy.write_text(render(path.name, path.read_text(), app_user).text)
        copies.append(copy)
    return copies


PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?s")
PGBENCH_VARIABLE = re.compile(r"(?<![:\w]):[a-z_]+\b")
"""A pgbench script's `:name` variable; the `::` of a cast is not one."""


def with_server_placeholders(query: str, placeholder: re.Pattern[str] = PLACEHOLDER) -> str:
    """psycopg's %s / %(name)s (or the `placeholder` given, such as PGBENCH_VARIABLE) turned
    into the $n placeholders the server receives; the same name gets the same number."""
    names: dict[str, int] = {}
    counter = iter(range(1, 100))

    def number(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "%s":
            return f"${next(counter)}"
        if token not in names:
            names[token] = next(counter)
        return f"${names[token]}"

    return placeholder.sub(number, query)
