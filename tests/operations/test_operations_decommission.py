"""`python -m operations decommission`: ordinals to node ids, then `cockroach node decommission`.

The command runs against a stand-in kubectl on PATH that records what it is asked, so the exact
command lines are checked; the pure parts are checked directly.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from stack_harness import ROOT

from operations.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, run
from operations.decommission import (
    ClientPod,
    NodeStatusFormatError,
    next_steps,
    node_ids_of_pods,
    parse_ordinal,
)

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


@pytest.fixture
def failing_kubectl(tmp_path: Path) -> Path:
    """A kubectl that cannot reach the cluster."""
    fake = tmp_path / "kubectl"
    fake.write_text(
        '#!/usr/bin/env bash\necho "pods \\"cockroachdb-client\\" not found" >&2\nexit 1\n'
    )
    fake.chmod(0o755)
    return fake


def decommission(kubectl: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PATH": f"{kubectl.parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, "-m", "operations", "decommission", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_ordinals_are_mapped_to_node_ids_and_decommissioned(kubectl: Path) -> None:
    result = decommission(kubectl, "3")
    assert result.returncode == EXIT_OK, result.stderr
    calls = kubectl.read_text().splitlines()
    assert calls[-1] == (
        "-n trading exec cockroachdb-client -- ./cockroach node decommission 7 --wait=all "
        "--host=cockroachdb-public:26257"
    )
    assert "set openalgo:scaling.decommissioned to [3]" in result.stdout


def test_node_status_is_read_in_the_client_pod_first(kubectl: Path) -> None:
    decommission(kubectl, "3")
    assert kubectl.read_text().splitlines()[0] == (
        "-n trading exec cockroachdb-client -- ./cockroach node status --format=csv "
        "--host=cockroachdb-public:26257"
    )


def test_insecure_clusters_get_the_insecure_flag(kubectl: Path) -> None:
    decommission(kubectl, "--insecure", "-n", "trading-dev", "3")
    assert (
        kubectl.read_text()
        .splitlines()[-1]
        .startswith(
            "-n trading-dev exec cockroachdb-client -- ./cockroach node decommission 7 --wait=all "
            "--insecure"
        )
    )


def test_a_pod_that_never_joined_needs_no_decommissioning(kubectl: Path) -> None:
    result = decommission(kubectl, "5")
    assert result.returncode == EXIT_OK
    assert "no node advertises cockroachdb-5" in result.stderr
    assert not any("decommission" in line for line in kubectl.read_text().splitlines())


def test_an_ordinal_must_be_a_number(kubectl: Path) -> None:
    result = decommission(kubectl, "cockroachdb-3")
    assert result.returncode == EXIT_USAGE
    assert "'cockroachdb-3' is not a pod ordinal" in result.stderr


def test_at_least_one_ordinal_is_required(kubectl: Path) -> None:
    assert decommission(kubectl).returncode == EXIT_USAGE


def test_one_refused_ordinal_refuses_them_all_before_anything_runs(kubectl: Path) -> None:
    result = decommission(kubectl, "3", "-1")
    assert (result.returncode, kubectl.exists()) == (EXIT_USAGE, False)
    assert "'-1' is not a pod ordinal" in result.stderr


def test_a_failing_kubectl_exits_1_naming_the_command(failing_kubectl: Path) -> None:
    result = decommission(failing_kubectl, "3")
    assert result.returncode == EXIT_FAILED
    assert "./cockroach node status --format=csv" in result.stderr
    assert 'pods "cockroachdb-client" not found' in result.stderr


def test_every_ordinal_is_listed_in_the_next_steps() -> None:
    assert next_steps([4, 5]) == (
        "done: set openalgo:scaling.decommissioned to [4,5] and lower openalgo:replicas"
    )


@pytest.mark.parametrize("text", ["", "4.0", "+4", "٤", "cockroachdb-4"])
def test_only_plain_digits_are_an_ordinal(text: str) -> None:
    with pytest.raises(ValueError, match="is not a pod ordinal"):
        parse_ordinal(text)


def test_the_newest_node_id_at_a_pods_address_counts() -> None:
    replaced = STATUS + "9,cockroachdb-3.cockroachdb.trading.svc.cluster.local:26257,x,v,t,t,,t,t\n"
    assert node_ids_of_pods(replaced, [3]) == {3: 9}


def test_a_pod_is_matched_by_its_whole_name() -> None:
    status = "id,address\n11,cockroachdb-10.cockroachdb.trading.svc:26257\n"
    assert node_ids_of_pods(status, [1]) == {1: None}


def test_node_status_without_an_address_column_is_refused() -> None:
    with pytest.raises(NodeStatusFormatError):
        node_ids_of_pods("id,host\n1,cockroachdb-0\n", [0])


def test_duplicate_ordinals_are_decommissioned_once() -> None:
    calls: list[list[str]] = []

    def execute(argv: Sequence[str], capture: bool) -> str:
        calls.append(list(argv))
        return STATUS if capture else ""

    out = io.StringIO()
    code = run(["decommission", "3", "3"], out, io.StringIO(), execute=execute)
    assert code == EXIT_OK
    assert calls[-1] == ClientPod("trading", insecure=False).command(
        "node", "decommission", "7", "--wait=all"
    )
    assert "to [3] and" in out.getvalue()
