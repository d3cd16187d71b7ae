"""The gate after the StatefulSet: `pulumi up` goes on only once the cluster serves.

The StatefulSet and the init Job are not awaited by the Kubernetes provider (CockroachDB pods
turn ready only after ``cockroach init``, which runs after them). This resource waits instead,
within ``timeout_s``: for the init Job to complete, then for every replica to run the
StatefulSet's newest revision and be ready. Everything that speaks SQL depends on it, so a first
`pulumi up` applies the schema only to an initialised cluster, and an image change returns only
once the StatefulSet controller has rolled every pod (highest ordinal first, one at a time).
A timeout fails the update naming the pods and the reasons the API gives; a failed init Job
fails it with the Job's last log lines.

Its ``template`` input is whatever changes the pods (image, replicas, the pod spec's digest), so
an unchanged stack updates nothing and a change waits for exactly one rollout.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from components.dynamic_provider import DeclaredProvider
from kube.access import (
    ClusterNotReadyError,
    ClusterReader,
    KubeAccess,
    wait_for_init,
    wait_for_rollout,
)

MIN_ROLLOUT_WAIT_S = 5.0
"""The rollout is looked at for this long even when the init Job took the whole bound."""
COMPONENT_TYPE = "openalgo:cockroachdb:Rollout"


class ClusterRolloutError(Exception):
    """The cluster did not become ready in time; the message says which pods and why."""


def wait_until_serving(access: KubeAccess) -> str:
    """Init complete and the rollout finished, within ``access.timeout_s`` in all."""
    reader = ClusterReader(access)
    started = time.monotonic()
    try:
        wait_for_init(reader, access.timeout_s)
        left = max(access.timeout_s - (time.monotonic() - started), MIN_ROLLOUT_WAIT_S)
        rollout = wait_for_rollout(reader, left)
    except ClusterNotReadyError as error:
        raise ClusterRolloutError(
            f"{error}\n(the bound is openalgo:kubernetes.waitTimeoutSeconds = "
            f"{access.timeout_s:.0f})"
        ) from None
    return rollout.detail


class ClusterRolloutProvider(DeclaredProvider):
    """Holds nothing; waits in create and update, never on delete."""

    INPUT_KEYS = ("kube_access", "template")
    OUTPUT_KEYS = ("status",)

    def created(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "cockroachdb-rollout", self._wait(props)

    @staticmethod
    def _wait(props: Mapping[str, Any]) -> dict[str, Any]:
        access = KubeAccess.from_input(props.get("kube_access"))
        if access is None:
            raise ClusterRolloutError("kube_access: where the pods are is required")
        return {"status": wait_until_serving(access)}


class ClusterRolloutResource(dynamic.Resource, module="openalgo", name="ClusterRollout"):
    status: pulumi.Output[str]


@dataclass(frozen=True)
class ClusterRolloutArgs:
    access: KubeAccess
    template: Mapping[str, pulumi.Input[Any]]
    """Values whose change rolls the pods; the gate waits once per change."""


class ClusterRollout(pulumi.ComponentResource):
    """Waits for the init Job and a finished rollout; SQL resources depend on it."""

    status: pulumi.Output[str]

    def __init__(
        self, name: str, args: ClusterRolloutArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        resource = ClusterRolloutProvider().declare(
            ClusterRolloutResource,
            f"{name}-wait",
            self,
            {"kube_access": args.access.to_input(), "template": dict(args.template)},
        )
        self.status = resource.status
        self.register_outputs({"status": self.status})
