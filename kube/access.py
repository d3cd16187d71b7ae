"""What a dynamic provider needs to find the CockroachDB pods through the Kubernetes API.

The providers that speak SQL (schema, guard, backups) and the rollout gate run wherever `pulumi
up` runs. They use the same kubeconfig and context as the Kubernetes provider: the kubeconfig
from ``$KUBECONFIG`` (or ``~/.kube/config``), the context from ``kubernetes.context`` in the stack
config, or the service account inside a pod. This module holds the plain description that
travels as a provider input, the pure functions that turn API objects into verdicts and
reasons, and the bounded waits built on them. The ``kubernetes`` client is imported only when a
provider method runs, so declaring resources stays cheap.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

POLL_SECONDS = 2.0
LOG_LINES = 10
EVENTS_PER_POD = 3

T = TypeVar("T")


class ClusterNotReadyError(Exception):
    """A bounded wait ran out; the message names what is missing and why."""


@dataclass(frozen=True)
class KubeAccess:
    """Where the database's pods are and how long to wait for them."""

    namespace: str
    context: str | None
    statefulset: str
    init_job: str
    pod_selector: tuple[tuple[str, str], ...]
    port: int
    timeout_s: float

    def to_input(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "context": self.context,
            "statefulset": self.statefulset,
            "init_job": self.init_job,
            "pod_selector": dict(self.pod_selector),
            "port": self.port,
            "timeout_s": self.timeout_s,
        }

    @classmethod
    def from_input(cls, value: Any) -> KubeAccess | None:
        """The description a provider received, or None when the DSN is to be used as it is."""
        if not isinstance(value, Mapping) or not value.get("namespace"):
            return None
        selector = value.get("pod_selector") or {}
        context = value.get("context")
        return cls(
            namespace=str(value["namespace"]),
            context=str(context) if context else None,
            statefulset=str(value["statefulset"]),
            init_job=str(value["init_job"]),
            pod_selector=tuple(sorted((str(k), str(v)) for k, v in dict(selector).items())),
            port=int(value["port"]),
            timeout_s=float(value["timeout_s"]),
        )

    @property
    def label_selector(self) -> str:
        return ",".join(f"{key}={value}" for key, value in self.pod_selector)


def inside_cluster(environ: Mapping[str, str] | None = None) -> bool:
    """True in a pod, where the Service's DNS name resolves and no port-forward is needed."""
    return bool((environ if environ is not None else os.environ).get("KUBERNETES_SERVICE_HOST"))


def api_client(access: KubeAccess) -> Any:
    """A client with the Kubernetes provider's credentials (service account inside a pod)."""
    from kubernetes import client, config

    if inside_cluster():
        config.load_incluster_config()
        return client.ApiClient()
    # $KUBECONFIG as it is now: the client reads it only once, when first imported.
    return config.new_client_from_config(
        config_file=os.environ.get("KUBECONFIG") or None, context=access.context
    )


# --- verdicts: pure functions over the API's objects (plain dicts) ----------------------------


def _conditions(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    status = obj.get("status") or {}
    return {str(c.get("type")): c for c in status.get("conditions") or []}


def pod_ready(pod: Mapping[str, Any]) -> bool:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return (_conditions(pod).get("Ready") or {}).get("status") == "True"


def pod_problem(pod: Mapping[str, Any], events: Sequence[Mapping[str, Any]] = ()) -> str:
    """Why a pod is not ready, in the words the API used: phase, false conditions, events."""
    name = (pod.get("metadata") or {}).get("name", "?")
    status = pod.get("status") or {}
    parts = [str(status.get("phase") or "Pending")]
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        parts.append("terminating")
    for kind, condition in sorted(_conditions(pod).items()):
        if condition.get("status") != "True":
            detail = condition.get("reason") or "False"
            message = condition.get("message")
            parts.append(f"{kind}={detail}" + (f" ({message})" if message else ""))
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            parts.append(f"container {container.get('name')}: {waiting['reason']}")
    for event in events[-EVENTS_PER_POD:]:
        parts.append(f"event {event.get('reason')}: {event.get('message')}")
    return f"{name}: " + "; ".join(parts)


@dataclass(frozen=True)
class JobState:
    done: bool
    failed: bool
    detail: str


def job_state(job: Mapping[str, Any] | None) -> JobState:
    if job is None:
        return JobState(False, False, "not found")
    conditions = _conditions(job)
    if (conditions.get("Complete") or {}).get("status") == "True":
        return JobState(True, False, "complete")
    failed = conditions.get("Failed") or {}
    if failed.get("status") == "True":
        reason = failed.get("reason") or "Failed"
        message = failed.get("message")
        return JobState(False, True, f"failed: {reason}" + (f" ({message})" if message else ""))
    status = job.get("status") or {}
    return JobState(
        False,
        False,
        f"running (active {status.get('active', 0)}, failed attempts {status.get('failed', 0)})",
    )


@dataclass(frozen=True)
class Rollout:
    done: bool
    detail: str
    waiting_for: tuple[str, ...]
    """Pods not yet on the new revision or not ready, highest ordinal first."""


def _ordinal(pod: Mapping[str, Any]) -> int:
    name = str((pod.get("metadata") or {}).get("name", ""))
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def rollout_state(
    statefulset: Mapping[str, Any] | None, pods: Iterable[Mapping[str, Any]]
) -> Rollout:
    """Whether the StatefulSet controller has every replica on the newest revision and ready."""
    if statefulset is None:
        return Rollout(False, "StatefulSet not found", ())
    spec = statefulset.get("spec") or {}
    status = statefulset.get("status") or {}
    metadata = statefulset.get("metadata") or {}
    wanted = int(spec.get("replicas", 1))
    revision = status.get("updateRevision")
    pending = []
    by_ordinal = {_ordinal(pod): pod for pod in pods}
    for ordinal in sorted(range(wanted), reverse=True):
        pod = by_ordinal.get(ordinal)
        name = f"{metadata.get('name', '?')}-{ordinal}"
        if pod is None:
            pending.append(f"{name}: not created yet")
            continue
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if revision and labels.get("controller-revision-hash") != revision:
            pending.append(f"{name}: still on revision {labels.get('controller-revision-hash')}")
        elif not pod_ready(pod):
            pending.append(pod_problem(pod))
    observed = int(status.get("observedGeneration") or 0)
    generation = int(metadata.get("generation") or 0)
    counts = (
        f"{status.get('readyReplicas', 0)}/{wanted} ready, "
        f"{status.get('updatedReplicas', 0)}/{wanted} on revision {revision}"
    )
    done = (
        observed >= generation
        and not pending
        and int(status.get("readyReplicas") or 0) >= wanted
        and int(status.get("updatedReplicas") or 0) >= wanted
    )
    return Rollout(done, counts, tuple(pending))


# --- bounded waits ---------------------------------------------------------------------------


def wait_until(
    check: Callable[[], tuple[bool, T]],
    timeout_s: float,
    describe: Callable[[T], str],
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    poll_s: float = POLL_SECONDS,
) -> T:
    """Poll ``check`` until it says done; past ``timeout_s`` raise with ``describe`` of the last
    answer. ``check`` raising ClusterNotReadyError (a failed Job) ends the wait at once."""
    deadline = clock() + timeout_s
    while True:
        done, value = check()
        if done:
            return value
        if clock() >= deadline:
            raise ClusterNotReadyError(describe(value))
        sleep(min(poll_s, max(deadline - clock(), 0.0)))


def read_or_none(api: Any, read: Callable[[], Any]) -> dict[str, Any] | None:
    """The object ``read`` returns as plain JSON, or None when the API server has none."""
    from kubernetes.client.exceptions import ApiException

    try:
        return dict(api.sanitize_for_serialization(read()))
    except ApiException as error:
        if error.status == 404:
            return None
        raise


class ClusterReader:
    """Reads the objects the waits judge; every call is one GET or LIST."""

    def __init__(self, access: KubeAccess, client: Any | None = None) -> None:
        from kubernetes import client as k8s

        self.access = access
        self.api = client if client is not None else api_client(access)
        self.core = k8s.CoreV1Api(self.api)
        self.apps = k8s.AppsV1Api(self.api)
        self.batch = k8s.BatchV1Api(self.api)

    def _get(self, read: Callable[..., Any], name: str) -> dict[str, Any] | None:
        return read_or_none(self.api, lambda: read(name, self.access.namespace))

    def statefulset(self) -> dict[str, Any] | None:
        return self._get(self.apps.read_namespaced_stateful_set, self.access.statefulset)

    def job(self) -> dict[str, Any] | None:
        return self._get(self.batch.read_namespaced_job, self.access.init_job)

    def pods(self, selector: str | None = None) -> list[dict[str, Any]]:
        listed = self.core.list_namespaced_pod(
            self.access.namespace, label_selector=selector or self.access.label_selector
        )
        pods: list[dict[str, Any]] = self.api.sanitize_for_serialization(listed).get("items", [])
        return sorted(pods, key=_ordinal)

    def events(self, pod_name: str) -> list[dict[str, Any]]:
        listed = self.core.list_namespaced_event(
            self.access.namespace, field_selector=f"involvedObject.name={pod_name}"
        )
        events: list[dict[str, Any]] = self.api.sanitize_for_serialization(listed).get("items", [])
        return sorted(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime")))

    def log_tail(self, pod_name: str) -> list[str]:
        """The last lines a pod logged; empty when the node serves no log."""
        from kubernetes.client.exceptions import ApiException

        try:
            text = self.core.read_namespaced_pod_log(
                pod_name, self.access.namespace, tail_lines=LOG_LINES
            )
        except ApiException:
            return []
        return [line for line in str(text).splitlines() if line.strip()][-LOG_LINES:]

    def explain(self, pods: Iterable[Mapping[str, Any]]) -> list[str]:
        """pod_problem for each pod not ready, with its latest events."""
        return [
            pod_problem(pod, self.events(str(pod["metadata"]["name"])))
            for pod in pods
            if not pod_ready(pod)
        ]


def _job_failure(reader: ClusterReader, state: JobState) -> str:
    lines = [f"job {reader.access.init_job} {state.detail}"]
    for pod in reader.pods(f"job-name={reader.access.init_job}")[-1:]:
        name = pod["metadata"]["name"]
        tail = reader.log_tail(name)
        lines.append(f"last log lines of {name}:" if tail else f"{name}: no log available")
        lines += [f"  {line}" for line in tail]
    return "\n  ".join(lines)


def wait_for_init(reader: ClusterReader, timeout_s: float) -> None:
    """Until the init Job completes; a failed Job ends the wait with its last log lines."""

    def check() -> tuple[bool, JobState]:
        state = job_state(reader.job())
        if state.failed:
            raise ClusterNotReadyError(_job_failure(reader, state))
        return state.done, state

    def describe(state: JobState) -> str:
        pods = reader.pods(f"job-name={reader.access.init_job}")
        reasons = reader.explain(pods) or ["no pod of the job is waiting"]
        return (
            f"job {reader.access.init_job} did not complete within {timeout_s:.0f}s: "
            f"{state.detail}\n  " + "\n  ".join(reasons)
        )

    wait_until(check, timeout_s, describe)


def wait_for_ready_pod(reader: ClusterReader, timeout_s: float) -> str:
    """The name of a ready CockroachDB pod, the highest ordinal last to be rolled first."""

    def check() -> tuple[bool, list[dict[str, Any]]]:
        pods = reader.pods()
        return any(pod_ready(pod) for pod in pods), pods

    def describe(pods: list[dict[str, Any]]) -> str:
        reasons = reader.explain(pods) or [f"no pod matches {reader.access.label_selector}"]
        return (
            f"no CockroachDB pod in namespace {reader.access.namespace} became ready within "
            f"{timeout_s:.0f}s:\n  " + "\n  ".join(reasons)
        )

    pods = wait_until(check, timeout_s, describe)
    ready = [pod for pod in pods if pod_ready(pod)]
    return str(ready[0]["metadata"]["name"])


def wait_for_rollout(reader: ClusterReader, timeout_s: float) -> Rollout:
    """Until every replica runs the StatefulSet's newest revision and is ready."""

    def check() -> tuple[bool, Rollout]:
        state = rollout_state(reader.statefulset(), reader.pods())
        return state.done, state

    def describe(state: Rollout) -> str:
        pods = {p["metadata"]["name"]: p for p in reader.pods()}
        lines = []
        for waiting in state.waiting_for:
            name = waiting.split(":", 1)[0]
            pod = pods.get(name)
            stuck = pod is not None and not pod_ready(pod)
            lines.append(pod_problem(pod, reader.events(name)) if stuck and pod else waiting)
        return (
            f"StatefulSet {reader.access.statefulset} did not finish rolling out within "
            f"{timeout_s:.0f}s ({state.detail}); waiting for:\n  " + "\n  ".join(lines)
        )

    return wait_until(check, timeout_s, describe)
