"""What the benchmarks read from pgbench's output and from EXPLAIN, on fixed samples."""

from __future__ import annotations

import sys

import pytest
from repo import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from pgbench_runs import latencies_ms, parse_failed, parse_tps, percentile
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
