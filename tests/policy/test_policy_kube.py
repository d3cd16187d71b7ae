"""Reading Kubernetes objects for the policy pack: flags, images and label selectors."""

from __future__ import annotations

from typing import Any

import pytest

from policy.kube import (
    flag_value,
    is_cockroach_image,
    kind_of,
    mounted_from_secret,
    passes_insecure,
    selector_matches,
    split_image,
)

LABELS = {"app.kubernetes.io/name": "cockroachdb", "tier": "db"}


@pytest.mark.parametrize(
    ("resource_type", "kind"),
    [
        ("kubernetes:apps/v1:StatefulSet", "StatefulSet"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "NetworkPolicy"),
        ("pulumi:providers:kubernetes", None),
        ("pulumi-python:dynamic/openalgo:SchemaMigrations", None),
    ],
)
def test_kind_comes_from_kubernetes_type_tokens_only(resource_type: str, kind: str | None) -> None:
    assert kind_of(resource_type) == kind


@pytest.mark.parametrize(
    "tokens",
    [
        ["start", "--insecure"],
        ["start", "--insecure=true"],
        ["-c", "cockroach sql --insecure -e 1"],
    ],
)
def test_insecure_is_found_as_a_flag_or_inside_a_script(tokens: list[str]) -> None:
    assert passes_insecure({"args": tokens})


@pytest.mark.parametrize(
    "tokens",
    [["start", "--insecure=false"], ["start", "--certs-dir=/certs"], ["--insecure-port=1"]],
)
def test_insecure_false_and_lookalike_flags_are_not_insecure(tokens: list[str]) -> None:
    assert not passes_insecure({"args": tokens})


def test_insecure_environment_false_is_not_insecure() -> None:
    assert not passes_insecure({"env": [{"name": "COCKROACH_INSECURE", "value": "false"}]})


def test_flag_values_are_read_in_both_spellings() -> None:
    assert flag_value(["--certs-dir=/a"], "--certs-dir") == "/a"
    assert flag_value(["--certs-dir", "/b"], "--certs-dir") == "/b"
    assert flag_value(["--certs-directory=/c"], "--certs-dir") is None


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("cockroachdb/cockroach:v25.2.8", ("cockroachdb/cockroach", "v25.2.8", None)),
        ("host:5000/cockroachdb/cockroach", ("host:5000/cockroachdb/cockroach", None, None)),
        ("cockroach@sha256:ab", ("cockroach", None, "sha256:ab")),
        ("a/b:v1@sha256:ab", ("a/b", "v1", "sha256:ab")),
    ],
)
def test_image_references_split_into_repository_tag_and_digest(
    image: str, parts: tuple[str, str | None, str | None]
) -> None:
    assert split_image(image) == parts


def test_cockroach_images_are_recognised_from_any_registry() -> None:
    assert is_cockroach_image("registry.example.com/mirror/cockroachdb/cockroach:v25.2.8")
    assert not is_cockroach_image("cockroachdb/cockroach-operator:v2.18.0")


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        ({}, True),
        ({"matchLabels": {"tier": "db"}}, True),
        ({"matchLabels": {"tier": "web"}}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}, False),
        ({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Gt", "values": ["1"]}]}, False),
    ],
)
def test_label_selectors_match_as_kubernetes_does(selector: dict[str, Any], selected: bool) -> None:
    assert selector_matches(selector, LABELS) is selected


def test_a_projected_secret_counts_as_a_secret_mount() -> None:
    pod = {
        "volumes": [
            {"name": "certs", "projected": {"sources": [{"secret": {"name": "node-certs"}}]}}
        ]
    }
    container = {"volumeMounts": [{"name": "certs", "mountPath": "/certs/"}]}
    assert mounted_from_secret(pod, container, "/certs")
