"""What the benchmarks read from pgbench's output and from EXPLAIN, on fixed samples."""

from __future__ import annotations

import sys

import pytest
from repo import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from bench_order_path import paired_ratios, ratio_verdict
from pgbench_runs import RunResult, latencies_ms, parse_failed, parse_tps, percentile
from query_plans import table_accesses, uses_index

PGBENCH_REPORT = """\
transaction type: order_path.sql
number of clients: 4
number of transactions actually processed: 5550
number of failed transactions: 0 (0.000%)
latency average = 1.441 ms
initial connection time = 12.345 ms
tps = 2775.412345 (without initial connection time)
"""


def test_percentile_is_the_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert (percentile(samples, 0.5), percentile(samples, 0.99)) == (50.0, 99.0)


def test_percentile_of_no_samples_is_refused() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 0.5)


def test_tps_is_read_without_connection_time() -> None:
    assert parse_tps(PGBENCH_REPORT) == pytest.approx(2775.412345)


def test_failed_transactions_are_read_from_the_report() -> None:
    assert (
        parse_failed(PGBENCH_REPORT.replace("failed transactions: 0", "failed transactions: 3"))
        == 3
    )


def test_latencies_come_from_the_third_field_and_skip_failed_transactions() -> None:
    log = ["0 1 812 0 1733212345 123456", "1 7 failed 0 1733212345 123999", "2 9 2500 0 1 2"]
    assert latencies_ms(log) == [0.812, 2.5]


def runs(*tps: float) -> list[RunResult]:
    return [RunResult(tps=t, transactions=1, failed=0, p50_ms=1.0, p99_ms=2.0) for t in tps]


def test_each_round_of_the_order_path_is_divided_by_the_tpcb_run_of_the_same_round() -> None:
    assert paired_ratios(runs(300, 500, 400), runs(1000, 800, 500)) == [0.3, 0.625, 0.8]


def test_paired_ratios_refuse_rounds_without_a_tpcb_run() -> None:
    with pytest.raises(ValueError, match="2 order path runs, 1 TPC-B runs"):
        paired_ratios(runs(300, 500), runs(1000))


def test_the_verdict_is_the_median_paired_ratio_not_the_ratio_of_medians() -> None:
    # Rounds: 200/500, 550/1000, 900/2000 = 0.40, 0.55, 0.45; the medians: 550/1000.
    verdict = ratio_verdict(runs(200, 550, 900), runs(500, 1000, 2000), 0.5)
    assert verdict == "0.45 [0.40..0.55] (target >= 0.50: NOT met); ratio of the medians 0.55"


def test_plan_accesses_name_the_index_and_the_direction() -> None:
    explain = [
        {
            "Plan": {
                "Node Type": "Nested Loop",
                "Plans": [
                    {"Node Type": "Seq Scan", "Relation Name": "instruments"},
                    {
                        "Node Type": "Index Scan",
                        "Scan Direction": "Backward",
                        "Index Name": "candles_pkey",
                        "Relation Name": "candles",
                    },
                ],
            }
        }
    ]
    accesses = table_accesses(explain)
    assert accesses == [
        "Seq Scan on instruments",
        "Index Scan Backward using candles_pkey on candles",
    ]
    assert uses_index(accesses)


def test_a_plan_of_sequential_scans_uses_no_index() -> None:
    assert not uses_index(["Seq Scan on positions", "Seq Scan on instruments"])
