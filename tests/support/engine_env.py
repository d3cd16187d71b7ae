"""What the tests that run the real Pulumi engine share: the engine itself, a PULUMI_HOME with the
providers the program needs, and a copy of the project to run it on.

The engine comes from PATH or from scripts/install-pulumi (built once into a cache). The random
and tls providers come from the user's PULUMI_HOME when they are installed there (a normal
machine); otherwise from the test stand-ins in dev/e2e_providers, built into a cache outside
the repository and installed only into a PULUMI_HOME private to the test session.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from secrets import token_hex
from typing import Any

import pytest
import yaml
from pulumi import automation as auto
from repo import DEV, REPO_ROOT

INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-pulumi"
STAND_IN_SOURCES = DEV / "e2e_providers"
STAND_IN_GUARD = "OPENALGO_E2E_STAND_INS"
STAND_IN_MARKER = b"openalgo-e2e-stand-in-provider"
STAND_IN_VERSIONS = {"random": "4.21.4", "tls": "5.6.2"}
"""The provider releases whose schemas the stand-ins implement."""

GO_BUILD = ("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w")
INSTALL_TIMEOUT_SECONDS = 3600
BUILD_TIMEOUT_SECONDS = 900
COPY_IGNORED = (
    ".git",
    ".venv",
    ".cache",
    ".pulumi",
    ".pulumi-state",
    ".hypothesis",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "__pycache__",
    "*.egg-info",
    "build",
    "rendered",
    "benchmarks",
    "tests",
    "dev",
)
STACK_FILE_SECRETS_KEYS = ("encryptionsalt", "secretsprovider", "encryptedkey")
PASSPHRASE = "e2e-passphrase"
LOCAL_STACK = "e2e"
BACKUP_DESTINATION = "s3://openalgo-e2e-backups/{token}?AUTH=implicit"


class EngineUnavailableError(RuntimeError):
    """A prerequisite of the engine (Go, the engine build) is missing on this machine."""


def cache_root() -> Path:
    """The cache scripts/install-pulumi uses; the stand-ins live in a subdirectory of it."""
    configured = os.environ.get("OPENALGO_PULUMI_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "openalgo-pulumi"


def user_pulumi_home() -> Path:
    return Path(os.environ.get("PULUMI_HOME") or Path.home() / ".pulumi")


def sdk_plugin_version(package: str) -> str:
    """The provider version an installed Python SDK asks the engine for."""
    manifest = json.loads((resources.files(package) / "pulumi-plugin.json").read_text())
    version: str = manifest["version"]
    return version


def find_engine(pulumi_home: Path | None = None) -> Path:
    """The directory holding `pulumi` (and the Python language host): PATH, else the build.

    With ``pulumi_home``, a built engine's providers are installed into that PULUMI_HOME.
    """
    found = shutil.which("pulumi")
    if found:
        return Path(found).parent
    env = dict(os.environ)
    if pulumi_home is not None:
        env["PULUMI_HOME"] = str(pulumi_home)
    result = subprocess.run(
        [str(INSTALL_SCRIPT), "--print-path", "--partial"],
        capture_output=True,
        text=True,
        env=env,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise EngineUnavailableError(
            f"no Pulumi engine: scripts/install-pulumi failed:\n{result.stderr[-2000:]}"
        )
    return Path(result.stdout.strip().splitlines()[-1])


def source_digest(directory: Path) -> str:
    """One hash over a Go module's sources and the Go toolchain that builds them."""
    digest = hashlib.sha256()
    files = sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and (path.suffix == ".go" or path.name in {"go.mod", "go.sum"})
    )
    for path in files:
        digest.update(str(path.relative_to(directory)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    go_version = subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()
    digest.update(go_version.encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class StandInBuild:
    """The stand-in provider binaries and how they were obtained this time."""

    binaries: dict[str, Path]
    built: bool
    seconds: float


def build_stand_ins(
    cache: Path | None = None, go_env: Mapping[str, str] | None = None
) -> StandInBuild:
    """Build dev/e2e_providers once per source hash into the cache (never into the repo);
    ``go_env`` adds to Go's environment (a benchmark's empty GOCACHE)."""
    if shutil.which("go") is None:
        raise EngineUnavailableError("Go is not on PATH: it builds the random/tls test stand-ins")
    start = time.monotonic()
    target = (cache or cache_root()) / "e2e-stand-ins" / source_digest(STAND_IN_SOURCES)
    binaries = {name: target / f"pulumi-resource-{name}" for name in STAND_IN_VERSIONS}
    if all(path.is_file() for path in binaries.values()):
        return StandInBuild(binaries, built=False, seconds=time.monotonic() - start)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="building-", dir=target.parent))
    try:
        result = subprocess.run(
            [*GO_BUILD, "-o", f"{staging}{os.sep}", "./cmd/..."],
            cwd=STAND_IN_SOURCES,
            env={**os.environ, **(go_env or {})},
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"building the test stand-ins failed:\n{result.stderr[-3000:]}")
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # another session won the race, else a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for older in target.parent.iterdir():
        if older != target and not older.name.startswith("building-"):
            shutil.rmtree(older, ignore_errors=True)
    return StandInBuild(binaries, built=True, seconds=time.monotonic() - start)


def installed_plugin(home: Path, name: str, version: str) -> Path | None:
    """A resource provider binary installed in a PULUMI_HOME, if complete."""
    directory = home / "plugins" / f"resource-{name}-v{version}"
    binary = directory / f"pulumi-resource-{name}"
    partial = directory.with_name(directory.name + ".partial")
    return binary if binary.is_file() and not partial.exists() else None


def is_stand_in(binary: Path) -> bool:
    with binary.open("rb") as handle:
        tail = b""
        while chunk := handle.read(1 << 20):
            if STAND_IN_MARKER in tail + chunk:
                return True
            tail = chunk[-len(STAND_IN_MARKER) :]
    return False


def install_plugin(bin_dir: Path, home: Path, name: str, version: str, binary: Path) -> None:
    result = subprocess.run(
        [str(bin_dir / "pulumi"), "plugin", "install", "resource", name, version, "--file", binary],
        env={**os.environ, "PULUMI_HOME": str(home), "PULUMI_SKIP_UPDATE_CHECK": "true"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"pulumi plugin install {name} {version} into {home} failed:\n"
            f"{result.stdout}\n{result.stderr}"
        )


@dataclass(frozen=True)
class Engine:
    """A Pulumi CLI and the PULUMI_HOME whose providers it runs the program with."""

    bin_dir: Path
    pulumi_home: Path
    providers: str
    """Where random and tls come from, said in words for test reports."""
    stand_ins: StandInBuild | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def environ(self) -> dict[str, str]:
        return {
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(self.pulumi_home),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            **self.extra_env,
        }


def refuse_leaked_stand_ins(home: Path) -> None:
    for name, version in STAND_IN_VERSIONS.items():
        binary = installed_plugin(home, name, version)
        if binary is not None and is_stand_in(binary):
            raise RuntimeError(
                f"{binary} is the test stand-in from dev/e2e_providers, not pulumi-{name}; "
                f"it must never be installed outside a test session: remove {binary.parent}"
            )


def prepare_engine(private_home: Path) -> Engine:
    """The engine with real random/tls from the user's PULUMI_HOME if installed there, else with
    the stand-ins installed into ``private_home`` (the user's PULUMI_HOME is never written)."""
    for package, name in (("pulumi_random", "random"), ("pulumi_tls", "tls")):
        requested = sdk_plugin_version(package)
        if requested != STAND_IN_VERSIONS[name]:
            raise RuntimeError(
                f"{package} asks for provider {name} {requested}; the stand-in in "
                f"dev/e2e_providers implements {STAND_IN_VERSIONS[name]}: update it to the "
                "new release's schema and version"
            )
    user_home = user_pulumi_home()
    refuse_leaked_stand_ins(user_home)
    if all(installed_plugin(user_home, n, v) for n, v in STAND_IN_VERSIONS.items()):
        return Engine(
            bin_dir=find_engine(),
            pulumi_home=user_home,
            providers=f"the real random and tls providers installed in {user_home}",
        )
    private_home.mkdir(parents=True, exist_ok=True)
    bin_dir = find_engine(private_home)
    kubernetes = sdk_plugin_version("pulumi_kubernetes")
    user_kubernetes = installed_plugin(user_home, "kubernetes", kubernetes)
    if installed_plugin(private_home, "kubernetes", kubernetes) is None and user_kubernetes:
        install_plugin(bin_dir, private_home, "kubernetes", kubernetes, user_kubernetes)
    build = build_stand_ins()
    for name, version in STAND_IN_VERSIONS.items():
        install_plugin(bin_dir, private_home, name, version, build.binaries[name])
    return Engine(
        bin_dir=bin_dir,
        pulumi_home=private_home,
        providers=(
            "test stand-ins for random and tls (dev/e2e_providers), installed only into "
            f"the session's PULUMI_HOME {private_home}"
        ),
        stand_ins=build,
        extra_env={STAND_IN_GUARD: "1"},
    )


def project_venv() -> Path:
    venv = REPO_ROOT / ".venv"
    return venv if venv.is_dir() else Path(sys.prefix)


def copy_project(destination: Path, source: Path = REPO_ROOT) -> Path:
    """The project's files (from ``source``, another version of them) in ``destination``,
    runnable there with the project's venv.

    Stack files lose any encryption salt (it belongs to another passphrase and backend); the
    copy's Pulumi.yaml names the venv by absolute path.
    """
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*COPY_IGNORED))
    project_file = destination / "Pulumi.yaml"
    project = yaml.safe_load(project_file.read_text())
    project.setdefault("runtime", {"name": "python"})
    if isinstance(project["runtime"], str):
        project["runtime"] = {"name": project["runtime"]}
    project["runtime"].setdefault("options", {})["virtualenv"] = str(project_venv())
    project_file.write_text(yaml.safe_dump(project, sort_keys=False))
    for stack_file in destination.glob("Pulumi.*.yaml"):
        document = yaml.safe_load(stack_file.read_text()) or {}
        for key in STACK_FILE_SECRETS_KEYS:
            document.pop(key, None)
        stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    return destination


@dataclass(frozen=True)
class Workspace:
    """A copy of the project with a file backend beside it, where stacks are created."""

    engine: Engine
    root: Path
    project: Path
    backend: Path

    @classmethod
    def create(cls, engine: Engine, root: Path, source: Path = REPO_ROOT) -> Workspace:
        backend = root / "state"
        backend.mkdir(parents=True)
        return cls(engine, root, copy_project(root / "project", source), backend)

    def command(self) -> auto.PulumiCommand:
        """The engine's CLI; the Automation API looks for it as <root>/bin/pulumi."""
        bin_dir = self.engine.bin_dir
        if bin_dir.name != "bin":
            link = self.root / "cli" / "bin"
            if not link.exists():
                link.parent.mkdir(exist_ok=True)
                link.symlink_to(bin_dir)
            bin_dir = link
        return auto.PulumiCommand(root=str(bin_dir.parent))

    def create_stack(self, name: str) -> auto.Stack:
        env = {
            **self.engine.environ(),
            "PULUMI_BACKEND_URL": f"file://{self.backend}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PYTHONPATH": str(self.project),
        }
        options = auto.LocalWorkspaceOptions(
            work_dir=str(self.project),
            pulumi_home=str(self.engine.pulumi_home),
            env_vars=env,
            secrets_provider="passphrase",
            pulumi_command=self.command(),
        )
        return auto.create_stack(name, work_dir=str(self.project), opts=options)


def plain_export(stack: auto.Stack) -> dict[str, Any]:
    """`pulumi stack export` as an operator runs it: secrets stay encrypted (the Automation API's
    export_stack() adds --show-secrets)."""
    workspace = stack.workspace
    assert isinstance(workspace, auto.LocalWorkspace)
    env = {**workspace.env_vars, "PULUMI_HOME": str(workspace.pulumi_home)}
    result = workspace.pulumi_command.run(
        ["stack", "export", "--stack", stack.name], workspace.work_dir, env
    )
    exported: dict[str, Any] = json.loads(result.stdout)
    return exported


def committed_config(stack: str, project: Path = REPO_ROOT) -> dict[str, Any]:
    """A committed stack file's `openalgo:` settings, keyed without the namespace."""
    document = yaml.safe_load((project / f"Pulumi.{stack}.yaml").read_text())
    return {key.split(":", 1)[1]: value for key, value in document["config"].items()}


def rendered_target(config: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The stack's `kubernetes` setting with manifests rendered instead of deployed."""
    return {**dict(config.get("kubernetes") or {}), "mode": "render", **extra}


def backup_needs_destination(config: Mapping[str, Any]) -> bool:
    return bool((config.get("backup") or {}).get("enabled"))


@dataclass(frozen=True)
class LocalStack:
    """A prod-like stack that runs here: manifests to a directory, schema to a DSN."""

    stack: auto.Stack
    config: dict[str, Any]
    secrets: dict[str, str]
    render_directory: Path


def create_local_stack(
    workspace: Workspace, admin_dsn: str, project: Path = REPO_ROOT
) -> LocalStack:
    """Prod's config (as ``project`` commits it) as `staging` with `protect: false` (so destroy
    works), rendered to a directory, its schema applied through ``admin_dsn``."""
    render_directory = workspace.root / "rendered"
    config = committed_config("prod", project)
    config.update(
        environment="staging",
        protect=False,
        kubernetes=rendered_target(config, renderDirectory=str(render_directory)),
    )
    stack_file = workspace.project / f"Pulumi.{LOCAL_STACK}.yaml"
    stack_file.write_text(
        yaml.safe_dump({"config": {f"openalgo:{key}": value for key, value in config.items()}})
    )
    secrets = {"adminDsn": admin_dsn}
    if backup_needs_destination(config):
        secrets["backupDestination"] = BACKUP_DESTINATION.format(token=token_hex(12))
    stack = workspace.create_stack(LOCAL_STACK)
    stack.set_all_config(
        {f"openalgo:{key}": auto.ConfigValue(value, secret=True) for key, value in secrets.items()}
    )
    return LocalStack(stack, config, secrets, render_directory)


COMMAND_TIMEOUT_SECONDS = 300


def run_pulumi(
    project: Path, env: Mapping[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """One non-interactive `pulumi` command in ``project``; failing it fails the test."""
    result = subprocess.run(
        ["pulumi", "--non-interactive", *args],
        cwd=project,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"pulumi {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result
