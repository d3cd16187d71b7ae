"""Each node's --locality: read from its Kubernetes node by an init step with the least RBAC."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from stack_harness import RenderedStack, run_stack_file

from components.locality import (
    LOCALITY_FILE,
    TOKEN_DIR,
    locality_script,
    node_reader_name,
    start_command,
)
from rules.names import COCKROACH_BINARY


def pod(stack: RenderedStack) -> dict[str, Any]:
    template: dict[str, Any] = stack.one("kubernetes:apps/v1:StatefulSet").manifest()["spec"][
        "template"
    ]["spec"]
    return template


def mounts(container: dict[str, Any]) -> set[str]:
    return {mount["mountPath"] for mount in container.get("volumeMounts", [])}


def test_an_init_step_reads_the_locality_before_the_node_starts(prod: RenderedStack) -> None:
    [init] = pod(prod)["initContainers"]
    assert init["name"] == "locality"
    assert init["command"][:4] == ["python3", "-I", "-B", "-c"]
    assert {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}} in init[
        "env"
    ]


def test_only_the_init_step_holds_a_service_account_token(prod: RenderedStack) -> None:
    spec = pod(prod)
    [init], [node] = spec["initContainers"], spec["containers"]
    assert spec["automountServiceAccountToken"] is False
    assert TOKEN_DIR in mounts(init)
    assert TOKEN_DIR not in mounts(node)


def test_the_init_step_runs_under_the_restricted_profile(prod: RenderedStack) -> None:
    [init] = pod(prod)["initContainers"]
    context = init["securityContext"]
    assert (context["runAsNonRoot"], context["readOnlyRootFilesystem"]) == (True, True)
    assert context["capabilities"] == {"drop": ["ALL"]}


def test_the_node_starts_through_a_shell_that_adds_the_locality(prod: RenderedStack) -> None:
    [node] = pod(prod)["containers"]
    assert node["command"] == start_command()
    assert node["args"][0] == "start"
    assert "/cockroach/locality" in mounts(node)


def test_the_node_reader_may_only_get_nodes(prod: RenderedStack) -> None:
    role = prod.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").manifest()
    assert role["metadata"]["name"] == "trading-cockroachdb-node-reader"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]


def test_the_node_reader_is_bound_to_the_database_service_account(prod: RenderedStack) -> None:
    binding = prod.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").manifest()
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "cockroachdb", "namespace": "trading"}
    ]
    assert binding["roleRef"]["name"] == node_reader_name("trading")


def test_fixed_tiers_come_before_region_and_zone() -> None:
    script = locality_script(("cloud=gcp", "dc=east"))
    assert "tiers = ['cloud=gcp', 'dc=east'] + [k + \"=\" + labels[l]" in script


def test_without_locality_the_node_starts_as_before_and_reads_no_node() -> None:
    stack = run_stack_file("prod", locality={"enabled": False})
    spec = pod(stack)
    assert "initContainers" not in spec
    assert spec["containers"][0]["command"] == [COCKROACH_BINARY]
    assert not [r for r in stack.resources if r.kind in ("ClusterRole", "ClusterRoleBinding")]


@pytest.fixture
def started(tmp_path: Path) -> Any:
    """Runs the node's start command with an `echo` for cockroach and a temporary locality
    file; returns what cockroach would have been started with."""
    fake = tmp_path / "cockroach"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)
    locality = tmp_path / "locality"

    def run(written: str | None) -> list[str]:
        if written is not None:
            locality.write_text(written)
        command = [
            part.replace(LOCALITY_FILE, str(locality)).replace(COCKROACH_BINARY, str(fake))
            for part in start_command()
        ]
        result = subprocess.run(
            [*command, "start", "--insecure"], capture_output=True, text=True, check=True
        )
        return result.stdout.splitlines()

    return run


def test_start_command_passes_the_locality_it_read(started: Any) -> None:
    assert started("region=r1,zone=a") == ["start", "--insecure", "--locality=region=r1,zone=a"]


def test_start_command_adds_no_locality_flag_when_the_node_has_none(started: Any) -> None:
    assert started("") == ["start", "--insecure"]


def test_start_command_starts_even_without_the_file(started: Any) -> None:
    assert started(None) == ["start", "--insecure"]
