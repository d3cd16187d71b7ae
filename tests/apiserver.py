"""A throwaway Kubernetes API server (etcd + kube-apiserver, no kubelet) for the live-API tests.

etcd and kube-apiserver listen on 127.0.0.1 on free ports with their data, certificates and keys
in one temporary directory that `stop()` removes. Clients authenticate with a bearer token in
`system:masters`; authorization is RBAC and the default admission plugins run, PodSecurity
among them, so what the server accepts is what a conformant cluster's control plane accepts.

There are no controllers and no kubelet. `Controllers` stands in for the few whose absence
would make the Pulumi provider wait forever: it reports the Job complete and the Pod ready (as
the job controller and the kubelet would), gives a selector Service a ready endpoint (the
endpoints controller), and finishes deletions (the garbage collector removing the
`foregroundDeletion` finalizer, the namespace controller finalizing a namespace). It never
touches a spec, so everything the program declared is exactly what the server stored.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-kube-apiserver"
INSTALL_TIMEOUT_SECONDS = 3600
START_TIMEOUT_SECONDS = 90
SERVICE_CIDR = "10.96.0.0/16"
STAND_IN_ENDPOINT_IP = "192.0.2.10"
"""A documentation address (RFC 5737): the endpoint names no real pod."""


class ApiServerUnavailableError(RuntimeError):
    """etcd or kube-apiserver is missing and cannot be installed here."""


class ApiError(RuntimeError):
    """The API server answered with an error status."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {body.get('message', body)}")
        self.status = status
        self.body = body


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_binaries() -> tuple[Path, Path]:
    """etcd from PATH; kube-apiserver from PATH or scripts/install-kube-apiserver."""
    found = shutil.which("kube-apiserver")
    if found and shutil.which("etcd"):
        return Path(str(shutil.which("etcd"))), Path(found)
    result = subprocess.run(
        [str(INSTALL_SCRIPT), "--print-path"],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    etcd = shutil.which("etcd")
    if result.returncode != 0 or not result.stdout.strip() or etcd is None:
        raise ApiServerUnavailableError(
            f"no kube-apiserver/etcd: scripts/install-kube-apiserver failed:\n"
            f"{result.stderr[-2000:]}"
        )
    return Path(etcd), Path(result.stdout.strip().splitlines()[-1]) / "kube-apiserver"


def openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{result.stderr}")


def write_certificates(directory: Path) -> None:
    """A CA, a serving certificate for 127.0.0.1/localhost and the service-account key."""
    openssl("genrsa", "-out", "ca.key", "2048", cwd=directory)
    openssl(
        "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=test-apiserver-ca",
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
class ApiServerInfo:
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
        """Whether /readyz answers ok (every post-start hook finished)."""
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

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", path, body)

    def merge_patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", path, body, "application/merge-patch+json")


class ApiServer:
    """etcd and kube-apiserver processes with everything they need in one temporary directory."""

    def __init__(self, etcd: Path, kube_apiserver: Path) -> None:
        self._etcd = etcd
        self._kube_apiserver = kube_apiserver
        self._root = Path(tempfile.mkdtemp(prefix="openalgo-apiserver-"))
        self._processes: list[subprocess.Popen[bytes]] = []
        self._info: ApiServerInfo | None = None

    @property
    def info(self) -> ApiServerInfo:
        if self._info is None:
            raise RuntimeError("the API server is not running: call start() first")
        return self._info

    def client(self) -> KubeClient:
        return KubeClient(self.info.url, self.info.token, self.info.ca_file)

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self._root / f"{name}.log").open("wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._processes.append(process)
        return process

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self._root / f"{name}.log"
        if not path.is_file():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def start(self) -> ApiServerInfo:
        root = self._root
        write_certificates(root)
        etcd_client, etcd_peer, secure_port = free_port(), free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_client}"
        self._spawn(
            "etcd",
            [
                str(self._etcd),
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
        apiserver = self._spawn(
            "kube-apiserver",
            [
                str(self._kube_apiserver),
                "--bind-address=127.0.0.1",
                f"--secure-port={secure_port}",
                f"--etcd-servers={etcd_url}",
                f"--tls-cert-file={root / 'serving.crt'}",
                f"--tls-private-key-file={root / 'serving.key'}",
                f"--token-auth-file={root / 'tokens.csv'}",
                f"--service-account-key-file={root / 'service-account.pub'}",
                f"--service-account-signing-key-file={root / 'service-account.key'}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=RBAC",
                # no controller-manager creates the `default` ServiceAccount of a new namespace
                "--disable-admission-plugins=ServiceAccount",
                "--endpoint-reconciler-type=none",
                f"--cert-dir={root / 'generated'}",
            ],
        )
        url = f"https://127.0.0.1:{secure_port}"
        client = KubeClient(url, token, root / "ca.crt")
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not client.ready():
            if apiserver.poll() is not None or time.monotonic() > deadline:
                logs = (
                    f"kube-apiserver did not become ready:\n{self.log_tail('kube-apiserver')}\n"
                    f"etcd:\n{self.log_tail('etcd', 10)}"
                )
                self.stop()
                raise RuntimeError(logs)
            time.sleep(0.25)
        version = client.get("/version")
        kubeconfig = root / "kubeconfig"
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
                                "certificate-authority": str(root / "ca.crt"),
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
        self._info = ApiServerInfo(
            url, token, root / "ca.crt", kubeconfig, context, str(version["gitVersion"])
        )
        return self._info

    def stop(self) -> None:
        for process in reversed(self._processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._processes.clear()
        shutil.rmtree(self._root, ignore_errors=True)


def endpoint_port(service_port: dict[str, Any]) -> int:
    """The numeric target port; a named one stands for the service port itself here."""
    target = service_port.get("targetPort", service_port["port"])
    return target if isinstance(target, int) else int(service_port["port"])


def namespaced_collections(client: KubeClient, namespace: str) -> list[str]:
    """The path of every namespaced resource a client can list and patch, one version each."""
    versions = ["/api/v1"] + [
        f"/apis/{group['preferredVersion']['groupVersion']}"
        for group in client.get("/apis")["groups"]
    ]
    base = {"/api/v1": f"/api/v1/namespaces/{namespace}"}
    paths = []
    for version in versions:
        prefix = base.get(version, f"{version}/namespaces/{namespace}")
        for resource in client.get(version)["resources"]:
            verbs = set(resource.get("verbs", []))
            if (
                resource["namespaced"]
                and "/" not in resource["name"]
                and {"list", "patch"} <= verbs
            ):
                paths.append(f"{prefix}/{resource['name']}")
    return paths


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Controllers:
    """Stands in for the controllers and kubelet in one namespace (see the module docstring)."""

    POLL_SECONDS = 0.2

    def __init__(self, client: KubeClient, namespace: str) -> None:
        self._client = client
        self._namespace = namespace
        self._collections = namespaced_collections(client, namespace)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="controller-stand-in", daemon=True)
        self.errors: list[str] = []

    def __enter__(self) -> Controllers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile()
            except (ApiError, OSError) as exc:
                if not (isinstance(exc, ApiError) and exc.status in (404, 409)):
                    self.errors.append(str(exc))
            self._stop.wait(self.POLL_SECONDS)

    def _items(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._client.get(path).get("items", [])
        return items

    def reconcile(self) -> None:
        ns = self._namespace
        namespace = self._client.get_or_none(f"/api/v1/namespaces/{ns}")
        if namespace is None:
            return
        kinds = {
            "pods": f"/api/v1/namespaces/{ns}/pods",
            "services": f"/api/v1/namespaces/{ns}/services",
            "endpoints": f"/api/v1/namespaces/{ns}/endpoints",
            "jobs": f"/apis/batch/v1/namespaces/{ns}/jobs",
        }
        for path in self._collections:
            for item in self._items(path):
                self._collect_garbage(path, item)
        for pod in self._items(kinds["pods"]):
            self._report_pod_ready(kinds["pods"], pod)
        for job in self._items(kinds["jobs"]):
            self._report_job_complete(kinds["jobs"], job)
        services = self._items(kinds["services"])
        for service in services:
            self._give_endpoint(kinds["endpoints"], service)
        names = {s["metadata"]["name"] for s in services}
        for endpoints in self._items(kinds["endpoints"]):
            if endpoints["metadata"]["name"] not in names:
                self._client.request(
                    "DELETE", f"{kinds['endpoints']}/{endpoints['metadata']['name']}"
                )
        self._finalize_namespace(namespace)

    def _collect_garbage(self, path: str, item: dict[str, Any]) -> None:
        metadata = item["metadata"]
        if metadata.get("deletionTimestamp") and metadata.get("finalizers"):
            kept = [f for f in metadata["finalizers"] if f != "foregroundDeletion"]
            if kept != metadata["finalizers"]:
                self._client.merge_patch(
                    f"{path}/{metadata['name']}",
                    {
                        "metadata": {
                            "finalizers": kept,
                            "resourceVersion": metadata["resourceVersion"],
                        }
                    },
                )

    def _report_pod_ready(self, path: str, pod: dict[str, Any]) -> None:
        if pod["metadata"].get("deletionTimestamp") or pod.get("status", {}).get("phase") in (
            "Running",
            "Succeeded",
        ):
            return
        now = utc_now()
        containers = pod["spec"]["containers"]
        self._client.merge_patch(
            f"{path}/{pod['metadata']['name']}/status",
            {
                "status": {
                    "phase": "Running",
                    "startTime": now,
                    "conditions": [
                        {"type": t, "status": "True", "lastTransitionTime": now}
                        for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
                    ],
                    "containerStatuses": [
                        {
                            "name": c["name"],
                            "image": c["image"],
                            "imageID": "",
                            "ready": True,
                            "started": True,
                            "restartCount": 0,
                            "state": {"running": {"startedAt": now}},
                        }
                        for c in containers
                    ],
                }
            },
        )

    def _report_job_complete(self, path: str, job: dict[str, Any]) -> None:
        status = job.get("status", {})
        if job["metadata"].get("deletionTimestamp") or status.get("completionTime"):
            return
        now = utc_now()
        self._client.merge_patch(
            f"{path}/{job['metadata']['name']}/status",
            {
                "status": {
                    "startTime": status.get("startTime", now),
                    "completionTime": now,
                    "succeeded": job["spec"].get("completions", 1),
                    "conditions": [
                        {
                            "type": t,
                            "status": "True",
                            "lastProbeTime": now,
                            "lastTransitionTime": now,
                            "reason": "CompletionsReached",
                            "message": "Reached expected number of succeeded pods",
                        }
                        for t in ("SuccessCriteriaMet", "Complete")
                    ],
                }
            },
        )

    def _give_endpoint(self, path: str, service: dict[str, Any]) -> None:
        spec = service["spec"]
        if (
            service["metadata"].get("deletionTimestamp")
            or not spec.get("selector")
            or spec.get("clusterIP") == "None"
        ):
            return
        name = service["metadata"]["name"]
        if self._client.get_or_none(f"{path}/{name}") is not None:
            return
        ports = [
            {"name": p.get("name", ""), "port": endpoint_port(p), "protocol": "TCP"}
            for p in spec.get("ports", [])
        ]
        self._client.create(
            path,
            {
                "metadata": {"name": name},
                "subsets": [{"addresses": [{"ip": STAND_IN_ENDPOINT_IP}], "ports": ports}],
            },
        )

    def _finalize_namespace(self, namespace: dict[str, Any]) -> None:
        metadata = namespace["metadata"]
        if not metadata.get("deletionTimestamp"):
            return
        name = metadata["name"]
        if "foregroundDeletion" in (metadata.get("finalizers") or []):
            self._collect_garbage("/api/v1/namespaces", namespace)
            return
        if namespace.get("spec", {}).get("finalizers"):
            self._client.request(
                "PUT",
                f"/api/v1/namespaces/{name}/finalize",
                {**namespace, "spec": {"finalizers": []}},
            )
