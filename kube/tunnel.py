"""A port-forward through the Kubernetes API to a ready CockroachDB pod, for one provider call.

``kubectl port-forward`` without kubectl: a listener on 127.0.0.1 on a free port, and for each
connection accepted there one port-forward stream (the ``kubernetes`` client's websocket
support) to the pod's SQL port, bytes relayed both ways until either side closes. Everything is
closed when the block ends. The pod is chosen among the ready ones, after waiting for one within
the configured bound, so a cluster that never becomes ready fails with the reason instead of
hanging.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kube.access import ClusterReader, KubeAccess, wait_for_ready_pod

LOOPBACK = "127.0.0.1"
CHUNK = 64 * 1024
ACCEPT_POLL_S = 0.2


@dataclass
class Tunnel:
    """The local end of a port-forward; ``errors`` holds what the API said when a stream failed."""

    host: str
    port: int
    pod: str
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        where = f"port-forward to pod {self.pod}"
        return f"{where} ({'; '.join(self.errors)})" if self.errors else where


def _relay(local: socket.socket, remote: Any) -> None:
    """Copy bytes both ways until one side closes."""
    pair = {local: remote, remote: local}
    try:
        while True:
            readable, _, _ = select.select(list(pair), [], [])
            for source in readable:
                data = source.recv(CHUNK)
                if not data:
                    return
                pair[source].sendall(data)
    except OSError:
        return
    finally:
        for end in (local, remote):
            with contextlib.suppress(OSError):
                end.close()


def _open_stream(core: Any, tunnel: Tunnel, access: KubeAccess) -> Any:
    from kubernetes.stream import portforward

    forward = portforward(
        core.connect_get_namespaced_pod_portforward,
        tunnel.pod,
        access.namespace,
        ports=str(access.port),
    )
    remote = forward.socket(access.port)
    remote.setblocking(True)
    return remote


def _serve(
    listener: socket.socket, core: Any, tunnel: Tunnel, access: KubeAccess, stop: threading.Event
) -> None:
    workers: list[threading.Thread] = []
    while not stop.is_set():
        try:
            local, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            break
        local.setblocking(True)
        try:
            remote = _open_stream(core, tunnel, access)
        except Exception as error:  # the API refused the stream: say why, close this connection
            tunnel.errors.append(f"{type(error).__name__}: {str(error).splitlines()[0][:300]}")
            local.close()
            continue
        worker = threading.Thread(target=_relay, args=(local, remote), daemon=True)
        worker.start()
        workers.append(worker)


@contextlib.contextmanager
def port_forward(access: KubeAccess, reader: ClusterReader | None = None) -> Iterator[Tunnel]:
    """A local endpoint that reaches ``access.port`` of a ready pod while the block runs."""
    reader = reader if reader is not None else ClusterReader(access)
    pod = wait_for_ready_pod(reader, access.timeout_s)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((LOOPBACK, 0))
    listener.listen()
    listener.settimeout(ACCEPT_POLL_S)
    tunnel = Tunnel(host=LOOPBACK, port=int(listener.getsockname()[1]), pod=pod)
    stop = threading.Event()
    server = threading.Thread(
        target=_serve, args=(listener, reader.core, tunnel, access, stop), daemon=True
    )
    server.start()
    try:
        yield tunnel
    finally:
        stop.set()
        server.join(timeout=ACCEPT_POLL_S * 5)
        listener.close()
