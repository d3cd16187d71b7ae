"""The order path's one-statement form is SQL that CockroachDB's own parser accepts, so the form
the benchmark recommends is one the cluster can run, not only PostgreSQL."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cockroach_parser import (
    PGBENCH_VARIABLE,
    read_reports,
    run_parser,
    with_server_placeholders,
)
from repo import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from bench_order_path import order_path_statement

pytestmark = pytest.mark.parser


def test_pgbench_variables_become_numbered_parameters_and_casts_stay() -> None:
    assert with_server_placeholders("VALUES (:a, :b::int8, :a, x::TEXT)", PGBENCH_VARIABLE) == (
        "VALUES ($1, $2::int8, $1, x::TEXT)"
    )


def test_one_statement_order_path_parses_as_cockroachdb_sql(
    crdb_parser: Path, tmp_path: Path
) -> None:
    path = tmp_path / "order_path.sql"
    path.write_text(with_server_placeholders(order_path_statement(), PGBENCH_VARIABLE) + ";\n")
    report = read_reports(run_parser(crdb_parser, [path]).stdout)[str(path)]
    assert (report.statements, report.errors) == (1, [])
