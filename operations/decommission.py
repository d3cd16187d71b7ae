"""Decommission the CockroachDB nodes behind StatefulSet ordinals before the cluster shrinks.

Finds each pod's node id with `cockroach node status` run in the client pod, then runs
`cockroach node decommission --wait=all`, which returns once the nodes hold no replicas.
Afterwards list the ordinals in openalgo:scaling.decommissioned and lower openalgo:replicas;
`pulumi up` checks again that they hold nothing before the pods go.

Node status comes from the client pod rather than a DSN because decommissioning has no SQL
statement: the `cockroach` binary in that pod, with its certificates, is needed either way.
"""

from __future__ import annotations

import csv
import io
import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from rules.names import CLIENT_POD, PUBLIC_SERVICE, SQL_PORT, STATEFULSET

DEFAULT_NAMESPACE = "trading"
"""The stack's default openalgo:namespace."""

Execute = Callable[[Sequence[str], bool], str]
"""Runs a command line; when asked to capture, returns its stdout, otherwise lets it print.
Raises CommandFailedError when the command fails."""


class CommandFailedError(Exception):
    """kubectl or cockroach could not be started or exited with an error."""


class NodeStatusFormatError(Exception):
    """`cockroach node status --format=csv` printed something without id and address columns."""


def parse_ordinal(text: str) -> int:
    """A StatefulSet pod ordinal: a whole number written in digits only."""
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"'{text}' is not a pod ordinal (a whole number)")
    return int(text)


@dataclass(frozen=True)
class ClientPod:
    """Where `cockroach` commands run: the client pod, which holds the root certificates."""

    namespace: str
    insecure: bool

    def command(self, *arguments: str) -> list[str]:
        security = ["--insecure"] if self.insecure else []
        return [
            "kubectl",
            "-n",
            self.namespace,
            "exec",
            CLIENT_POD,
            "--",
            "./cockroach",
            *arguments,
            *security,
            f"--host={PUBLIC_SERVICE}:{SQL_PORT}",
        ]


def run_command(argv: Sequence[str], capture: bool) -> str:
    """The real Execute: a subprocess whose output is either returned or shown as it comes."""
    pipe = subprocess.PIPE if capture else None
    try:
        result = subprocess.run(argv, stdout=pipe, stderr=pipe, text=True, check=False)
    except OSError as error:
        raise CommandFailedError(f"cannot run {argv[0]}: {error.strerror}") from None
    if result.returncode != 0:
        detail = (result.stderr or "").strip()
        raise CommandFailedError(
            f"`{shlex.join(argv)}` failed (exit {result.returncode})"
            + (f": {detail}" if detail else "")
        )
    return result.stdout or ""


def node_ids_of_pods(status_csv: str, ordinals: Sequence[int]) -> dict[int, int | None]:
    """Each ordinal's node id, None for a pod no node advertises (it never joined).

    A node is matched by the address it advertises (``cockroachdb-N.<headless>...``); when a
    volume was replaced the same address has had several node ids, and the newest counts.
    """
    rows = list(csv.DictReader(io.StringIO(status_csv)))
    if rows and not {"id", "address"} <= rows[0].keys():
        raise NodeStatusFormatError(
            "`cockroach node status --format=csv` printed no id and address columns"
        )
    found: dict[int, int | None] = {}
    for ordinal in ordinals:
        prefix = f"{STATEFULSET}-{ordinal}."
        ids = [int(row["id"]) for row in rows if (row["address"] or "").startswith(prefix)]
        found[ordinal] = max(ids, default=None)
    return found


def next_steps(ordinals: Sequence[int]) -> str:
    listed = ",".join(map(str, ordinals))
    return f"done: set openalgo:scaling.decommissioned to [{listed}] and lower openalgo:replicas"


def decommission(
    ordinals: Sequence[int], pod: ClientPod, execute: Execute, out: TextIO, err: TextIO
) -> None:
    """Decommission the nodes of the pods at ``ordinals`` and wait until they hold nothing."""
    wanted = list(dict.fromkeys(ordinals))
    status = execute(pod.command("node", "status", "--format=csv"), True)
    node_ids = node_ids_of_pods(status, wanted)
    to_decommission: list[int] = []
    for ordinal, node_id in node_ids.items():
        if node_id is None:
            err.write(
                f"decommission: no node advertises {STATEFULSET}-{ordinal} "
                "(never joined: nothing to move)\n"
            )
            continue
        out.write(f"{STATEFULSET}-{ordinal} is node {node_id}\n")
        to_decommission.append(node_id)
    out.flush()
    if to_decommission:
        execute(
            pod.command("node", "decommission", *map(str, to_decommission), "--wait=all"), False
        )
    out.write(next_steps(wanted) + "\n")
