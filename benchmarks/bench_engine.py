"""Benchmark of the whole program under the real Pulumi engine (not a test).

Prints:
  * scripts/install-pulumi: each step's status and time as the script reports it, and the run's
    wall time. A step reported "built in ..." was built by this run (a cold cache); "up to date"
    means the cache was warm and only checked. A cold engine build is not forced here: it takes
    many minutes, and the figure shown is only ever the one this run measured.
  * The random/tls test stand-ins (dev/e2e_providers): their build time when this run built
    them, else the time to find them in the cache. --cold-stand-ins builds them from scratch
    first: an empty cache and an empty Go build cache (modules already downloaded are reused).
  * On a copy of the project, the local TLS stack of tests/test_program_e2e.py (prod's config as
    staging, manifests rendered, schema applied to a local PostgreSQL 15): `pulumi preview`,
    the first `pulumi up` and the no-op `pulumi up` (median of --runs), with each one's
    resource summary; then no-op ups of this program and of an empty Python program on the same
    engine, alternated in pairs, and the median of their ratios against the target (<= 1.2x);
    alongside, a minimal program of the same design (one rendered Namespace, one dynamic
    resource), which shows what of the ratio any such program pays.

Run: .venv/bin/python benchmarks/bench_engine.py [--runs N] [--cold-stand-ins]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "support")]

from engine_env import (  # noqa: E402
    INSTALL_SCRIPT,
    Workspace,
    build_stand_ins,
    create_local_stack,
    prepare_engine,
)
from postgres_server import PostgresServer, find_bindir  # noqa: E402

SUMMARY_LINE = re.compile(
    r"^install-pulumi:\s{3}(?P<step>.+?) +(?P<status>(up to date|built in|copied|generated|"
    r"already installed|installed|used as is|FAILED).*)$"
)
T = TypeVar("T")


def timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.monotonic()
    result = action()
    return time.monotonic() - start, result


def install_pulumi(pulumi_home: Path) -> tuple[float, list[tuple[str, str]]]:
    """One run of scripts/install-pulumi; its own summary lines, parsed."""
    env = {**os.environ, "PULUMI_HOME": str(pulumi_home)}
    seconds, result = timed(
        lambda: subprocess.run(
            [str(INSTALL_SCRIPT), "--print-path", "--partial"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    )
    steps = [
        (match["step"].strip(), match["status"])
        for line in result.stderr.splitlines()
        if (match := SUMMARY_LINE.match(line))
    ]
    if result.returncode != 0:
        print(result.stderr[-2000:], file=sys.stderr)
    return seconds, steps


def summary(changes: Mapping[Any, int] | None) -> str:
    return ", ".join(
        f"{getattr(op, 'value', op)} {count}" for op, count in sorted((changes or {}).items())
    )


NOOP_TARGET = 1.2
EMPTY_PROGRAM = {
    "Pulumi.yaml": "name: empty\nruntime: python\ndescription: the floor of a no-op up\n",
    "__main__.py": "import pulumi  # noqa: F401\n",
}


MINIMAL_PROGRAM = {
    "Pulumi.yaml": "name: minimal\nruntime: python\ndescription: one resource of each kind\n",
    "__main__.py": """\
import pulumi_kubernetes as k8s
from pulumi import ResourceOptions, dynamic

class Nothing(dynamic.ResourceProvider):
    def create(self, props):
        return dynamic.CreateResult("nothing", {})

class NothingResource(dynamic.Resource):
    def __init__(self, name):
        super().__init__(Nothing(), name, {})

provider = k8s.Provider("render", render_yaml_to_directory="manifests")
k8s.core.v1.Namespace("trading", opts=ResourceOptions(provider=provider))
NothingResource("nothing")
""",
}


def write_program(directory: Path, files: Mapping[str, str]) -> Path:
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def empty_program(directory: Path) -> Path:
    """A Python program declaring nothing: what any no-op `pulumi up` costs on this engine."""
    return write_program(directory, EMPTY_PROGRAM)


def minimal_program(directory: Path) -> Path:
    """The least a program of this design declares: one rendered Kubernetes resource and one
    dynamic resource, so the engine starts both kinds of provider."""
    return write_program(directory, MINIMAL_PROGRAM)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="no-op `pulumi up` runs (median)")
    parser.add_argument(
        "--cold-stand-ins",
        action="store_true",
        help="build the stand-ins into an empty cache first",
    )
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    server = PostgresServer(find_bindir())
    try:
        home = scratch / "pulumi-home"
        home.mkdir()
        seconds, steps = install_pulumi(home)
        print(f"scripts/install-pulumi: {seconds:.1f}s wall")
        for step, status in steps:
            print(f"  {step:<52} {status}")

        if args.cold_stand_ins:
            stand_ins = build_stand_ins(
                scratch / "cache", go_env={"GOCACHE": str(scratch / "go-build")}
            )
            state = "built cold (empty cache and empty GOCACHE; modules from GOMODCACHE)"
        else:
            stand_ins = build_stand_ins()
            state = "built (no cache entry)" if stand_ins.built else "found in the cache (warm)"
        print(f"test stand-ins: {state} in {stand_ins.seconds:.1f}s")

        engine = prepare_engine(home)
        print(f"providers: {engine.providers}")
        info = server.start()
        workspace = Workspace.create(engine, scratch / "workspace")
        local = create_local_stack(workspace, info.dsn("postgres", sslmode="disable"))

        seconds, preview = timed(lambda: local.stack.preview(color="never"))
        print(f"pulumi preview:      {seconds:6.1f}s  ({summary(preview.change_summary)})")
        seconds, first = timed(lambda: local.stack.up(color="never"))
        print(f"pulumi up (first):   {seconds:6.1f}s  ({summary(first.summary.resource_changes)})")
        noop = [timed(lambda: local.stack.up(color="never")) for _ in range(args.runs)]
        median = statistics.median(seconds for seconds, _ in noop)
        changes = {summary(result.summary.resource_changes) for _, result in noop}
        print(f"pulumi up (no-op):   {median:6.1f}s  median of {args.runs} ({'; '.join(changes)})")

        floor = Workspace.create(
            engine, scratch / "empty-workspace", source=empty_program(scratch / "empty")
        ).create_stack("empty")
        minimal = Workspace.create(
            engine, scratch / "minimal-workspace", source=minimal_program(scratch / "minimal")
        ).create_stack("minimal")
        floor.up(color="never")
        minimal.up(color="never")
        ratios, minimal_ratios, floors, minimals = [], [], [], []
        for _ in range(args.runs):
            program_s, _ = timed(lambda: local.stack.up(color="never"))
            empty_s, _ = timed(lambda: floor.up(color="never"))
            minimal_s, _ = timed(lambda: minimal.up(color="never"))
            ratios.append(program_s / empty_s)
            minimal_ratios.append(minimal_s / empty_s)
            floors.append(empty_s)
            minimals.append(minimal_s)
        ratio = statistics.median(ratios)
        print(f"pulumi up (no-op) of an empty Python program: {statistics.median(floors):6.1f}s")
        print(
            "pulumi up (no-op) of a minimal program (one rendered Namespace, one dynamic "
            f"resource): {statistics.median(minimals):6.1f}s, "
            f"{statistics.median(minimal_ratios):.2f}x the empty program"
        )
        print(
            f"ratio no-op up program / empty program: {ratio:.2f} "
            f"(target <= {NOOP_TARGET:.2f}: {'met' if ratio <= NOOP_TARGET else 'NOT met'})"
        )
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
