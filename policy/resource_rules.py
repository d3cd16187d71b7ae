"""Rules judged one resource at a time: each takes the resource's type and properties (as the
policy SDK hands them over, camelCase) and returns one message per violation, empty if none.

They apply to production stacks; deciding that is the caller's job (see ``policy.production``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.kube import (
    command_line,
    container_name,
    containers,
    describe,
    field,
    flag_value,
    is_cockroach_image,
    kind_of,
    mapping,
    mounted_from_secret,
    passes_insecure,
    pod_spec,
    runs_cockroach,
    sequence,
    split_image,
)
from policy.production import is_schema_resource

REQUIRED_RESOURCES = (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))


def cockroach_tls(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """CockroachDB containers never run insecure; the nodes serve TLS from mounted Secrets."""
    kind = kind_of(resource_type)
    pod = pod_spec(kind, props)
    if kind is None or pod is None:
        return []
    problems = []
    for container in containers(pod):
        if not is_cockroach_image(container.get("image")):
            continue
        where = f"{describe(kind, props)}: container '{container_name(container)}'"
        if passes_insecure(container):
            problems.append(
                f"{where} turns on --insecure; production CockroachDB must use TLS (--certs-dir)"
            )
        if kind != "StatefulSet":
            continue
        certs_dir = flag_value(command_line(container), "--certs-dir")
        if certs_dir is None:
            problems.append(
                f"{where} has no --certs-dir; production nodes serve TLS with certificates "
                "mounted from a Secret"
            )
        elif not mounted_from_secret(pod, container, certs_dir):
            problems.append(
                f"{where} reads certificates from {certs_dir}, which is not mounted from a "
                "Secret volume"
            )
    return problems


def container_resources(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every container states CPU and memory requests and a memory limit."""
    kind = kind_of(resource_type)
    pod = pod_spec(kind, props)
    if kind is None or pod is None:
        return []
    problems = []
    for container in containers(pod):
        resources = mapping(container.get("resources"))
        missing = [
            f"{section}.{name}"
            for section, name in REQUIRED_RESOURCES
            if field(resources, section, name) in (None, "")
        ]
        if missing:
            problems.append(
                f"{describe(kind, props)}: container '{container_name(container)}' sets no "
                f"{', '.join(missing)}; production containers need CPU and memory requests and "
                "a memory limit"
            )
    return problems


def image_pinned(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every image names a release tag or a digest: never ``:latest``, never no tag."""
    kind = kind_of(resource_type)
    pod = pod_spec(kind, props)
    if kind is None or pod is None:
        return []
    problems = []
    for container in containers(pod):
        image = container.get("image")
        where = f"{describe(kind, props)}: container '{container_name(container)}'"
        if not isinstance(image, str) or not image:
            problems.append(f"{where} names no image")
            continue
        _, tag, digest = split_image(image)
        if digest is None and tag in (None, "latest"):
            problems.append(
                f"{where} image {image!r} is not pinned: use a release tag or an @sha256: "
                "digest, never :latest or no tag"
            )
    return problems


def pod_security(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Containers run as non-root, cannot escalate privileges and drop every capability."""
    kind = kind_of(resource_type)
    pod = pod_spec(kind, props)
    if kind is None or pod is None:
        return []
    pod_context = mapping(pod.get("securityContext"))
    problems = []
    for container in containers(pod):
        context = mapping(container.get("securityContext"))
        where = f"{describe(kind, props)}: container '{container_name(container)}'"
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        if non_root is not True:
            problems.append(
                f"{where} does not set runAsNonRoot: true (in its own or the pod's securityContext)"
            )
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where} does not set allowPrivilegeEscalation: false")
        dropped = [str(item) for item in sequence(field(context, "capabilities", "drop"))]
        if "ALL" not in dropped:
            problems.append(f"{where} does not drop ALL capabilities (capabilities.drop: [ALL])")
        if context.get("privileged") is True:
            problems.append(f"{where} is privileged")
    return problems


def protection(resource_type: str, props: Mapping[str, Any], protected: bool) -> list[str]:
    """The namespace and the CockroachDB StatefulSet cannot be deleted by Pulumi."""
    kind = kind_of(resource_type)
    guarded = kind == "Namespace" or (kind == "StatefulSet" and runs_cockroach(kind, props))
    if kind is None or not guarded or protected:
        return []
    return [
        f"{describe(kind, props)} is not protected: production keeps it out of reach of "
        "`pulumi destroy` and replacements (resource option protect; openalgo:protect true)"
    ]


def schema_keeps_data(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """The schema resource never drops the database, and knows it is production."""
    if not is_schema_resource(resource_type):
        return []
    problems = []
    allow_drop = props.get("allow_drop")
    if allow_drop is not False:
        problems.append(
            f"SchemaMigrations: allow_drop is {allow_drop!r}; in production destroying the "
            "schema resource must never drop the database (openalgo:schema.allowDrop false)"
        )
    production = props.get("production")
    if production is not True:
        problems.append(
            f"SchemaMigrations: production is {production!r} on a production stack; the "
            "provider refuses drops by itself only when it is true (openalgo:environment prod)"
        )
    return problems
