"""scripts/decommission, driven against a stand-in kubectl that records what it is asked."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "decommission"
STATUS = """id,address,sql_address,build,started_at,updated_at,locality,is_available,is_live
1,cockroachdb-0.cockroachdb.trading.svc.cluster.local:26257,x,v25.2.8,t,t,,true,true
2,cockroachdb-1.cockroachdb.trading.svc.cluster.local:26257,x,v25.2.8,t,t,,true,true
3,cockroachdb-2.cockroachdb.trading.svc.cluster.local:26257,x,v25.2.8,t,t,,true,true
7,cockroachdb-3.cockroachdb.trading.svc.cluster.local:26257,x,v25.2.8,t,t,,true,true
"""


@pytest.fixture
def kubectl(tmp_path: Path) -> Path:
    """A kubectl that logs its arguments and answers `node status` with STATUS."""
    log = tmp_path / "calls.log"
    (tmp_path / "status.csv").write_text(STATUS)
    fake = tmp_path / "kubectl"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> "{log}"\n'
        f'case "$*" in *"node status"*) cat "{tmp_path / "status.csv"}";; esac\n'
    )
    fake.chmod(0o755)
    return log


def run(kubectl: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PATH": f"{kubectl.parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, check=False
    )


def test_ordinals_are_mapped_to_node_ids_and_decommissioned(kubectl: Path) -> None:
    result = run(kubectl, "3")
    assert result.returncode == 0, result.stderr
    calls = kubectl.read_text().splitlines()
    assert calls[-1] == (
        "-n trading exec cockroachdb-client -- ./cockroach node decommission 7 --wait=all "
        "--host=cockroachdb-public:26257"
    )
    assert "set openalgo:scaling.decommissioned to [3]" in result.stdout


def test_insecure_clusters_get_the_insecure_flag(kubectl: Path) -> None:
    run(kubectl, "--insecure", "-n", "trading-dev", "3")
    assert (
        kubectl.read_text()
        .splitlines()[-1]
        .startswith(
            "-n trading-dev exec cockroachdb-client -- ./cockroach node decommission 7 --wait=all "
            "--insecure"
        )
    )


def test_a_pod_that_never_joined_needs_no_decommissioning(kubectl: Path) -> None:
    result = run(kubectl, "5")
    assert result.returncode == 0
    assert "no node advertises cockroachdb-5" in result.stderr
    assert not any("decommission" in line for line in kubectl.read_text().splitlines())


def test_an_ordinal_must_be_a_number(kubectl: Path) -> None:
    result = run(kubectl, "cockroachdb-3")
    assert result.returncode == 2
    assert "'cockroachdb-3' is not a pod ordinal" in result.stderr


def test_at_least_one_ordinal_is_required(kubectl: Path) -> None:
    assert run(kubectl).returncode == 2
