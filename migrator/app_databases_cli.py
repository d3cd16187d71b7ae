"""`python -m migrator app-databases`: OpenAlgo's databases without Pulumi.

Creates or checks the five databases, the application role's ownership and rights, and prints
what it did; `--print-urls` prints the five NAME=URL lines OpenAlgo's .env takes, the password
elided unless `--show-password`. The password comes from MIGRATOR_APP_PASSWORD (or the variable
named by --app-password-env), never from the command line.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO

from migrator.app_databases import (
    DEFAULT_CONNECTION_LIMIT,
    DEFAULT_NAMES,
    ENVIRONMENT_VARIABLES,
    URL_SCHEME,
    AppDatabases,
    ProvisionResult,
    app_database_urls,
    provision,
    tls_query,
)
from migrator.engine import Target

APP_PASSWORD_VARIABLE = "MIGRATOR_APP_PASSWORD"  # noqa: S105 (the variable's name)
EXIT_PENDING = 3

Emit = Callable[[TextIO, bool, dict[str, Any], str], None]


def _name_override(text: str) -> tuple[str, str]:
    variable, sep, name = text.partition("=")
    if not sep or variable not in ENVIRONMENT_VARIABLES:
        raise argparse.ArgumentTypeError(
            f"{text!r}: use VARIABLE=database, VARIABLE one of {', '.join(ENVIRONMENT_VARIABLES)}"
        )
    return variable, name


def add_app_databases_command(commands: Any, common: argparse.ArgumentParser) -> None:
    text = "create or check OpenAlgo's five databases and its role's rights"
    sub = commands.add_parser("app-databases", parents=[common], help=text, description=text)
    sub.set_defaults(default_password_env=APP_PASSWORD_VARIABLE)
    sub.add_argument(
        "--name",
        action="append",
        type=_name_override,
        default=[],
        metavar="VARIABLE=DATABASE",
        help="a database name other than the default "
        + ", ".join(f"{k}={v}" for k, v in DEFAULT_NAMES.items()),
    )
    sub.add_argument(
        "--connection-limit",
        type=int,
        default=DEFAULT_CONNECTION_LIMIT,
        metavar="N",
        help=f"the role's connection limit on PostgreSQL (default {DEFAULT_CONNECTION_LIMIT})",
    )
    sub.add_argument(
        "--check", action="store_true", help=f"change nothing; exit {EXIT_PENDING} if work is due"
    )
    sub.add_argument("--print-urls", action="store_true", help="print NAME=URL lines for .env")
    sub.add_argument("--host", default="localhost", help="host in the printed URLs")
    sub.add_argument("--port", type=int, default=26257, help="port in the printed URLs")
    sub.add_argument("--scheme", default=URL_SCHEME, help=f"URL scheme (default {URL_SCHEME})")
    sub.add_argument(
        "--ca-path",
        metavar="PATH",
        help="CA certificate path inside OpenAlgo's pod: adds sslmode=verify-full",
    )
    sub.add_argument("--show-password", action="store_true", help="print the password in the URLs")


def render(result: ProvisionResult, *, check: bool) -> str:
    lines = [f"OpenAlgo databases on {result.dialect.label}"]
    lines += [f"{'to do' if check else 'done'}: {step}" for step in result.done]
    lines += [f"note: {note}" for note in result.notes]
    if not result.done:
        lines.append("nothing to change")
    lines.append(f"{result.ddl_statements} DDL statements, {result.round_trips} round trips")
    return "\n".join(lines)


def run_app_databases(args: argparse.Namespace, target: Target, out: TextIO, emit: Emit) -> int:
    spec = AppDatabases({**DEFAULT_NAMES, **dict(args.name)})
    result = provision(target, spec, connection_limit=args.connection_limit, apply=not args.check)
    document = result.as_dict()
    text = render(result, check=args.check)
    if args.print_urls:
        urls = app_database_urls(
            spec,
            user=target.app_user,
            password=target.app_password,
            host=args.host,
            port=args.port,
            scheme=args.scheme,
            query=tls_query(args.ca_path) if args.ca_path else None,
            elide_password=not args.show_password,
        )
        document["urls"] = urls
        text += "\n" + "\n".join(f"{name}={url}" for name, url in urls.items())
    emit(out, args.json, document, text)
    return EXIT_PENDING if args.check and result.done else 0
