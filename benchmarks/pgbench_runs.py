"""Runs of pgbench and what they measured: throughput from its report, latency percentiles from
its per-transaction log (`-l`), so every workload is driven and timed by the same client."""

from __future__ import annotations

import math
import os
import re
import statistics
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

TPS_LINE = re.compile(r"^tps = (?P<tps>[0-9.]+) \(without initial connection time\)$", re.M)
FAILED_LINE = re.compile(r"^number of failed transactions: (?P<failed>\d+)", re.M)


@dataclass(frozen=True)
class RunResult:
    """One pgbench run: transactions per second and per-transaction latency in milliseconds."""

    tps: float
    transactions: int
    failed: int
    p50_ms: float
    p99_ms: float


def percentile(sorted_samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted samples."""
    if not sorted_samples:
        raise ValueError("no samples")
    rank = max(1, math.ceil(fraction * len(sorted_samples)))
    return sorted_samples[rank - 1]


def parse_tps(report: str) -> float:
    match = TPS_LINE.search(report)
    if match is None:
        raise ValueError(f"no tps line in pgbench's report:\n{report}")
    return float(match["tps"])


def parse_failed(report: str) -> int:
    match = FAILED_LINE.search(report)
    return int(match["failed"]) if match else 0


def latencies_ms(log_lines: Iterable[str]) -> list[float]:
    """Latencies from pgbench's per-transaction log: `client_id transaction_no time_us script_no
    time_epoch time_us_fraction ...`; failed transactions (`failed` or `skipped`) are left out."""
    samples: list[float] = []
    for line in log_lines:
        fields = line.split()
        if len(fields) >= 3 and fields[2].isdigit():
            samples.append(int(fields[2]) / 1000)
    return samples


def run_pgbench(
    pgbench: Path,
    *,
    conninfo_args: Sequence[str],
    env: Mapping[str, str],
    clients: int,
    seconds: int,
    workload_args: Sequence[str],
) -> RunResult:
    """One timed run in prepared mode with `clients` connections; one pgbench thread per core
    at most (the same for every workload)."""
    threads = max(1, min(clients, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="pgbench-log-") as log_dir:
        prefix = Path(log_dir) / "tx"
        argv = [
            str(pgbench),
            *conninfo_args,
            "--protocol=prepared",
            f"--client={clients}",
            f"--jobs={threads}",
            f"--time={seconds}",
            "--log",
            f"--log-prefix={prefix}",
            *workload_args,
        ]
        result = subprocess.run(argv, capture_output=True, text=True, env=dict(env), check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"pgbench failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        samples: list[float] = []
        for log_file in Path(log_dir).iterdir():
            with log_file.open() as log:
                samples += latencies_ms(log)
    samples.sort()
    return RunResult(
        tps=parse_tps(result.stdout),
        transactions=len(samples),
        failed=parse_failed(result.stdout),
        p50_ms=percentile(samples, 0.50),
        p99_ms=percentile(samples, 0.99),
    )


def median_result(runs: Sequence[RunResult]) -> RunResult:
    """Medians of each figure over repeated runs."""
    return RunResult(
        tps=statistics.median(r.tps for r in runs),
        transactions=sum(r.transactions for r in runs),
        failed=sum(r.failed for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
    )
