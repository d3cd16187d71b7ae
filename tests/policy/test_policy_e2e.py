"""The policy pack under the real Pulumi engine: `pulumi preview --policy-pack` of this program.

Each test previews a copy of the program in a temporary directory, on a file backend, rendering
manifests instead of reaching a cluster. The pack is started through
dev/policy-analyzer/pulumi-analyzer-policy-python, which any engine can launch. The stacks stay
insecure (no TLS): certificates come from the tls provider, which the engine built here does not
have.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import unavailable
from engine_env import run_pulumi
from repo import DEV, REPO_ROOT

pytestmark = pytest.mark.e2e

LAUNCHER = DEV / "policy-analyzer" / "pulumi-analyzer-policy-python"
FORCE_PRODUCTION = REPO_ROOT / "policy" / "force-production.json"
PROGRAM = ("__main__.py", "components", "database", "kube", "migrator", "rules", "sql")
INSTALL_TIMEOUT_SECONDS = 3600
PREVIEW_TIMEOUT_SECONDS = 300
HARDENED = {
    "openalgo:protect": "true",
    "openalgo:networkPolicy": {
        "enabled": True,
        "sqlClients": [{"namespaceLabels": {"kubernetes.io/metadata.name": "openalgo"}}],
    },
    "openalgo:schema": {"allowDrop": False},
}
"""The dev stack with everything production asks for that an insecure stack can have."""


@pytest.fixture(scope="module")
def pulumi_bin() -> Path:
    found = shutil.which("pulumi")
    if found:
        return Path(found).parent
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "install-pulumi"), "--print-path", "--partial"],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        unavailable(f"no Pulumi engine: scripts/install-pulumi failed:\n{result.stderr[-2000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def engine_env(pulumi_bin: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PATH": f"{pulumi_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_CONFIG_PASSPHRASE": "policy-e2e",
    }
    plugins = subprocess.run(
        ["pulumi", "plugin", "ls", "--json"], env=env, capture_output=True, text=True, check=False
    )
    installed = json.loads(plugins.stdout or "[]") if plugins.returncode == 0 else []
    if not any(p.get("name") == "kubernetes" and p.get("kind") == "resource" for p in installed):
        unavailable("the kubernetes provider plugin is not installed (scripts/install-pulumi)")
    return env


@dataclass
class Preview:
    returncode: int
    output: str


@dataclass
class Project:
    """A copy of the program with a file backend, ready to preview any stack."""

    root: Path
    env: dict[str, str]

    def preview(
        self, stack: str, overrides: dict[str, Any], policy_config: dict[str, Any] | None = None
    ) -> Preview:
        config = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())["config"]
        config["openalgo:kubernetes"] = {
            "mode": "render",
            "renderDirectory": str(self.root / "rendered" / stack),
        }
        config.update(overrides)
        project = self.root / "project"
        (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
        self._pulumi("stack", "init", stack)
        command = ["preview", "--stack", stack, "--policy-pack", str(LAUNCHER)]
        if policy_config is not None:
            path = self.root / f"policy-{stack}.json"
            path.write_text(json.dumps(policy_config))
            command += ["--policy-pack-config", str(path)]
        result = self._pulumi(*command, check=False)
        return Preview(result.returncode, result.stdout + result.stderr)

    def _pulumi(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_pulumi(self.root / "project", self.env, *args, check=check)


@pytest.fixture
def project(engine_env: dict[str, str], tmp_path: Path) -> Project:
    program = tmp_path / "project"
    program.mkdir()
    for name in PROGRAM:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, program / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, program / name)
    (program / "Pulumi.yaml").write_text(
        "name: openalgo-cockroachdb\nruntime:\n  name: python\n  options:\n"
        f"    toolchain: pip\n    virtualenv: {sys.prefix}\n"
    )
    (tmp_path / "state").mkdir()
    env = {**engine_env, "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}"}
    return Project(tmp_path, env)


def listed_as_production(pattern: str) -> dict[str, Any]:
    """Policy config adding stack names to the production ones, for every policy of the pack."""
    policies: dict[str, Any] = json.loads(FORCE_PRODUCTION.read_text())
    return {name: {"productionStacks": [pattern]} for name in policies}


def forced(levels: dict[str, str]) -> dict[str, Any]:
    """The committed force-production config, with the enforcement of some policies changed."""
    config: dict[str, Any] = json.loads(FORCE_PRODUCTION.read_text())
    for name, level in levels.items():
        config[name] = config[name] | {"enforcementLevel": level}
    return config


def test_the_program_refuses_a_dev_config_on_the_stack_named_prod(project: Project) -> None:
    preview = project.preview("prod", {})
    assert preview.returncode != 0
    assert "openalgo:environment = 'dev': 'prod' in the stack named prod" in preview.output


def test_an_insecure_stack_named_as_production_in_policy_config_is_refused(
    project: Project,
) -> None:
    preview = project.preview("prod-eu", {}, listed_as_production("prod-*"))
    assert preview.returncode != 0
    for expected in (
        "[mandatory]  cockroachdb-tls",
        "StatefulSet trading/cockroachdb: container 'cockroachdb' turns on --insecure",
        "[mandatory]  cockroachdb-network-policy",
        "namespace trading: no default-deny ingress NetworkPolicy",
        "[mandatory]  protected-resources",
        "Namespace trading is not protected",
    ):
        assert expected in preview.output, preview.output


def test_a_dev_stack_is_not_held_to_production_rules(project: Project) -> None:
    preview = project.preview("dev", {})
    assert preview.returncode == 0, preview.output
    assert "openalgo-cockroachdb-production@v0.1.0" in preview.output


def test_a_hardened_stack_forced_to_production_passes_every_rule_but_tls(
    project: Project,
) -> None:
    preview = project.preview("hardened", HARDENED, forced({"cockroachdb-tls": "disabled"}))
    assert preview.returncode == 0, preview.output
    assert "✅ openalgo-cockroachdb-production@v0.1.0" in preview.output


def test_the_hardened_stack_left_unprotected_is_refused(project: Project) -> None:
    unprotected = HARDENED | {"openalgo:protect": "false"}
    preview = project.preview("unprotected", unprotected, forced({"cockroachdb-tls": "disabled"}))
    assert preview.returncode != 0
    assert "[mandatory]  protected-resources" in preview.output, preview.output
    assert "cockroachdb-network-policy" not in preview.output
