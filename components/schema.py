"""OpenAlgo's schema as a Pulumi resource: a dynamic provider over the `migrator` engine.

Review surface. The resource's `migrations` input is the ordered list of {id, checksum}, so a
preview names exactly the migrations an update will run; `migrations_digest` is one value over
that list. The SQL itself is code the provider executes, so it travels inside the provider object
that Pulumi serializes into the state: Pulumi always stores that object as a secret and never
prints it, which keeps diffs short however large the files are. check() recomputes every checksum
from the bundled SQL, so what the preview lists is byte for byte what runs, and it refuses an
edit or removal of a migration that an earlier update applied, naming the file.

Reaching the database. The provider connects with an admin DSN (a secret input, plus optional
CA/client certificate and key, written to a private temporary directory only while a method
runs). A DSN is the default because the provider runs wherever `pulumi up` runs: a DSN works over
any path the operator already has (VPN, load balancer, bastion, or a `kubectl port-forward` they
start), needs no Kubernetes credentials or client code inside the provider, and is what the
engine's tests exercise against a real server. Forwarding a port through the Kubernetes API from
inside the provider could be added later without changing the inputs.

Serialization. Pulumi pickles the provider (dill) and runs it in another process, so it holds
only plain tuples of strings, opens every connection inside the method that needs it, and this
module does nothing at import time. Secrets, outputs and the diff are the provider base's
(``components.dynamic_provider``), which also says where the production rules are checked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from components.dynamic_provider import DeclaredProvider
from database.admin import (
    ADMIN_KEYS,
    ADMIN_SECRET_KEYS,
    AdminAccess,
    AdminConnectionError,
    admin_endpoint,
    optional_str,
)
from database.redaction import dsn_problem, redact_dsn
from migrator import (
    InvalidMigrationsError,
    LeaseSettings,
    MigrationSet,
    Migrator,
    MigratorError,
    Plan,
    Target,
    load_migrations,
    migrations_from_texts,
)
from migrator.app_databases import (
    DEFAULT_CONNECTION_LIMIT,
    AppDatabases,
    admin_opener,
    drop_app_databases,
    provision,
)
from migrator.bootstrap import IDENTIFIER, IDENTIFIER_RULE, role_name_problem
from migrator.discovery import MIGRATION_ID, manifest_digest
from migrator.placeholders import DEFAULT_APP_USER
from migrator.results import ApplyResult, CompanionStatus

COMPONENT_TYPE = "openalgo:cockroachdb:SchemaMigrations"
SECRET_KEYS = ("app_password", *ADMIN_SECRET_KEYS)
INPUT_KEYS = (
    "app_password",
    "database",
    "app_user",
    "replication_factor",
    "migrations",
    "migrations_digest",
    "allow_drop",
    "production",
    "lock_wait_s",
    "app_databases",
    "app_connection_limit",
    *ADMIN_KEYS,
)
OUTPUT_KEYS = (
    "applied",
    "applied_ids",
    "applied_count",
    "last_applied",
    "statements_executed",
    "skipped_companions",
    "drift",
    "unapplied",
    "dialect",
    "app_databases_pending",
)

SqlBundle = tuple[tuple[str, str, str | None], ...]
"""(id, portable SQL, companion SQL or None) per migration, in order."""


class SchemaMigrationError(Exception):
    """A provider operation failed; the message names the file or input and holds no secret."""


def sql_bundle(migrations: MigrationSet) -> SqlBundle:
    """The files as written: the provider renders placeholders for the app user it is given."""
    return migrations.sources


def _app_user(props: Mapping[str, Any]) -> str:
    value = props.get("app_user")
    return value if isinstance(value, str) and value else DEFAULT_APP_USER


def migration_manifest(migrations: MigrationSet) -> list[dict[str, str]]:
    """The reviewable list: one {id, checksum} per migration, in order."""
    return [{"id": m.id, "checksum": m.checksum} for m in migrations]


def _manifest_pairs(value: Any) -> list[tuple[str, str]] | None:
    """(id, checksum) pairs of a `migrations` value, or None when it is not a valid list."""
    if not isinstance(value, list):
        return None
    pairs: list[tuple[str, str]] = []
    for entry in value:
        if not isinstance(entry, Mapping):
            return None
        migration_id, checksum = entry.get("id"), entry.get("checksum")
        if not isinstance(migration_id, str) or not isinstance(checksum, str):
            return None
        pairs.append((migration_id, checksum))
    return pairs


def edited_applied(
    applied: Sequence[tuple[str, str]], declared: Sequence[tuple[str, str]]
) -> list[str]:
    """Refusals for applied migrations whose files now hash differently."""
    now = dict(declared)
    return [
        f"{migration_id}.sql: was applied with checksum {checksum[:12]} but the files now "
        f"hash to {now[migration_id][:12]}; revert the edit and put the change in a new migration"
        for migration_id, checksum in applied
        if migration_id in now and now[migration_id] != checksum
    ]


def removed_applied(
    applied: Sequence[tuple[str, str]], declared: Sequence[tuple[str, str]]
) -> list[str]:
    """Refusals for applied migrations that are gone from the declared list."""
    now = dict(declared)
    return [
        f"{migration_id}.sql: was applied but is no longer in the migrations directory; "
        "applied migrations are append-only (restore the file)"
        for migration_id, _ in applied
        if migration_id not in now
    ]


def drop_refused(production: object, allow_drop: object) -> bool:
    """Dropping the database of a production stack: refused wherever the provider meets it (see
    ``components.dynamic_provider`` on where production rules live); unknowns are not judged."""
    return production is True and allow_drop is True


def check_inputs(
    olds: Mapping[str, Any], news: Mapping[str, Any], bundle: SqlBundle
) -> list[tuple[str, str]]:
    """(property, reason) for every invalid input; unknown (preview) values are not judged."""
    failures: list[tuple[str, str]] = []
    declared = _manifest_pairs(news.get("migrations"))
    if declared is None:
        failures.append(("migrations", "must be a list of {id, checksum} entries"))
    else:
        failures += [
            ("migrations", reason)
            for reason in _manifest_problems(declared, bundle, _app_user(news))
        ]
        digest = news.get("migrations_digest")
        if isinstance(digest, str) and digest != manifest_digest(declared):
            failures.append(("migrations_digest", "does not match the migrations list"))
        previous = _manifest_pairs(olds.get("migrations")) or []
        refusals = edited_applied(previous, declared) + removed_applied(previous, declared)
        failures += [("migrations", reason) for reason in refusals]
    dsn = news.get("admin_dsn")
    if isinstance(dsn, str) and dsn and (problem := dsn_problem(dsn)) is not None:
        failures.append(("admin_dsn", f"{redact_dsn(dsn)} is not valid: {problem}"))
    for key in ("database", "app_user"):
        value = news.get(key)
        if isinstance(value, str) and not IDENTIFIER.match(value):
            failures.append((key, f"{value!r} is not allowed: use {IDENTIFIER_RULE}"))
        elif key == "app_user" and isinstance(value, str) and (why := role_name_problem(value)):
            failures.append((key, why))
    factor = news.get("replication_factor")
    if factor is not None and isinstance(factor, int | float) and factor < 1:
        failures.append(("replication_factor", f"{factor} is not allowed: use 1 or more"))
    if drop_refused(news.get("production"), news.get("allow_drop")):
        failures.append(("allow_drop", "must be false on a production stack"))
    return failures


def _manifest_problems(
    declared: Sequence[tuple[str, str]], bundle: SqlBundle, app_user: str
) -> list[str]:
    problems: list[str] = []
    ids = [migration_id for migration_id, _ in declared]
    if len(set(ids)) != len(ids):
        problems.append("ids must be unique")
    if ids != sorted(ids):
        problems.append("ids must be in increasing order")
    problems += [f"{i}: not a valid migration id" for i in ids if not MIGRATION_ID.match(i)]
    try:
        bundled = {m.id: m.checksum for m in migrations_from_texts(bundle, app_user)}
    except InvalidMigrationsError as exc:
        return [*problems, *exc.problems]
    for migration_id, checksum in declared:
        actual = bundled.get(migration_id)
        if actual is None:
            problems.append(f"{migration_id}.sql: listed but its SQL is not in the provider")
        elif actual != checksum:
            problems.append(
                f"{migration_id}.sql: listed with checksum {checksum[:12]} but its SQL hashes "
                f"to {actual[:12]}"
            )
    problems += [
        f"{migration_id}.sql: SQL in the provider but not listed"
        for migration_id in bundled
        if migration_id not in set(ids)
    ]
    return problems


def state_changes(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """Beyond the inputs: migrations missing from the history ask for an update.

    Raises when a migration recorded as applied (in state) now has another checksum, so the
    preview fails and names the file.
    """
    applied = _manifest_pairs(olds.get("applied")) or []
    declared = _manifest_pairs(news.get("migrations"))
    if declared is not None:
        edits = edited_applied(applied, declared)
        if edits:
            raise SchemaMigrationError(
                "refusing to change applied migrations:\n  " + "\n  ".join(edits)
            )
    pending = ("unapplied", "app_databases_pending")
    return [key for key in pending if olds.get(key)]


@contextlib.contextmanager
def _migrator(props: Mapping[str, Any], bundle: SqlBundle) -> Iterator[Migrator]:
    factor = props.get("replication_factor")
    wait = props.get("lock_wait_s")
    with contextlib.ExitStack() as stack:
        try:
            endpoint = stack.enter_context(admin_endpoint(props))
        except AdminConnectionError as error:
            raise SchemaMigrationError(str(error)) from None
        try:
            target = Target(
                admin_dsn=endpoint.dsn,
                database=str(props.get("database", "openalgo")),
                app_user=_app_user(props),
                app_password=optional_str(props, "app_password"),
                replication_factor=int(factor) if factor is not None else None,
                connect_options=endpoint.options,
            )
            migrations = migrations_from_texts(bundle, target.app_user)
        except (ValueError, InvalidMigrationsError) as exc:
            raise SchemaMigrationError(str(exc)) from None
        lease = LeaseSettings(wait_s=float(wait)) if isinstance(wait, int | float) else None
        yield Migrator(target, migrations, lease=lease)


def _state_from_plan(plan: Plan, declared: Sequence[tuple[str, str]]) -> dict[str, Any]:
    declared_ids = {migration_id for migration_id, _ in declared}
    applied_ids = [row.id for row in plan.applied]
    return {
        "applied": [{"id": row.id, "checksum": row.checksum} for row in plan.applied],
        "applied_ids": applied_ids,
        "applied_count": len(applied_ids),
        "skipped_companions": [
            f"{row.id}.crdb.sql"
            for row in plan.applied
            if row.companion_status is CompanionStatus.SKIPPED
        ],
        "drift": [mid for mid in applied_ids if mid not in declared_ids],
        "unapplied": [mid for mid, _ in declared if mid not in set(applied_ids)],
        "dialect": plan.dialect.value,
    }


def _app_databases(props: Mapping[str, Any]) -> AppDatabases | None:
    names = props.get("app_databases")
    if not isinstance(names, Mapping) or not names:
        return None
    try:
        return AppDatabases({str(k): str(v) for k, v in names.items()})
    except ValueError as exc:
        raise SchemaMigrationError(f"app_databases: {exc}") from None


def _provision(migrator: Migrator, props: Mapping[str, Any], *, apply: bool) -> list[str]:
    """OpenAlgo's databases after the schema (the role exists then); the steps still pending."""
    spec = _app_databases(props)
    if spec is None:
        return []
    limit = props.get("app_connection_limit")
    result = provision(
        migrator.target,
        spec,
        connection_limit=int(limit) if isinstance(limit, int | float) else DEFAULT_CONNECTION_LIMIT,
        apply=apply,
    )
    return [] if apply else list(result.done)


def _run_apply(props: Mapping[str, Any], bundle: SqlBundle) -> dict[str, Any]:
    declared = _manifest_pairs(props.get("migrations")) or []
    try:
        with _migrator(props, bundle) as migrator:
            result: ApplyResult = migrator.apply()
            state = _state_from_plan(migrator.status(), declared)
            state["app_databases_pending"] = _provision(migrator, props, apply=True)
    except MigratorError as exc:
        raise SchemaMigrationError(str(exc)) from None
    return {
        **state,
        "last_applied": list(result.applied_ids),
        "statements_executed": result.ddl_statements + result.other_statements,
    }


class SchemaMigrationsProvider(DeclaredProvider):
    """Applies the bundled migrations; holds nothing but the SQL texts (see module docstring)."""

    INPUT_KEYS = INPUT_KEYS
    SECRET_KEYS = SECRET_KEYS
    REPLACE_KEYS = ("database",)
    OUTPUT_KEYS = OUTPUT_KEYS

    def __init__(self, bundle: SqlBundle) -> None:
        super().__init__()
        self.bundle = bundle

    def refusals(self, olds: dict[str, Any], news: dict[str, Any]) -> list[tuple[str, str]]:
        return check_inputs(olds, news, self.bundle)

    def changes_beyond_inputs(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        return state_changes(olds, news)

    def created(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return str(props["database"]), _run_apply(props, self.bundle)

    def refreshed(self, resource_id: str, props: dict[str, Any]) -> dict[str, Any] | None:
        """The applied list comes from the history table, so drift shows in the diff."""
        declared = _manifest_pairs(props.get("migrations")) or []
        try:
            with _migrator(props, self.bundle) as migrator:
                plan = migrator.status()
                pending = _provision(migrator, props, apply=False) if plan.database_exists else []
        except MigratorError as exc:
            raise SchemaMigrationError(str(exc)) from None
        if not plan.database_exists:
            return None
        return {**_state_from_plan(plan, declared), "app_databases_pending": pending}

    def deleted(self, props: dict[str, Any]) -> None:
        """Keeps the database unless allow_drop; refuses to drop on a production stack."""
        if not props.get("allow_drop"):
            return
        if drop_refused(props.get("production"), props.get("allow_drop")):
            raise SchemaMigrationError(
                f"refusing to drop database {props.get('database')}: the stack is production "
                "(allow_drop must stay false there)"
            )
        try:
            with _migrator(props, self.bundle) as migrator:
                spec = _app_databases(props)
                if spec is not None:
                    drop_app_databases(admin_opener(migrator.target), spec)
                migrator.drop_database()
        except MigratorError as exc:
            raise SchemaMigrationError(str(exc)) from None


class SchemaMigrationsResource(dynamic.Resource, module="openalgo", name="SchemaMigrations"):
    """The dynamic resource; its outputs are the applied ids and counts read from the database."""

    applied: pulumi.Output[list[dict[str, str]]]
    applied_ids: pulumi.Output[list[str]]
    applied_count: pulumi.Output[int]
    last_applied: pulumi.Output[list[str]]
    statements_executed: pulumi.Output[int]
    skipped_companions: pulumi.Output[list[str]]
    drift: pulumi.Output[list[str]]
    unapplied: pulumi.Output[list[str]]
    dialect: pulumi.Output[str]
    database: pulumi.Output[str]
    app_user: pulumi.Output[str]


@dataclass(frozen=True)
class SchemaMigrationsArgs:
    """Where and how to apply the schema.

    admin: how to reach the cluster as an admin (its DSN and PEMs are made secret; the DSN is
    required). app_password: None for a role without password (CockroachDB insecure mode).
    replication_factor: CockroachDB num_replicas for the database, None to leave it alone.
    allow_drop: destroy drops the database (never allowed when production is true).
    """

    admin: AdminAccess
    migrations_dir: str | Path = "sql/migrations"
    database: str = "openalgo"
    app_user: str = "openalgo"
    app_password: pulumi.Input[str] | None = None
    replication_factor: int | None = None
    allow_drop: bool = False
    production: bool = False
    lock_wait_s: float = 300.0
    app_databases: dict[str, str] | None = None
    """OpenAlgo's five databases (variable -> name), provisioned after the schema; None: none."""
    app_connection_limit: int | None = None
    """The app role's connection limit (PostgreSQL); None: the default, with app_databases."""


def schema_inputs(args: SchemaMigrationsArgs, migrations: MigrationSet) -> dict[str, Any]:
    """The schema resource's inputs besides the admin access."""
    return {
        "app_password": args.app_password,
        "database": args.database,
        "app_user": args.app_user,
        "replication_factor": args.replication_factor,
        "migrations": migration_manifest(migrations),
        "migrations_digest": migrations.digest,
        "allow_drop": args.allow_drop,
        "production": args.production,
        "lock_wait_s": args.lock_wait_s,
        "app_databases": args.app_databases,
        "app_connection_limit": args.app_connection_limit,
    }


class SchemaMigrations(pulumi.ComponentResource):
    """Bootstraps the database and role and applies sql/migrations as one reviewable resource."""

    applied_ids: pulumi.Output[list[str]]
    applied_count: pulumi.Output[int]
    skipped_companions: pulumi.Output[list[str]]
    database: pulumi.Output[str]
    app_user: pulumi.Output[str]
    migration_ids: list[str]
    migrations_digest: str

    def __init__(
        self, name: str, args: SchemaMigrationsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if drop_refused(args.production, args.allow_drop):
            raise ValueError(
                f"SchemaMigrations {name}: allow_drop=True is not allowed on a production stack"
            )
        migrations = load_migrations(args.migrations_dir, app_user=args.app_user)
        super().__init__(COMPONENT_TYPE, name, None, opts)
        resource = SchemaMigrationsProvider(sql_bundle(migrations)).declare(
            SchemaMigrationsResource,
            f"{name}-migrations",
            self,
            schema_inputs(args, migrations),
            args.admin,
        )
        self.migration_ids = list(migrations.ids)
        self.migrations_digest = migrations.digest
        self.applied_ids = resource.applied_ids
        self.applied_count = resource.applied_count
        self.skipped_companions = resource.skipped_companions
        self.database = resource.database
        self.app_user = resource.app_user
        self.register_outputs(
            {
                "appliedIds": self.applied_ids,
                "appliedCount": self.applied_count,
                "skippedCompanions": self.skipped_companions,
                "database": self.database,
                "appUser": self.app_user,
                "migrationsDigest": self.migrations_digest,
            }
        )
