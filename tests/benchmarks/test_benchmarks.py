"""The performance benchmarks still run: each one, with tiny settings, prints every figure it
promises. Timings are never asserted, only the shape of the report."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import server_binaries
from repo import REPO_ROOT

pytestmark = pytest.mark.postgres

BENCHMARKS = REPO_ROOT / "benchmarks"
NUMBER = r"[0-9][0-9,.]*"


def run_benchmark(name: str, *options: str) -> str:
    server_binaries()
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *options],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_order_path_benchmark_reports_each_workload_and_its_ratio_per_client_count() -> None:
    report = run_benchmark(
        "bench_order_path.py",
        "--seconds=1",
        "--warm-up=1",
        "--repeats=1",
        "--clients=1,2",
        "--scale=1",
    )
    forms = ("order path, step by step", "order path, one statement")
    for clients in (1, 2):
        for workload in (*forms, "TPC-B"):
            row = (
                rf"^\s+{clients}\s+{workload}\s+{NUMBER} \[{NUMBER}\.\.{NUMBER}\]"
                rf"\s+{NUMBER}\s+{NUMBER}\s+0$"
            )
            assert re.search(row, report, re.M), f"no {workload} row for {clients}:\n{report}"
        for form in forms:
            ratio = (
                rf"^\s+{clients}\s+ratio {form} / TPC-B tx/s: {NUMBER} \[{NUMBER}\.\.{NUMBER}\] "
                rf"\(target >= 0\.50: (met|NOT met)\); ratio of the medians {NUMBER}$"
            )
            assert re.search(ratio, report, re.M), report
    assert "CPU(s), load average" in report


def test_order_path_benchmark_checks_both_forms_wrote_every_row_of_each_order() -> None:
    report = run_benchmark(
        "bench_order_path.py",
        "--seconds=1",
        "--warm-up=1",
        "--repeats=1",
        "--clients=1",
        "--scale=1",
    )
    check = re.search(
        r"^writes check: (\d+) orders, (\d+) with their fill, (\d+) with their audit row; "
        r"positions hold every quantity ordered: yes \(complete\)$",
        report,
        re.M,
    )
    assert check is not None, report
    orders, fills, audits = (int(group) for group in check.groups())
    assert orders > 0
    assert orders == fills == audits


@pytest.fixture(scope="module")
def costs_report() -> str:
    return run_benchmark(
        "order_path_costs.py", "--clients=1", "--seconds=1", "--rows=200", "--rounds=1", "--scale=1"
    )


def test_order_path_costs_report_each_insert_and_what_the_check_constraints_cost(
    costs_report: str,
) -> None:
    report = costs_report
    for table in ("orders", "trades", "positions", "audit_log"):
        row = rf"^\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}  INSERT INTO {table} \("
        assert re.search(row, report, re.M), f"no INSERT INTO {table} row:\n{report}"
    assert re.search(rf"^\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+\(nested\) SELECT", report, re.M), (
        report
    )
    assert re.search(
        rf"^  with the schema's [1-9][0-9]* CHECK constraints:\s+{NUMBER} us$", report, re.M
    ), report
    assert re.search(rf"^  without them:\s+{NUMBER} us$", report, re.M), report
    assert re.search(
        rf"^  preparing the CHECK constraints for each INSERT: -?{NUMBER} us$", report, re.M
    ), report


def test_order_path_costs_report_each_workloads_server_time_and_statements_per_transaction(
    costs_report: str,
) -> None:
    statements = {}
    for workload in ("order path, step by step", "order path, one statement", "TPC-B"):
        row = re.search(
            rf"^  {workload}\s+{NUMBER}\s+{NUMBER}\s+(?P<statements>{NUMBER})$", costs_report, re.M
        )
        assert row is not None, f"no {workload} row:\n{costs_report}"
        statements[workload] = row["statements"]
    # Four INSERTs; one WITH statement; TPC-B's three UPDATEs, SELECT and INSERT.
    assert statements == {
        "order path, step by step": "4.0",
        "order path, one statement": "1.0",
        "TPC-B": "5.0",
    }, costs_report


def test_ingest_benchmark_reports_the_copy_ratio_and_a_plan_for_every_read() -> None:
    report = run_benchmark("bench_ingest.py", "--rows=2000", "--repeats=1", "--query-runs=2")
    assert re.search(
        rf"^ratio schema / without secondary index: {NUMBER} \(target >= 0\.70: (met|NOT met)\)$",
        report,
        re.M,
    ), report
    reads = re.findall(
        rf"^  (.+): {NUMBER} ms \[{NUMBER}\.\.{NUMBER}\] \((index used|NO index)\)$", report, re.M
    )
    assert [name for name, _ in reads] == [
        "active positions, whole desk (runbook)",
        "active positions of one account",
        "latest 1m candle per symbol",
        "latest 100 1m candles of one symbol",
        "latest tick of one symbol",
    ]
    assert re.search(
        r"^      (Seq Scan|Index Scan|Index Only Scan|Bitmap Index Scan)", report, re.M
    )


def test_migrator_benchmark_reports_the_full_apply_ratio_and_the_no_op_round_trips() -> None:
    report = run_benchmark("bench_migrator.py", "--runs=1")
    assert re.search(
        rf"^ratio full apply engine / psql -1 -f \(median of pairs\): {NUMBER} "
        r"\(target <= 1\.20: (met|NOT met)\)$",
        report,
        re.M,
    ), report
    assert re.search(
        rf"^no-op apply: 1 connection\(s\), {NUMBER} round trips counted by the engine, "
        rf"{NUMBER} statements logged by the server, 0 DDL \(target <= 3 round trips, 0 DDL: "
        r"(met|NOT met)\)$",
        report,
        re.M,
    ), report


@pytest.mark.e2e
def test_engine_benchmark_reports_the_no_op_up_against_the_empty_and_the_minimal_program() -> None:
    report = run_benchmark("bench_engine.py", "--runs=1")
    assert re.search(r"^pulumi up \(no-op\):\s+[0-9.]+s  median of 1 \(same \d+\)$", report, re.M)
    assert re.search(
        rf"^pulumi up \(no-op\) of a minimal program \(one rendered Namespace, one dynamic "
        rf"resource\):\s+{NUMBER}s, {NUMBER}x the empty program$",
        report,
        re.M,
    ), report
    assert re.search(
        rf"^ratio no-op up program / empty program: {NUMBER} \(target <= 1\.20: (met|NOT met)\)$",
        report,
        re.M,
    ), report
