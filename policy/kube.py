"""Reading Kubernetes objects the way a policy receives them: Pulumi property bags in camelCase.

Under the policy SDK, objects and lists arrive as read-only Mapping and Sequence proxies rather
than dicts and lists, so everything here goes through the abstract types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

KUBERNETES_PREFIX = "kubernetes:"
TEMPLATED_WORKLOADS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}
)
WORKLOAD_KINDS = TEMPLATED_WORKLOADS | {"Pod", "CronJob"}
COCKROACH_REPOSITORY = ("cockroachdb", "cockroach")

_INSECURE_FLAG = re.compile(r"(?<![\w-])--insecure(?:=(?P<value>[^\s\"';]+))?(?![\w-])")
_FALSE_WORDS = frozenset({"false", "0", "no"})


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is an object, else an empty one: absent and malformed read alike."""
    return value if isinstance(value, Mapping) else {}


def sequence(value: Any) -> Sequence[Any]:
    """``value`` if it is a list (not a string), else an empty one."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return value
    return ()


def field(value: Any, *path: str) -> Any:
    """The value at ``path`` through nested objects, None where any step is missing."""
    for key in path:
        value = mapping(value).get(key)
    return value


def kind_of(resource_type: str) -> str | None:
    """The kind of a ``kubernetes:<group>/<version>:<Kind>`` type; None for other types."""
    if not resource_type.startswith(KUBERNETES_PREFIX):
        return None
    parts = resource_type.split(":")
    return parts[2] if len(parts) == 3 else None


def name_of(props: Mapping[str, Any]) -> str:
    return str(field(props, "metadata", "name") or "(unnamed)")


def namespace_of(props: Mapping[str, Any]) -> str:
    """The object's namespace; unset reads as ``default``, as the API server would place it."""
    return str(field(props, "metadata", "namespace") or "default")


def describe(kind: str, props: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` (``Kind name`` for a Namespace), the way messages name objects."""
    if kind == "Namespace":
        return f"Namespace {name_of(props)}"
    return f"{kind} {namespace_of(props)}/{name_of(props)}"


def pod_spec(kind: str | None, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod spec a workload runs; None for objects that run no pods."""
    spec = mapping(props.get("spec"))
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return mapping(field(spec, "jobTemplate", "spec", "template", "spec"))
    if kind in TEMPLATED_WORKLOADS:
        return mapping(field(spec, "template", "spec"))
    return None


def pod_labels(kind: str | None, props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The labels the workload's pods carry."""
    if kind == "Pod":
        return mapping(field(props, "metadata", "labels"))
    if kind == "CronJob":
        return mapping(
            field(props, "spec", "jobTemplate", "spec", "template", "metadata", "labels")
        )
    return mapping(field(props, "spec", "template", "metadata", "labels"))


def containers(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Init containers and containers alike: both run in the pod and both need limits."""
    return [
        mapping(container)
        for key in ("initContainers", "containers")
        for container in sequence(pod.get(key))
    ]


def container_name(container: Mapping[str, Any]) -> str:
    return str(container.get("name") or "(unnamed)")


def command_line(container: Mapping[str, Any]) -> list[str]:
    """The container's command and args as strings (shell scripts stay one string)."""
    return [str(token) for key in ("command", "args") for token in sequence(container.get(key))]


def passes_insecure(container: Mapping[str, Any]) -> bool:
    """True if the container turns on CockroachDB's insecure mode, by flag or by environment."""
    for token in command_line(container):
        for match in _INSECURE_FLAG.finditer(token):
            value = match.group("value")
            if value is None or value.lower() not in _FALSE_WORDS:
                return True
    for variable in sequence(container.get("env")):
        entry = mapping(variable)
        if entry.get("name") == "COCKROACH_INSECURE":
            return str(entry.get("value", "")).lower() not in _FALSE_WORDS | {""}
    return False


def flag_value(tokens: Sequence[str], flag: str) -> str | None:
    """The value of ``--flag=value`` or ``--flag value`` among separate tokens."""
    for index, token in enumerate(tokens):
        if token.startswith(f"{flag}="):
            return token.split("=", 1)[1]
        if token == flag and index + 1 < len(tokens):
            return tokens[index + 1]
    return None


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference; tag and digest are None when absent."""
    reference, _, digest = image.partition("@")
    last_slash = reference.rfind("/")
    repository, tag = reference, None
    colon = reference.rfind(":")
    if colon > last_slash:
        repository, tag = reference[:colon], reference[colon + 1 :]
    return repository, tag, digest or None


def is_cockroach_image(image: Any) -> bool:
    """True for ``cockroachdb/cockroach`` from any registry, with any tag or digest."""
    if not isinstance(image, str):
        return False
    repository = split_image(image)[0]
    return tuple(repository.split("/")[-2:]) == COCKROACH_REPOSITORY


def runs_cockroach(kind: str | None, props: Mapping[str, Any]) -> bool:
    pod = pod_spec(kind, props)
    return pod is not None and any(
        is_cockroach_image(container.get("image")) for container in containers(pod)
    )


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Whether a LabelSelector picks pods with ``labels``; an empty selector picks every pod.

    An operator this does not know never matches: a rule cannot claim coverage it cannot prove.
    """
    selector = mapping(selector)
    for label, value in mapping(selector.get("matchLabels")).items():
        if labels.get(label) != value:
            return False
    return all(
        _expression_matches(mapping(expression), labels)
        for expression in sequence(selector.get("matchExpressions"))
    )


def _expression_matches(expression: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    key = str(expression.get("key"))
    values = list(sequence(expression.get("values")))
    present = key in labels
    match expression.get("operator"):
        case "In":
            return present and labels[key] in values
        case "NotIn":
            return not (present and labels[key] in values)
        case "Exists":
            return present
        case "DoesNotExist":
            return not present
        case _:
            return False


def is_empty_selector(selector: Any) -> bool:
    """True for ``{}``: no labels and no expressions, which selects every pod."""
    selector = mapping(selector)
    return not mapping(selector.get("matchLabels")) and not sequence(
        selector.get("matchExpressions")
    )


def secret_volume_names(pod: Mapping[str, Any]) -> list[str]:
    """Names of the Secrets the pod mounts, directly or through a projected volume."""
    names = []
    for volume in sequence(pod.get("volumes")):
        entry = mapping(volume)
        secret = field(entry, "secret", "secretName")
        if secret:
            names.append(str(secret))
        for source in sequence(field(entry, "projected", "sources")):
            projected = field(source, "secret", "name")
            if projected:
                names.append(str(projected))
    return names


def mounted_from_secret(pod: Mapping[str, Any], container: Mapping[str, Any], path: str) -> bool:
    """Whether ``path`` in the container is a mount of a Secret (or projected Secret) volume."""
    secret_volumes = set()
    for volume in sequence(pod.get("volumes")):
        entry = mapping(volume)
        projected = sequence(field(entry, "projected", "sources"))
        if field(entry, "secret", "secretName") or any(
            field(source, "secret", "name") for source in projected
        ):
            secret_volumes.add(entry.get("name"))
    return any(
        str(mapping(mount).get("mountPath", "")).rstrip("/") == path.rstrip("/")
        and mapping(mount).get("name") in secret_volumes
        for mount in sequence(container.get("volumeMounts"))
    )
