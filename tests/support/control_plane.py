"""A throwaway Kubernetes control plane with simulated nodes, for the live-cluster tests.

Real parts, all listening on 127.0.0.1 on free ports, with their data, certificates and keys in
one temporary directory that `stop()` removes: etcd, kube-apiserver (RBAC, the default admission
plugins with PodSecurity and ServiceAccount), kube-controller-manager (every default controller:
StatefulSet, Job, PV binder, disruption, endpoints, garbage collector, namespace, ...) and
kube-scheduler, built from the same `k8s.io/kubernetes` release by scripts/install-control-plane.

Nodes are simulated by kwok (`sigs.k8s.io/kwok`): five nodes across three zones
(`topology.kubernetes.io/zone`), and stages that move pods through their lifecycle as a kubelet
would report it: a scheduled pod turns Running; a Job's pod then Succeeds; a pod being deleted
goes away. Containers never run. A CockroachDB pod (label `app.kubernetes.io/name=cockroachdb`)
stays Running but not Ready until its namespace's init Job has completed, as CockroachDB's
readiness probe (`/health?ready=1`) answers only on an initialised cluster: `CockroachReadiness`
plays that probe by marking such pods `openalgo.test/sql-ready`, a kwok stage then reports them
Ready. Namespaces listed in `never_ready` never get the mark (a cluster whose pods never become
Ready). kwok's ClusterPortForward routes every pod's SQL port (26257) to a PostgreSQL server on
127.0.0.1, standing in for CockroachDB's SQL endpoint, so a port-forward through the API server
reaches a real SQL server.

Volumes: a default StorageClass `standard` and `premium-rwo` (no provisioner, bound when a pod is
scheduled, expandable), and two local PersistentVolumes of each class per node, which the real
PV controller binds to the StatefulSet's claims.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml
from pg_queries import ddl_entries
from postgres_server import PostgresServer, free_port
from repo import REPO_ROOT

INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-control-plane"
INSTALL_TIMEOUT_SECONDS = 3600
START_TIMEOUT_SECONDS = 120
SERVICE_CIDR = "10.96.0.0/16"
SQL_PORT = 26257
SQL_READY = "openalgo.test/sql-ready"
"""Annotation CockroachReadiness puts on a pod whose cluster is initialised."""
STORAGE_CLASSES = ("standard", "premium-rwo")
VOLUMES_PER_NODE = 2
VOLUME_CAPACITY = "200Gi"
NODE_CAPACITY = {"cpu": "16", "memory": "64Gi", "pods": "110"}


@dataclass(frozen=True)
class NodeSpec:
    name: str
    zone: str


NODES = (
    NodeSpec("node-a1", "zone-a"),
    NodeSpec("node-a2", "zone-a"),
    NodeSpec("node-b1", "zone-b"),
    NodeSpec("node-b2", "zone-b"),
    NodeSpec("node-c1", "zone-c"),
)
REGION = "region-1"
WALL_TIMES: dict[str, float] = {}
"""Measured wall times (what, seconds), printed in pytest's summary."""
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
BUILD_REPORT = re.compile(
    r"^install-control-plane: (?P<name>[\w-]+): (?P<how>built|cached) in(?:to)? .* "
    r"\((?P<seconds>[0-9.]+)s\)$"
)
"""The install script's line for each binary: built (cold) or found in the cache (warm)."""


class ControlPlaneUnavailableError(RuntimeError):
    """A binary is missing and cannot be built here."""


class ApiError(RuntimeError):
    """The API server answered with an error status."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {body.get('message', body)}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Binaries:
    directory: Path

    def __getitem__(self, name: str) -> Path:
        return self.directory / name


def find_binaries() -> Binaries:
    """Every binary from scripts/install-control-plane (built once into a per-version cache)."""
    result = subprocess.run(
        [str(INSTALL_SCRIPT), "--print-path"],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise ControlPlaneUnavailableError(
            f"no control plane: scripts/install-control-plane failed:\n{result.stderr[-2000:]}"
        )
    for line in result.stderr.splitlines():
        match = BUILD_REPORT.match(line)
        if match:
            WALL_TIMES[f"{match['name']} {match['how']}"] = float(match["seconds"])
    directory = Path(result.stdout.strip().splitlines()[-1])
    missing = [name for name in BINARIES if not (directory / name).is_file()]
    if missing:
        raise ControlPlaneUnavailableError(f"not built in {directory}: {', '.join(missing)}")
    return Binaries(directory)


def openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{result.stderr}")


def write_certificates(directory: Path) -> None:
    """A CA, a serving certificate for 127.0.0.1/localhost and the service-account key."""
    openssl("genrsa", "-out", "ca.key", "2048", cwd=directory)
    openssl(
        "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=test-cluster-ca",
        "-days", "2", "-out", "ca.crt", cwd=directory,
    )  # fmt: skip
    openssl("genrsa", "-out", "serving.key", "2048", cwd=directory)
    openssl(
        "req", "-new", "-key", "serving.key", "-subj", "/CN=kube-apiserver",
        "-out", "serving.csr", cwd=directory,
    )  # fmt: skip
    (directory / "san.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n"
    )
    openssl(
        "x509", "-req", "-in", "serving.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "serving.crt",
        cwd=directory,
    )  # fmt: skip
    openssl("genrsa", "-out", "service-account.key", "2048", cwd=directory)
    openssl(
        "rsa", "-in", "service-account.key", "-pubout", "-out", "service-account.pub",
        cwd=directory,
    )  # fmt: skip


@dataclass(frozen=True)
class ClusterInfo:
    url: str
    token: str
    ca_file: Path
    kubeconfig: Path
    context: str
    version: str


class KubeClient:
    """Just enough of a REST client: JSON in, JSON out, the token and the server's CA."""

    def __init__(self, url: str, token: str, ca_file: Path) -> None:
        if not url.startswith("https://"):
            raise ValueError(f"API server URL {url!r}: only https:// is allowed")
        self._url = url
        self._token = token
        self._tls = ssl.create_default_context(cafile=str(ca_file))

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 (https only, checked in __init__)
            self._url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": content_type},
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 (https only, checked in __init__)
                request, context=self._tls, timeout=30
            ) as response:
                raw = response.read()
                answer: dict[str, Any] = json.loads(raw) if raw.startswith(b"{") else {}
                return answer
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                detail = json.loads(raw)
            except ValueError:
                detail = {"message": raw.decode(errors="replace")}
            raise ApiError(exc.code, detail) from None

    def ready(self) -> bool:
        try:
            self.request("GET", "/readyz")
        except (ApiError, OSError):
            return False
        return True

    def get(self, path: str) -> dict[str, Any]:
        return self.request("GET", path)

    def get_or_none(self, path: str) -> dict[str, Any] | None:
        try:
            return self.get(path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def items(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get(path).get("items", [])
        return items

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", path, body)

    def merge_patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", path, body, "application/merge-patch+json")


# --- kwok's configuration: stages and the port-forward rule ----------------------------------

_NODE_READY = """\
{{ $now := Now }}
conditions:
{{ range NodeConditions }}
- lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
  message: {{ .message | Quote }}
  reason: {{ .reason | Quote }}
  status: {{ .status | Quote }}
  type: {{ .type | Quote }}
{{ end }}
addresses:
- address: {{ NodeIP | Quote }}
  type: InternalIP
- address: {{ .metadata.name | Quote }}
  type: Hostname
daemonEndpoints:
  kubeletEndpoint:
    Port: {{ NodePort }}
allocatable: {{ YAML .status.capacity 1 }}
capacity: {{ YAML .status.capacity 1 }}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: simulated
  containerRuntimeVersion: simulated
  kernelVersion: simulated
  kubeProxyVersion: simulated
  osImage: simulated
  bootID: ""
  machineID: ""
  systemUUID: ""
phase: Running
"""


def _pod_status(ready: bool) -> str:
    """A kubelet's report of a started pod; `ready` decides the Ready condition."""
    status = "True" if ready else "False"
    reason = "" if ready else "reason: ContainersNotReady\n  message: readiness probe failed\n  "
    return f"""\
{{{{ $now := Now }}}}
conditions:
- type: Initialized
  status: "True"
  lastTransitionTime: {{{{ $now | Quote }}}}
- type: ContainersReady
  status: "{status}"
  {reason}lastTransitionTime: {{{{ $now | Quote }}}}
- type: Ready
  status: "{status}"
  {reason}lastTransitionTime: {{{{ $now | Quote }}}}
containerStatuses:
{{{{ range .spec.containers }}}}
- image: {{{{ .image | Quote }}}}
  name: {{{{ .name | Quote }}}}
  ready: {str(ready).lower()}
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{{{ $now | Quote }}}}
{{{{ end }}}}
hostIP: {{{{ NodeIPWith .spec.nodeName | Quote }}}}
{{{{ with PodIPWith .spec.nodeName false .metadata.uid .metadata.name .metadata.namespace }}}}
podIP: {{{{ . | Quote }}}}
{{{{ end }}}}
phase: Running
startTime: {{{{ $now | Quote }}}}
"""


_POD_SUCCEEDED = """\
{{ $now := Now }}
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  started: false
  restartCount: 0
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
phase: Succeeded
"""

_NOT_DELETED = {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"}
_IS_DATABASE = '.metadata.labels["app.kubernetes.io/name"] // ""'
_IS_JOB_POD = '[.metadata.ownerReferences[]?.kind] | index("Job") != null'
_SQL_READY = f'.metadata.annotations["{SQL_READY}"] // ""'
_READY = '[.status.conditions[]? | select(.type == "Ready") | .status] | first // ""'


def _stage(name: str, kind: str, expressions: list[dict[str, Any]], nxt: dict[str, Any]) -> Any:
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": name},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": kind},
            "selector": {"matchExpressions": expressions},
            "next": nxt,
        },
    }


def kwok_documents(sql_target_port: int) -> list[dict[str, Any]]:
    """Stages and the SQL port-forward rule, as kwok's --config documents."""
    pending = {"key": ".status.phase", "operator": "In", "values": ["Pending"]}
    running = {"key": ".status.phase", "operator": "In", "values": ["Running"]}
    scheduled = {"key": ".spec.nodeName", "operator": "Exists"}
    database = {"key": _IS_DATABASE, "operator": "In", "values": ["cockroachdb"]}
    not_database = {"key": _IS_DATABASE, "operator": "NotIn", "values": ["cockroachdb"]}
    job_pod = {"key": _IS_JOB_POD, "operator": "In", "values": ["true"]}
    sql_ready = {"key": _SQL_READY, "operator": "In", "values": ["true"]}
    not_sql_ready = {"key": _SQL_READY, "operator": "NotIn", "values": ["true"]}
    not_ready = {"key": _READY, "operator": "NotIn", "values": ["True"]}
    return [
        _stage(
            "node-ready",
            "Node",
            [{"key": _READY, "operator": "NotIn", "values": ["True"]}],
            {"statusTemplate": _NODE_READY},
        ),
        _stage(
            "pod-ready",
            "Pod",
            [_NOT_DELETED, pending, scheduled, not_database],
            {"statusTemplate": _pod_status(ready=True)},
        ),
        _stage(
            "database-pod-started",
            "Pod",
            [_NOT_DELETED, pending, scheduled, database, not_sql_ready],
            {"statusTemplate": _pod_status(ready=False)},
        ),
        _stage(
            "database-pod-ready",
            "Pod",
            [_NOT_DELETED, scheduled, database, sql_ready, not_ready],
            {"statusTemplate": _pod_status(ready=True)},
        ),
        _stage(
            "job-pod-succeeded",
            "Pod",
            [_NOT_DELETED, running, job_pod],
            {"statusTemplate": _POD_SUCCEEDED},
        ),
        _stage(
            "pod-deleted",
            "Pod",
            [{"key": ".metadata.deletionTimestamp", "operator": "Exists"}],
            {"delete": True},
        ),
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterPortForward",
            "metadata": {"name": "sql-to-postgresql"},
            "spec": {
                "forwards": [
                    {
                        "ports": [SQL_PORT],
                        "target": {"address": "127.0.0.1", "port": sql_target_port},
                    }
                ]
            },
        },
    ]


# --- cluster objects the tests start with ----------------------------------------------------


def node_object(node: NodeSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": {
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": node.zone,
                "topology.kubernetes.io/region": REGION,
                "type": "kwok",
            },
            "annotations": {"kwok.x-k8s.io/node": "fake"},
        },
        "status": {"capacity": NODE_CAPACITY, "allocatable": NODE_CAPACITY},
    }


def storage_class(name: str, default: bool) -> dict[str, Any]:
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "annotations": annotations},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
        "reclaimPolicy": "Retain",
    }


def local_volume(node: NodeSpec, storage: str, index: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"{storage}-{node.name}-{index}"},
        "spec": {
            "capacity": {"storage": VOLUME_CAPACITY},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": storage,
            "volumeMode": "Filesystem",
            "local": {"path": f"/mnt/disks/{storage}-{index}"},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {
                                    "key": "kubernetes.io/hostname",
                                    "operator": "In",
                                    "values": [node.name],
                                }
                            ]
                        }
                    ]
                }
            },
        },
    }


class CockroachReadiness:
    """Plays CockroachDB's readiness probe: a database pod is ready once its namespace's init
    Job has completed (see the module docstring)."""

    POLL_SECONDS = 0.5
    INIT_JOB = "cockroachdb-init"

    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="readiness-probe", daemon=True)
        self.never_ready: set[str] = set()
        self.errors: list[str] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._mark_initialised_pods()
            except (ApiError, OSError) as exc:
                if not (isinstance(exc, ApiError) and exc.status in (404, 409)):
                    self.errors.append(str(exc))
            self._stop.wait(self.POLL_SECONDS)

    def _initialised(self, namespace: str) -> bool:
        job = self._client.get_or_none(
            f"/apis/batch/v1/namespaces/{namespace}/jobs/{self.INIT_JOB}"
        )
        conditions = ((job or {}).get("status") or {}).get("conditions") or []
        return any(c["type"] == "Complete" and c["status"] == "True" for c in conditions)

    def _mark_initialised_pods(self) -> None:
        pods = self._client.items("/api/v1/pods?labelSelector=app.kubernetes.io/name%3Dcockroachdb")
        initialised: dict[str, bool] = {}
        for pod in pods:
            metadata = pod["metadata"]
            namespace = metadata["namespace"]
            if namespace in self.never_ready or metadata.get("deletionTimestamp"):
                continue
            if (metadata.get("annotations") or {}).get(SQL_READY) == "true":
                continue
            if namespace not in initialised:
                initialised[namespace] = self._initialised(namespace)
            if initialised[namespace]:
                self._client.merge_patch(
                    f"/api/v1/namespaces/{namespace}/pods/{metadata['name']}",
                    {"metadata": {"annotations": {SQL_READY: "true"}}},
                )


class ControlPlane:
    """The processes and the objects the tests start with; `start()` then `stop()`."""

    def __init__(self, binaries: Binaries, sql_target_port: int) -> None:
        self._binaries = binaries
        self._sql_target_port = sql_target_port
        self._root = Path(tempfile.mkdtemp(prefix="openalgo-control-plane-"))
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._info: ClusterInfo | None = None
        self.readiness: CockroachReadiness | None = None

    @property
    def info(self) -> ClusterInfo:
        if self._info is None:
            raise RuntimeError("the control plane is not running: call start() first")
        return self._info

    def client(self) -> KubeClient:
        return KubeClient(self.info.url, self.info.token, self.info.ca_file)

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self._root / f"{name}.log").open("wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._processes[name] = process
        return process

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self._root / f"{name}.log"
        if not path.is_file():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _fail(self, what: str, component: str) -> RuntimeError:
        logs = "\n".join(f"--- {name}:\n{self.log_tail(name, 15)}" for name in self._processes)
        self.stop()
        return RuntimeError(f"{what} ({component}):\n{logs}")

    def _wait(self, what: str, component: str, done: Any) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not done():
            exited = [n for n, p in self._processes.items() if p.poll() is not None]
            if exited or time.monotonic() > deadline:
                raise self._fail(f"{what}; exited: {exited or 'none'}", component)
            time.sleep(0.25)

    def start(self) -> ClusterInfo:
        root = self._root
        write_certificates(root)
        etcd_client, etcd_peer, secure_port = free_port(), free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_client}"
        self._spawn(
            "etcd",
            [
                str(self._binaries["etcd"]),
                "--name=test",
                f"--data-dir={root / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=test=http://127.0.0.1:{etcd_peer}",
                "--unsafe-no-fsync",
            ],
        )
        token = secrets.token_hex(24)
        (root / "tokens.csv").write_text(f'{token},test-admin,test-admin,"system:masters"\n')
        self._spawn(
            "kube-apiserver",
            [
                str(self._binaries["kube-apiserver"]),
                "--bind-address=127.0.0.1",
                f"--secure-port={secure_port}",
                f"--etcd-servers={etcd_url}",
                f"--tls-cert-file={root / 'serving.crt'}",
                f"--tls-private-key-file={root / 'serving.key'}",
                f"--client-ca-file={root / 'ca.crt'}",
                f"--token-auth-file={root / 'tokens.csv'}",
                f"--service-account-key-file={root / 'service-account.pub'}",
                f"--service-account-signing-key-file={root / 'service-account.key'}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                # kwok's nodes are reached on the address kwok reports for them: 127.0.0.1
                "--kubelet-preferred-address-types=InternalIP",
                f"--cert-dir={root / 'generated'}",
            ],
        )
        url = f"https://127.0.0.1:{secure_port}"
        client = KubeClient(url, token, root / "ca.crt")
        self._wait("kube-apiserver did not become ready", "kube-apiserver", client.ready)
        version = client.get("/version")
        kubeconfig = self._write_kubeconfig(url, token)
        self._info = ClusterInfo(
            url, token, root / "ca.crt", kubeconfig, "openalgo-test", str(version["gitVersion"])
        )
        self._start_controllers(kubeconfig)
        self._create_cluster_objects(client)
        self._start_kwok(kubeconfig)
        self._wait("the nodes did not become Ready", "kwok", lambda: self._nodes_ready(client))
        self._wait(
            "the default ServiceAccount was not created",
            "kube-controller-manager",
            lambda: client.get_or_none("/api/v1/namespaces/default/serviceaccounts/default"),
        )
        self.readiness = CockroachReadiness(client)
        self.readiness.start()
        return self._info

    def _write_kubeconfig(self, url: str, token: str) -> Path:
        kubeconfig = self._root / "kubeconfig"
        context = "openalgo-test"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": context,
                            "cluster": {
                                "server": url,
                                "certificate-authority": str(self._root / "ca.crt"),
                            },
                        }
                    ],
                    "users": [{"name": "test-admin", "user": {"token": token}}],
                    "contexts": [
                        {"name": context, "context": {"cluster": context, "user": "test-admin"}}
                    ],
                    "current-context": context,
                }
            )
        )
        os.chmod(kubeconfig, 0o600)
        return kubeconfig

    def _start_controllers(self, kubeconfig: Path) -> None:
        root = self._root
        self._spawn(
            "kube-controller-manager",
            [
                str(self._binaries["kube-controller-manager"]),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                f"--service-account-private-key-file={root / 'service-account.key'}",
                f"--root-ca-file={root / 'ca.crt'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--use-service-account-credentials=false",
                "--controllers=*",
                "--concurrent-statefulset-syncs=5",
                "--kube-api-qps=200",
                "--kube-api-burst=400",
            ],
        )
        self._spawn(
            "kube-scheduler",
            [
                str(self._binaries["kube-scheduler"]),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
            ],
        )

    def _create_cluster_objects(self, client: KubeClient) -> None:
        for node in NODES:
            client.create("/api/v1/nodes", node_object(node))
        for index, name in enumerate(STORAGE_CLASSES):
            client.create("/apis/storage.k8s.io/v1/storageclasses", storage_class(name, index == 0))
            for node in NODES:
                for volume in range(VOLUMES_PER_NODE):
                    client.create("/api/v1/persistentvolumes", local_volume(node, name, volume))

    def _start_kwok(self, kubeconfig: Path) -> None:
        root = self._root
        config = root / "kwok.yaml"
        config.write_text(yaml.safe_dump_all(kwok_documents(self._sql_target_port)))
        port = free_port()
        self._spawn(
            "kwok",
            [
                str(self._binaries["kwok"]),
                f"--kubeconfig={kubeconfig}",
                f"--config={config}",
                "--manage-all-nodes=true",
                "--node-ip=127.0.0.1",
                f"--node-port={port}",
                f"--server-address=127.0.0.1:{port}",
                f"--tls-cert-file={root / 'serving.crt'}",
                f"--tls-private-key-file={root / 'serving.key'}",
                "--node-lease-duration-seconds=40",
            ],
        )

    @staticmethod
    def _nodes_ready(client: KubeClient) -> bool:
        nodes = client.items("/api/v1/nodes")
        ready = [
            n
            for n in nodes
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in n.get("status", {}).get("conditions", [])
            )
        ]
        return len(ready) == len(NODES)

    def stop(self) -> None:
        if self.readiness is not None:
            self.readiness.stop()
        for process in reversed(list(self._processes.values())):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._processes.clear()
        shutil.rmtree(self._root, ignore_errors=True)


# --- the SQL endpoint behind every pod's SQL port ---------------------------------------------


@dataclass
class SqlEndpoint:
    """PostgreSQL as CockroachDB's SQL port: user `root` with no password over plain TCP (an
    insecure cluster), or with root's client certificate over TLS once `enable_tls` ran."""

    server: PostgresServer
    data_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.data_dir = self.server.data_directory

    @property
    def port(self) -> int:
        return self.server.info.port

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(self.server.info.conninfo(dbname), autocommit=True)

    def prepare(self) -> None:
        with self.admin() as conn:
            conn.execute("CREATE ROLE root SUPERUSER LOGIN")
            conn.execute("CREATE DATABASE defaultdb")
        hba = self.data_dir / "pg_hba.conf"
        rules = "hostssl all root 127.0.0.1/32 cert\nhostnossl all root 127.0.0.1/32 trust\n"
        hba.write_text(rules + hba.read_text())
        self.reload()

    def reload(self) -> None:
        with self.admin() as conn:
            conn.execute("SELECT pg_reload_conf()")

    def enable_tls(self, ca_cert: str, node_cert: str, node_key: str) -> None:
        """Serve the stack's node certificate and trust its CA for client certificates, as the
        CockroachDB nodes do once the Secret is mounted."""
        files = {"ca.crt": ca_cert, "node.crt": node_cert, "node.key": node_key}
        for name, text in files.items():
            path = self.data_dir / name
            path.write_text(text)
            path.chmod(0o600)
            shutil.chown(path, "postgres", "postgres")
        with self.admin() as conn:
            conn.execute("ALTER SYSTEM SET ssl = on")
            conn.execute("ALTER SYSTEM SET ssl_cert_file = 'node.crt'")
            conn.execute("ALTER SYSTEM SET ssl_key_file = 'node.key'")
            conn.execute("ALTER SYSTEM SET ssl_ca_file = 'ca.crt'")
        self.reload()

    def history(self, database: str = "openalgo") -> list[str]:
        with self.admin(database) as conn:
            rows = conn.execute("SELECT id FROM public.schema_migrations ORDER BY id").fetchall()
        return [str(row[0]) for row in rows]

    def log_offset(self) -> int:
        return self.server.info.log_size()

    def ddl_since(self, offset: int) -> list[str]:
        return ddl_entries(self.server.info.log_since(offset))
