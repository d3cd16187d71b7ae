"""Command line: `python -m migrator plan|apply|status`; see EPILOG for the exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from database.redaction import dsn_secrets, scrub
from migrator.app_databases_cli import (
    add_app_databases_command,
    run_app_databases,
)
from migrator.discovery import load_migrations
from migrator.engine import Migrator, Target
from migrator.errors import (
    ApplyRefusedError,
    InvalidMigrationsError,
    MigrationFailedError,
    MigratorError,
)
from migrator.lease import LeaseSettings
from migrator.results import ApplyResult, Plan

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PENDING = 3
EXIT_REFUSED = 4
DEFAULT_DSN_ENV = "MIGRATOR_DSN"

EPILOG = f"""\
exit codes:
  {EXIT_OK}  success (plan/status read the state; apply finished or had nothing to do)
  {EXIT_FAILED}  failure: cannot connect, a migration failed and was rolled back, the lease
     was not obtained in time (earlier migrations stay applied; re-run after fixing)
  {EXIT_USAGE}  usage: bad arguments, DSN or password environment variable not set
  {EXIT_PENDING}  plan/status with --exit-code: there are pending migrations, bootstrap steps
     or drift (applied migrations missing from the directory)
  {EXIT_REFUSED}  refused, nothing changed: invalid migration files, an applied migration was
     edited, a new migration is numbered below an applied one, or the app role is an admin

The admin DSN comes from --dsn or, to keep it out of shell history, from the environment
variable named by --dsn-env (default {DEFAULT_DSN_ENV}). Passwords are never printed.
CockroachDB-only companion files (NNNN_name.crdb.sql) are reported as skipped on PostgreSQL.
"""


class UsageError(Exception):
    """Arguments or environment variables the CLI cannot work with."""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dsn", help="admin DSN; prefer --dsn-env so it stays out of history")
    common.add_argument(
        "--dsn-env",
        default=DEFAULT_DSN_ENV,
        metavar="VAR",
        help=f"environment variable holding the admin DSN (default {DEFAULT_DSN_ENV})",
    )
    common.add_argument("--dir", default="sql/migrations", help="migrations directory")
    common.add_argument("--database", default="openalgo", help="database to migrate")
    common.add_argument("--app-user", default="openalgo", help="application role to bootstrap")
    common.add_argument(
        "--app-password-env",
        metavar="VAR",
        help="environment variable holding the app role password (omit: no password, "
        "e.g. CockroachDB insecure mode)",
    )
    common.add_argument(
        "--replication-factor",
        type=int,
        metavar="N",
        help="CockroachDB num_replicas for the database (reported as skipped elsewhere)",
    )
    common.add_argument(
        "--lock-wait",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long to wait for a lease another apply holds; what it waits for is printed "
        "while waiting",
    )
    common.add_argument("--lease", type=float, default=60.0, metavar="SECONDS", help="lease length")
    common.add_argument("--json", action="store_true", help="print a JSON document on stdout")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress on stderr")
    parser = argparse.ArgumentParser(
        prog="python -m migrator",
        description="Versioned SQL migrations for CockroachDB and PostgreSQL.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_app_databases_command(commands, common)
    for name, text in (
        ("plan", "show what apply would do (reads only)"),
        ("status", "show applied, pending and drifted migrations (reads only)"),
        ("apply", "bootstrap and apply pending migrations"),
    ):
        sub = commands.add_parser(
            name,
            parents=[common],
            help=text,
            description=text,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name != "apply":
            sub.add_argument(
                "--exit-code",
                action="store_true",
                help=f"exit {EXIT_PENDING} when there are pending migrations, bootstrap steps "
                "or drift",
            )
    return parser


def _env(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise UsageError(f"{what}: environment variable {name} is not set or empty")
    return value


def _target(args: argparse.Namespace, dsn: str) -> Target:
    variable = args.app_password_env or getattr(args, "default_password_env", None)
    password = os.environ.get(variable) or None if variable else None
    if args.app_password_env and password is None:
        raise UsageError(
            f"--app-password-env: environment variable {args.app_password_env} is not set or empty"
        )
    try:
        return Target(
            admin_dsn=dsn,
            database=args.database,
            app_user=args.app_user,
            app_password=password,
            replication_factor=args.replication_factor,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def render_plan(plan: Plan, *, as_status: bool) -> str:
    lines = [f"database {plan.database} on {plan.dialect.label}"]
    lines += [f"bootstrap: {step}" for step in plan.bootstrap]
    lines += [f"note: {note}" for note in plan.notes]
    if as_status:
        lines.append(f"applied ({len(plan.applied)}):")
        lines += [
            f"  {row.id}  {row.applied_at:%Y-%m-%d %H:%M:%S%z}  {row.duration_ms} ms  "
            f"by {row.applied_by}  companion {row.companion_status.value}"
            for row in plan.applied
        ]
    else:
        lines.append(f"already applied: {len(plan.applied)}")
    lines.append(f"pending ({len(plan.pending)}):")
    lines += [f"  {p.file_name}  ({_count(p.statements, 'statement')})" for p in plan.pending]
    lines += [f"  resume companion of {mid}" for mid in plan.resume_companions]
    lines += [f"skipped: {s.describe(plan.dialect)}" for s in plan.skipped_companions]
    lines += [
        f"drift: {mid} is applied in the database but missing from the directory"
        for mid in plan.drift
    ]
    lines += [f"refused: {reason}" for reason in plan.refusals]
    return "\n".join(lines)


def render_result(result: ApplyResult) -> str:
    lines = [f"database {result.database} on {result.dialect.label}"]
    lines += [f"bootstrap: {step}" for step in result.bootstrap]
    lines += [f"note: {note}" for note in result.notes]
    lines += [
        f"applied {run.id} ({_count(run.statements, 'statement')}, {run.duration_ms} ms"
        + (
            f", companion {run.companion_status.value}"
            if run.companion_status.value != "none"
            else ""
        )
        + ")"
        for run in result.applied
    ]
    lines += [f"skipped: {s.describe(result.dialect)}" for s in result.skipped_companions]
    lines += [
        f"drift: {mid} is applied in the database but missing from the directory"
        for mid in result.drift
    ]
    lines.append(
        f"{len(result.applied)} applied, {len(result.already_applied)} already applied; "
        f"{_count(result.ddl_statements, 'DDL statement')}, "
        f"{_count(result.other_statements, 'other statement')}, "
        f"{_count(result.round_trips, 'round trip')}"
    )
    return "\n".join(lines)


def _emit(out: TextIO, as_json: bool, document: dict[str, Any], text: str) -> None:
    out.write((json.dumps(document, indent=2, default=str) if as_json else text) + "\n")


def _error(out: TextIO, err: TextIO, as_json: bool, kind: str, message: str, code: int) -> int:
    """Print the error once: in the JSON document with --json, else on stderr."""
    if as_json:
        out.write(json.dumps({"error": kind, "message": message, "exit_code": code}) + "\n")
    else:
        err.write(f"error: {message}\n")
    return code


def run(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("migrator")
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        return _run_command(args, out, err)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


def _run_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    secrets: tuple[str, ...] = ()
    try:
        dsn = args.dsn or _env(args.dsn_env, "no --dsn given")
        secrets = dsn_secrets(dsn)
        target = _target(args, dsn)
        secrets = target.secrets
        if args.command == "app-databases":
            return run_app_databases(args, target, out, _emit)
        lease = LeaseSettings(duration_s=args.lease, wait_s=args.lock_wait)
        migrator = Migrator(target, load_migrations(args.dir), lease=lease)
        if args.command == "apply":
            result = migrator.apply()
            _emit(out, args.json, result.as_dict(), render_result(result))
            return EXIT_OK
        plan = migrator.plan()
        _emit(out, args.json, plan.as_dict(), render_plan(plan, as_status=args.command == "status"))
        if plan.refusals:
            return EXIT_REFUSED
        if args.exit_code and (plan.has_work or plan.drift):
            return EXIT_PENDING
        return EXIT_OK
    except (UsageError, ValueError) as exc:
        return _error(out, err, args.json, "usage", scrub(str(exc), secrets), EXIT_USAGE)
    except (InvalidMigrationsError, ApplyRefusedError) as exc:
        return _error(out, err, args.json, "refused", scrub(str(exc), secrets), EXIT_REFUSED)
    except MigrationFailedError as exc:
        if exc.partial is not None and not args.json:
            out.write(render_result(exc.partial) + "\n")
        return _error(out, err, args.json, "failed", scrub(str(exc), secrets), EXIT_FAILED)
    except MigratorError as exc:
        return _error(out, err, args.json, "failed", scrub(str(exc), secrets), EXIT_FAILED)


def main() -> None:
    sys.exit(run(sys.argv[1:], sys.stdout, sys.stderr))
