"""Command line: `python -m operations status|certs|decommission`; see EPILOG for the exit codes."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import psycopg

from database.connect import ConnectError
from database.connect import connect as open_connection
from database.redaction import dsn_problem, redact_dsn, redact_message
from operations.certs import (
    DEFAULT_WARN_DAYS,
    CertificateSourceError,
    FoundCertificate,
    assess_certificates,
    certificates_in_directory,
    certificates_in_file,
    certificates_in_secret_file,
    needs_attention,
    render_expiries,
)
from operations.decommission import (
    DEFAULT_NAMESPACE,
    ClientPod,
    CommandFailedError,
    Execute,
    NodeStatusFormatError,
    decommission,
    parse_ordinal,
    run_command,
)
from operations.status import (
    Fetch,
    NotCockroachError,
    Query,
    assess,
    collect,
    render_status,
    status_document,
)
from rules.names import CLIENT_POD, STATEFULSET

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_DEGRADED = 3
DEFAULT_DSN_ENV = "MIGRATOR_DSN"

EPILOG = f"""\
exit codes:
  {EXIT_OK}  healthy: every node live, no under-replicated or unavailable range, no disk over
     80%; or every certificate valid beyond the warning window; or the nodes are decommissioned
  {EXIT_FAILED}  error: cannot connect, a query failed, the server is not CockroachDB, a
     certificate file cannot be read, a kubectl or cockroach command failed
  {EXIT_USAGE}  usage: bad arguments, DSN environment variable not set
  {EXIT_DEGRADED}  degraded: status found a problem, or a certificate expires within the warning
     window (or already has)

The admin DSN comes from --dsn or, to keep it out of shell history, from the environment
variable named by --dsn-env (default {DEFAULT_DSN_ENV}, the one `python -m migrator` reads).
The crdb_internal tables status reads need an admin user such as root. Passwords are never
printed.
"""

DECOMMISSION_DESCRIPTION = f"""\
Find the node id of each pod {STATEFULSET}-ORDINAL (`cockroach node status` in the {CLIENT_POD}
pod) and run `cockroach node decommission --wait=all`, which returns once those nodes hold no
replicas. Then list the ordinals in openalgo:scaling.decommissioned and lower openalgo:replicas;
`pulumi up` checks again that they hold nothing before the pods go. A pod that never joined is
reported and skipped.
"""

DECOMMISSION_EPILOG = f"""\
exit codes:
  {EXIT_OK}  the nodes are decommissioned and hold no replicas (or their pods never joined)
  {EXIT_FAILED}  error: kubectl or cockroach failed, or node status could not be read
  {EXIT_USAGE}  usage: bad arguments, no ordinal
"""

Connector = Callable[[str], AbstractContextManager[Fetch]]


class UsageError(Exception):
    """Arguments or environment variables the CLI cannot work with."""


@contextmanager
def connect(dsn: str) -> Iterator[Fetch]:
    """An autocommit connection to ``dsn``, as a function that runs one statement."""
    with open_connection(dsn) as conn:

        def fetch(query: Query, params: Sequence[Any] | None) -> list[tuple[Any, ...]]:
            return conn.execute(query, params).fetchall()

        yield fetch


def _parser() -> argparse.ArgumentParser:
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print a JSON document on stdout")
    parser = argparse.ArgumentParser(
        prog="python -m operations",
        description="Day-2 checks and operations of the CockroachDB cluster for OpenAlgo.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    status = commands.add_parser(
        "status",
        parents=[output],
        help="node liveness, range health, replication and storage (reads only)",
        description="Summarise node liveness, range health, replication and storage.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("--dsn", help="admin DSN; prefer --dsn-env so it stays out of history")
    status.add_argument(
        "--dsn-env",
        default=DEFAULT_DSN_ENV,
        metavar="VAR",
        help=f"environment variable holding the admin DSN (default {DEFAULT_DSN_ENV})",
    )
    status.add_argument(
        "--database", default="openalgo", help="database whose replication is reported"
    )
    certs = commands.add_parser(
        "certs",
        parents=[output],
        help="days to expiry of CA, node and client certificates",
        description="Report days to expiry of every certificate given; keys are never read.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    certs.add_argument(
        "--certs-dir",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="a certs directory (ca.crt, node.crt, client.<user>.crt); every *.crt is read",
    )
    certs.add_argument(
        "--cert",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="a PEM file with one or more certificates",
    )
    certs.add_argument(
        "--secret-file",
        action="append",
        default=[],
        metavar="FILE",
        help="a Secret as `kubectl get secret NAME -o json` prints it ('-' reads stdin)",
    )
    certs.add_argument(
        "--warn-days",
        type=int,
        default=DEFAULT_WARN_DAYS,
        metavar="DAYS",
        help=f"warn about certificates expiring within DAYS (default {DEFAULT_WARN_DAYS})",
    )
    decommission = commands.add_parser(
        "decommission",
        help="move the replicas off the nodes of pods about to be removed, and wait",
        description=DECOMMISSION_DESCRIPTION,
        epilog=DECOMMISSION_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    decommission.add_argument(
        "ordinals",
        nargs="*",
        metavar="ORDINAL",
        help=f"N of a pod {STATEFULSET}-N that is about to be removed",
    )
    decommission.add_argument(
        "--namespace",
        "-n",
        default=DEFAULT_NAMESPACE,
        help=f"namespace of the stack (default {DEFAULT_NAMESPACE})",
    )
    decommission.add_argument(
        "--insecure", action="store_true", help="the stack runs CockroachDB without TLS"
    )
    return parser


def _error(out: TextIO, err: TextIO, as_json: bool, kind: str, message: str, code: int) -> int:
    if as_json:
        out.write(json.dumps({"error": kind, "message": message, "exit_code": code}) + "\n")
    err.write(f"error: {message}\n")
    return code


def _dsn(args: argparse.Namespace) -> str:
    if args.dsn:
        return str(args.dsn)
    value = os.environ.get(args.dsn_env)
    if not value:
        raise UsageError(f"no --dsn given: environment variable {args.dsn_env} is not set or empty")
    return value


def run_status(args: argparse.Namespace, out: TextIO, err: TextIO, connector: Connector) -> int:
    try:
        dsn = _dsn(args)
    except UsageError as exc:
        return _error(out, err, args.json, "usage", str(exc), EXIT_USAGE)
    problem = dsn_problem(dsn)
    if problem is not None:
        message = f"invalid DSN {redact_dsn(dsn)}: {problem}"
        return _error(out, err, args.json, "usage", message, EXIT_USAGE)
    try:
        with connector(dsn) as fetch:
            status = collect(fetch, args.database)
    except NotCockroachError as exc:
        return _error(out, err, args.json, "not-cockroachdb", str(exc), EXIT_FAILED)
    except ConnectError as exc:
        return _error(out, err, args.json, "failed", str(exc), EXIT_FAILED)
    except psycopg.OperationalError as exc:
        message = f"cannot connect to {redact_dsn(dsn)} or lost the connection: {exc}"
        return _error(out, err, args.json, "failed", redact_message(message, dsn), EXIT_FAILED)
    except psycopg.Error as exc:
        message = f"query failed: {exc}"
        return _error(out, err, args.json, "failed", redact_message(message, dsn), EXIT_FAILED)
    verdict = assess(status)
    if args.json:
        out.write(json.dumps(status_document(status, verdict), indent=2) + "\n")
    else:
        out.write(render_status(status, verdict) + "\n")
    return EXIT_OK if verdict.healthy else EXIT_DEGRADED


def _gather(args: argparse.Namespace, stdin: TextIO) -> list[FoundCertificate]:
    if not (args.certs_dir or args.cert or args.secret_file):
        raise UsageError("nothing to check: give --certs-dir, --cert or --secret-file")
    found: list[FoundCertificate] = []
    for directory in args.certs_dir:
        found += certificates_in_directory(directory)
    for path in args.cert:
        found += certificates_in_file(path)
    for name in args.secret_file:
        if name == "-":
            found += certificates_in_secret_file(stdin.read(), "stdin")
            continue
        try:
            text = Path(name).read_text()
        except OSError as exc:
            raise CertificateSourceError(f"{name}: cannot read: {exc.strerror}") from None
        found += certificates_in_secret_file(text, name)
    return found


def run_certs(
    args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO, now: datetime
) -> int:
    if args.warn_days < 0:
        return _error(
            out, err, args.json, "usage", f"--warn-days {args.warn_days}: must be >= 0", EXIT_USAGE
        )
    try:
        found = _gather(args, stdin)
    except UsageError as exc:
        return _error(out, err, args.json, "usage", str(exc), EXIT_USAGE)
    except CertificateSourceError as exc:
        return _error(out, err, args.json, "failed", str(exc), EXIT_FAILED)
    expiries = assess_certificates(found, now, args.warn_days)
    attention = needs_attention(expiries)
    if args.json:
        document = {
            "warn_days": args.warn_days,
            "verdict": "attention" if attention else "ok",
            "certificates": [e.as_dict() for e in expiries],
        }
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        out.write(render_expiries(expiries, args.warn_days) + "\n")
    return EXIT_DEGRADED if attention else EXIT_OK


def run_decommission(args: argparse.Namespace, out: TextIO, err: TextIO, execute: Execute) -> int:
    try:
        ordinals = [parse_ordinal(text) for text in args.ordinals]
    except ValueError as exc:
        return _error(out, err, False, "usage", str(exc), EXIT_USAGE)
    if not ordinals:
        message = "name at least one ordinal, e.g. 'python -m operations decommission 4 5'"
        return _error(out, err, False, "usage", message, EXIT_USAGE)
    try:
        decommission(ordinals, ClientPod(args.namespace, args.insecure), execute, out, err)
    except (CommandFailedError, NodeStatusFormatError) as exc:
        return _error(out, err, False, "failed", str(exc), EXIT_FAILED)
    return EXIT_OK


def run(
    argv: Sequence[str],
    out: TextIO,
    err: TextIO,
    *,
    stdin: TextIO | None = None,
    connector: Connector = connect,
    execute: Execute = run_command,
    now: datetime | None = None,
) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.command == "status":
        return run_status(args, out, err, connector)
    if args.command == "decommission":
        return run_decommission(args, out, err, execute)
    return run_certs(args, out, err, stdin or sys.stdin, now or datetime.now(UTC))


def main() -> None:
    sys.exit(run(sys.argv[1:], sys.stdout, sys.stderr))
