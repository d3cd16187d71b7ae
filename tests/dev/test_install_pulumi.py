"""Specification of scripts/install-pulumi's command line, without building anything."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from repo import SCRIPTS

SCRIPT = SCRIPTS / "install-pulumi"


def fake_pulumi(directory: Path, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    binary = directory / "pulumi"
    binary.write_text(f"#!/bin/sh\necho v{version}\n")
    binary.chmod(0o755)
    return directory


def run(args: list[str], path: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": path,
        "HOME": str(cache),
        "OPENALGO_PULUMI_CACHE": str(cache / "engine"),
    }
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run(
        [bash, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60
    )


def pinned_pulumi() -> str:
    constraints = (SCRIPT.parent.parent / "constraints.txt").read_text()
    pins = dict(line.split("==", 1) for line in constraints.splitlines() if "==" in line)
    return pins["pulumi"].strip()


# What the script runs before it looks for a Go toolchain; linked alone onto PATH so
# that no test can reach a real `go` or `pulumi` and start a build.
BASE_TOOLS = ("dirname", "sed", "sort", "head", "realpath")


def tools_dir(root: Path) -> Path:
    directory = root / "tools"
    directory.mkdir(exist_ok=True)
    for tool in BASE_TOOLS:
        found = shutil.which(tool)
        assert found is not None, f"{tool} is needed to run the script"
        link = directory / tool
        if not link.exists():
            link.symlink_to(found)
    return directory


def restricted_path(root: Path, *extra: Path) -> str:
    return os.pathsep.join(str(p) for p in (*extra, tools_dir(root)))


def test_help_describes_print_path_usage(tmp_path: Path) -> None:
    result = run(["--help"], restricted_path(tmp_path), tmp_path)

    assert result.returncode == 0
    assert "--print-path" in result.stdout


def test_unknown_argument_is_rejected_by_name(tmp_path: Path) -> None:
    result = run(["--fast"], restricted_path(tmp_path), tmp_path)

    assert result.returncode == 2
    assert "'--fast'" in result.stderr


def test_compatible_pulumi_on_path_is_used_and_its_directory_printed(tmp_path: Path) -> None:
    major, minor, patch = (int(part) for part in pinned_pulumi().split("."))
    bin_dir = fake_pulumi(tmp_path / "user-bin", f"{major}.{minor}.{patch + 1}")

    result = run(["--print-path"], restricted_path(tmp_path, bin_dir), tmp_path)

    assert result.returncode == 0
    assert result.stdout == f"{bin_dir}\n"
    assert "using the pulumi already on PATH" in result.stderr


@pytest.mark.parametrize("version", ["2.99.0", "3.0.0"])
def test_incompatible_pulumi_on_path_is_ignored(tmp_path: Path, version: str) -> None:
    bin_dir = fake_pulumi(tmp_path / "user-bin", version)

    result = run(["--print-path"], restricted_path(tmp_path, bin_dir), tmp_path)

    assert f"ignoring pulumi on PATH at {bin_dir / 'pulumi'}" in result.stderr
    assert str(bin_dir) not in result.stdout


def test_missing_go_toolchain_fails_naming_the_preflight_step(tmp_path: Path) -> None:
    result = run([], restricted_path(tmp_path), tmp_path)

    assert result.returncode == 1
    assert "FAILED: preflight: 'go' is not on PATH" in result.stderr
