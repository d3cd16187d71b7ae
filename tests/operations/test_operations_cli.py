"""The `python -m operations` entry point: import hygiene, help, usage and a real connection."""

from __future__ import annotations

import io
import subprocess
import sys

from postgres_server import free_port
from stack_harness import ROOT

from operations.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, run


def test_importing_the_commands_loads_no_pulumi_and_prints_nothing() -> None:
    probe = (
        "import sys, operations.cli, operations.status, operations.certs, operations.x509; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pulumi'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert (result.stdout, result.stderr) == ("[]\n", "")


def test_module_help_lists_both_commands_and_the_exit_codes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "operations", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == EXIT_OK
    assert "status" in result.stdout
    assert "certs" in result.stdout
    assert "degraded" in result.stdout


def test_an_unknown_command_is_a_usage_error() -> None:
    assert run(["repair"], io.StringIO(), io.StringIO()) == EXIT_USAGE


def test_a_server_that_does_not_answer_exits_1_with_cannot_connect() -> None:
    dsn = f"postgresql://root:pw-not-shown@127.0.0.1:{free_port()}/defaultdb?connect_timeout=3"
    out, err = io.StringIO(), io.StringIO()
    code = run(["status", "--dsn", dsn], out, err)
    assert code == EXIT_FAILED
    assert "cannot connect to postgresql://root:***@127.0.0.1:" in err.getvalue()
    assert "pw-not-shown" not in err.getvalue()
