"""Each CockroachDB node's ``--locality``, read from the Kubernetes node its pod landed on.

CockroachDB places the replicas of a range in different localities; without them a zone outage
can take two of three replicas although the pods are spread across zones. Pods do not see their
node's labels (copying topology labels to pods is an alpha admission plugin in Kubernetes
1.33), so an init container reads ``topology.kubernetes.io/region`` and ``.../zone`` of its node
from the API server and writes ``[tiers,]region=R,zone=Z`` to a file the node's start command
reads. Only that container holds a service-account token (a projected volume; the pod does not
automount one), and the ``NodeReader`` role lets it ``get`` nodes, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from kube.pods import restricted_container_security
from rules.config import Locality
from rules.names import COCKROACH_BINARY, SERVICE_ACCOUNT, standard_labels

LOCALITY_VOLUME = "locality"
LOCALITY_DIR = "/cockroach/locality"
LOCALITY_FILE = f"{LOCALITY_DIR}/locality"
TOKEN_VOLUME = "node-reader-token"  # noqa: S105 (a volume name)
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"  # noqa: S105 (a path)
TOKEN_SECONDS = 3607
NODE_LABELS = (
    ("region", "topology.kubernetes.io/region"),
    ("zone", "topology.kubernetes.io/zone"),
)

_SCRIPT = """\
import json, os, ssl, sys, urllib.request
tokens = os.environ.get("TOKEN_DIR", {token_dir!r})
host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
api = "https://" + host + ":" + port
node = os.environ["NODE_NAME"]
with open(tokens + "/token") as token:
    request = urllib.request.Request(
        api + "/api/v1/nodes/" + node, headers={{"Authorization": "Bearer " + token.read().strip()}}
    )
context = ssl.create_default_context(cafile=tokens + "/ca.crt")
with urllib.request.urlopen(request, context=context, timeout=30) as response:
    labels = json.load(response)["metadata"].get("labels") or {{}}
tiers = {tiers!r} + [k + "=" + labels[l] for k, l in {node_labels!r} if labels.get(l)]
if not any(t.startswith("zone=") for t in tiers):
    print("node " + node + " has no topology.kubernetes.io/zone label", file=sys.stderr)
with open(os.environ.get("LOCALITY_FILE", {locality_file!r}), "w") as out:
    out.write(",".join(tiers))
print("locality: " + ",".join(tiers))
"""


def locality_script(tiers: tuple[str, ...]) -> str:
    """The init container's Python: fixed ``tiers`` first, then region and zone of the node."""
    return _SCRIPT.format(
        token_dir=TOKEN_DIR,
        tiers=list(tiers),
        node_labels=NODE_LABELS,
        locality_file=LOCALITY_FILE,
    )


def start_command() -> list[str]:
    """The node container's command: bash reads the locality file, then runs ``cockroach`` with
    the container's arguments (``"$@"``; the kubelet still expands ``$(POD_NAME)`` in them) and
    ``--locality`` when the file holds any."""
    return [
        "/bin/bash",
        "-c",
        f"locality=''; read -r locality < {LOCALITY_FILE} || true\n"
        f'exec {COCKROACH_BINARY} "$@" ${{locality:+"--locality=$locality"}}',
        "cockroach",
    ]


def init_container(locality: Locality) -> k8s.core.v1.ContainerArgs:
    return k8s.core.v1.ContainerArgs(
        name="locality",
        image=locality.image,
        image_pull_policy="IfNotPresent",
        command=["python3", "-I", "-B", "-c", locality_script(locality.tiers)],
        env=[
            k8s.core.v1.EnvVarArgs(
                name="NODE_NAME",
                value_from=k8s.core.v1.EnvVarSourceArgs(
                    field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="spec.nodeName")
                ),
            )
        ],
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "10m", "memory": "32Mi"}, limits={"memory": "64Mi"}
        ),
        security_context=restricted_container_security(),
        volume_mounts=[
            k8s.core.v1.VolumeMountArgs(name=LOCALITY_VOLUME, mount_path=LOCALITY_DIR),
            k8s.core.v1.VolumeMountArgs(name=TOKEN_VOLUME, mount_path=TOKEN_DIR, read_only=True),
        ],
    )


def volumes() -> list[k8s.core.v1.VolumeArgs]:
    """The file the init container writes, and the token only it mounts."""
    return [
        k8s.core.v1.VolumeArgs(
            name=LOCALITY_VOLUME,
            empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Mi"),
        ),
        k8s.core.v1.VolumeArgs(
            name=TOKEN_VOLUME,
            projected=k8s.core.v1.ProjectedVolumeSourceArgs(
                sources=[
                    k8s.core.v1.VolumeProjectionArgs(
                        service_account_token=k8s.core.v1.ServiceAccountTokenProjectionArgs(
                            path="token", expiration_seconds=TOKEN_SECONDS
                        )
                    ),
                    k8s.core.v1.VolumeProjectionArgs(
                        config_map=k8s.core.v1.ConfigMapProjectionArgs(
                            name="kube-root-ca.crt",
                            items=[k8s.core.v1.KeyToPathArgs(key="ca.crt", path="ca.crt")],
                        )
                    ),
                ]
            ),
        ),
    ]


def mount() -> k8s.core.v1.VolumeMountArgs:
    """Where the node's container reads its locality."""
    return k8s.core.v1.VolumeMountArgs(
        name=LOCALITY_VOLUME, mount_path=LOCALITY_DIR, read_only=True
    )


def node_reader_name(namespace: str) -> str:
    """Cluster-scoped, so named after the namespace: two stacks never share it."""
    return f"{namespace}-cockroachdb-node-reader"


@dataclass(frozen=True)
class NodeReaderArgs:
    namespace: pulumi.Input[str]
    namespace_name: str


class NodeReader(pulumi.ComponentResource):
    """Lets the database's service account read nodes (``get`` only), for their locality."""

    def __init__(
        self, name: str, args: NodeReaderArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("openalgo:cockroachdb:NodeReader", name, None, opts)
        role_name = node_reader_name(args.namespace_name)
        child = pulumi.ResourceOptions(parent=self)
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=role_name, labels=standard_labels("database")),
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["nodes"], verbs=["get"])],
            opts=child,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-binding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=role_name, labels=standard_labels("database")),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role.metadata.name
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(
                    kind="ServiceAccount", name=SERVICE_ACCOUNT, namespace=args.namespace
                )
            ],
            opts=child,
        )
        self.register_outputs({"clusterRole": role.metadata.name})
