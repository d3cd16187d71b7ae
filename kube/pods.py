"""Pod spec pieces every CockroachDB workload shares: the restricted Pod Security profile,
certificate and scratch volumes, and the stack's placement."""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s

from rules.config import Scheduling
from rules.names import CERTS_DIR, RUN_AS_USER, TMP_DIR

CERTS_VOLUME = "certs"
TMP_VOLUME = "tmp"
SECRET_FILE_MODE = 0o440
"""Group-readable through fsGroup; CockroachDB refuses keys readable by others."""


def restricted_container_security() -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        privileged=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        run_as_group=RUN_AS_USER,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def restricted_pod_security() -> k8s.core.v1.PodSecurityContextArgs:
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        run_as_group=RUN_AS_USER,
        fs_group=RUN_AS_USER,
        fs_group_change_policy="OnRootMismatch",
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def pod_scheduling(scheduling: Scheduling) -> dict[str, Any]:
    """Pod spec fields that keep a database pod on the nodes the stack reserves for it."""
    tolerations = [
        k8s.core.v1.TolerationArgs(
            key=toleration.key,
            operator=toleration.operator,
            value=toleration.value,
            effect=toleration.effect,
            toleration_seconds=toleration.toleration_seconds,
        )
        for toleration in scheduling.tolerations
    ]
    return {
        "priority_class_name": scheduling.priority_class_name,
        "node_selector": dict(scheduling.node_selector) or None,
        "tolerations": tolerations or None,
    }


def secret_volume(name: str, secret: str) -> k8s.core.v1.VolumeArgs:
    return k8s.core.v1.VolumeArgs(
        name=name,
        secret=k8s.core.v1.SecretVolumeSourceArgs(
            secret_name=secret, default_mode=SECRET_FILE_MODE
        ),
    )


def tmp_volume() -> k8s.core.v1.VolumeArgs:
    """Scratch space for a read-only root filesystem."""
    return k8s.core.v1.VolumeArgs(
        name=TMP_VOLUME, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Gi")
    )


def client_volumes(
    tls: bool, certificates_secret: str
) -> tuple[list[k8s.core.v1.VolumeMountArgs], list[k8s.core.v1.VolumeArgs]]:
    """Scratch space, and a SQL user's client certificate (the Secret
    ``certificates_secret``) where ``cockroach`` looks for it under TLS."""
    mounts = [k8s.core.v1.VolumeMountArgs(name=TMP_VOLUME, mount_path=TMP_DIR)]
    volumes = [tmp_volume()]
    if tls:
        mounts.append(
            k8s.core.v1.VolumeMountArgs(name=CERTS_VOLUME, mount_path=CERTS_DIR, read_only=True)
        )
        volumes.append(secret_volume(CERTS_VOLUME, certificates_secret))
    return mounts, volumes
