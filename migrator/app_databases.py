"""OpenAlgo's own databases: five, owned by the application role, read back before any change.

OpenAlgo (SQLAlchemy) creates and upgrades its ~58 tables itself at start-up, in five databases
named by the environment variables below. It cannot share the trading schema's database (table
names such as ``strategies`` collide), so each gets a database of its own, owned by the
application role: the role may create, alter and drop tables there and nowhere else. In the
trading database it keeps the DML the grants migration gives it.

Every fact is read from the catalogs first (database owners, schema privileges per database, the
role's connection limit), so a second run sends no DDL.

CREATE on schema ``public``: CockroachDB grants it to every role by default, which would let the
application role create tables in the trading database. It is revoked there and in the
application's databases (where the owner keeps it through an explicit grant). PostgreSQL 15 no
longer grants it, so nothing is sent there.

Connection limit: OpenAlgo opens one SQLAlchemy pool per engine (about twenty engines in one
process), each allowed 50 connections plus 100 overflow: unbounded in practice. PostgreSQL gets a
per-role ``CONNECTION LIMIT`` (default 200: twenty engines with ten busy connections each, far
above what one eventlet worker keeps open, and far below what would starve the operators' own
sessions). CockroachDB 25.2 has no per-role limit; there the node-wide cluster setting
``server.max_connections_per_gateway`` is the bound, and the step is reported as skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, LiteralString
from urllib.parse import quote, urlencode

import psycopg
from psycopg import errors, sql

from database.redaction import redact_message
from migrator.bootstrap import check_identifier, plan_bootstrap, read_facts, run_bootstrap
from migrator.dialect import Dialect, detect_dialect
from migrator.engine import Target
from migrator.errors import BootstrapError, ServerError
from migrator.session import Counters, Session, connect

ENVIRONMENT_VARIABLES = (
    "DATABASE_URL",
    "LOGS_DATABASE_URL",
    "LATENCY_DATABASE_URL",
    "HEALTH_DATABASE_URL",
    "SANDBOX_DATABASE_URL",
)
"""OpenAlgo's SQLAlchemy databases, as its .sample.env names them."""

DEFAULT_NAMES = {
    "DATABASE_URL": "openalgo_app",
    "LOGS_DATABASE_URL": "openalgo_logs",
    "LATENCY_DATABASE_URL": "openalgo_latency",
    "HEALTH_DATABASE_URL": "openalgo_health",
    "SANDBOX_DATABASE_URL": "openalgo_sandbox",
}
DEFAULT_CONNECTION_LIMIT = 200
ELIDED = "***"
URL_SCHEME = "cockroachdb"
"""The sqlalchemy-cockroachdb dialect's scheme (psycopg2 driver)."""

ROLE_FACTS_SQL: LiteralString = (
    "SELECT version(), (SELECT rolconnlimit FROM pg_catalog.pg_roles WHERE rolname = %(role)s)"
)
OWNERS_SQL: LiteralString = (
    "SELECT d.datname, r.rolname FROM pg_catalog.pg_database d "
    "JOIN pg_catalog.pg_roles r ON r.oid = d.datdba WHERE d.datname = ANY(%(names)s)"
)
SCHEMA_PRIVILEGES_SQL: LiteralString = (
    "SELECT has_schema_privilege(%(role)s, 'public', 'CREATE'), "
    "has_schema_privilege('public', 'public', 'CREATE')"
)


@dataclass(frozen=True)
class AppDatabases:
    """The five database names, by OpenAlgo's environment variable."""

    names: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_NAMES))

    def __post_init__(self) -> None:
        missing = [v for v in ENVIRONMENT_VARIABLES if v not in self.names]
        unknown = [v for v in self.names if v not in ENVIRONMENT_VARIABLES]
        if missing or unknown:
            raise ValueError(
                f"app databases: name each of {', '.join(ENVIRONMENT_VARIABLES)} once"
                + (f" (missing {', '.join(missing)})" if missing else "")
                + (f" (unknown {', '.join(unknown)})" if unknown else "")
            )
        for variable, name in self.names.items():
            check_identifier(f"app database for {variable}", name)
        if len(set(self.names.values())) != len(self.names):
            raise ValueError("app databases: each of the five needs a name of its own")

    @property
    def databases(self) -> tuple[str, ...]:
        return tuple(self.names[v] for v in ENVIRONMENT_VARIABLES)


@dataclass(frozen=True)
class DatabaseFacts:
    owner: str | None
    """None when the database does not exist."""
    role_can_create: bool
    public_can_create: bool


@dataclass(frozen=True)
class AppFacts:
    dialect: Dialect
    connection_limit: int | None
    """The role's limit (-1 for none); None when the role does not exist."""
    databases: Mapping[str, DatabaseFacts]
    trading_public_can_create: bool


@dataclass(frozen=True)
class Step:
    """One change: what it says in the report, and the statement with the database it runs in."""

    says: str
    statement: sql.Composed | sql.SQL
    database: str | None = None


@dataclass(frozen=True)
class AppPlan:
    steps: tuple[Step, ...]
    notes: tuple[str, ...]
    refusals: tuple[str, ...]


def create_database_statement(name: str) -> sql.Composed:
    return sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))


def owner_statement(name: str, role: str) -> sql.Composed:
    return sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
        sql.Identifier(name), sql.Identifier(role)
    )


def grant_create_statement(role: str) -> sql.Composed:
    return sql.SQL("GRANT CREATE, USAGE ON SCHEMA public TO {}").format(sql.Identifier(role))


REVOKE_PUBLIC_CREATE = sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


def connection_limit_statement(role: str, limit: int) -> sql.Composed:
    return sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(
        sql.Identifier(role), sql.Literal(limit)
    )


def drop_statement(name: str, dialect: Dialect) -> sql.Composed:
    statement = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
    return sql.SQL("{} CASCADE").format(statement) if dialect is Dialect.COCKROACHDB else statement


def plan_app_databases(
    facts: AppFacts, spec: AppDatabases, *, role: str, trading_database: str, limit: int
) -> AppPlan:
    """Pure decision of what must change, from the facts read."""
    steps: list[Step] = []
    notes: list[str] = []
    refusals: list[str] = []
    if facts.connection_limit is None:
        refusals.append(
            f"role {role} does not exist: bootstrap the trading database first "
            "(python -m migrator apply), which creates it"
        )
        return AppPlan((), (), tuple(refusals))
    for name in spec.databases:
        found = facts.databases.get(name)
        if found is None or found.owner is None:
            steps.append(Step(f"create database {name}", create_database_statement(name)))
            steps.append(Step(f"make {role} the owner of {name}", owner_statement(name, role)))
            steps.append(
                Step(f"let {role} create in {name}.public", grant_create_statement(role), name)
            )
            if facts.dialect is Dialect.COCKROACHDB:
                steps.append(
                    Step(f"revoke PUBLIC's CREATE in {name}.public", REVOKE_PUBLIC_CREATE, name)
                )
            continue
        if found.owner != role:
            steps.append(Step(f"make {role} the owner of {name}", owner_statement(name, role)))
        if not found.role_can_create:
            steps.append(
                Step(f"let {role} create in {name}.public", grant_create_statement(role), name)
            )
        if found.public_can_create:
            steps.append(
                Step(f"revoke PUBLIC's CREATE in {name}.public", REVOKE_PUBLIC_CREATE, name)
            )
    if facts.trading_public_can_create:
        steps.append(
            Step(
                f"revoke PUBLIC's CREATE in {trading_database}.public",
                REVOKE_PUBLIC_CREATE,
                trading_database,
            )
        )
    if facts.dialect is Dialect.COCKROACHDB:
        notes.append(
            f"connection limit {limit} for {role}: skipped (CockroachDB has no per-role limit; "
            "bound connections per node with server.max_connections_per_gateway)"
        )
    elif facts.connection_limit != limit:
        steps.append(
            Step(
                f"set the connection limit of {role} to {limit}",
                connection_limit_statement(role, limit),
            )
        )
    return AppPlan(tuple(steps), tuple(notes), tuple(refusals))


Opener = Callable[[str | None], Session]
"""Opens an admin session in the given database (None: the DSN's own)."""


@contextlib.contextmanager
def _session(open_session: Opener, database: str | None) -> Iterator[Session]:
    session = open_session(database)
    try:
        yield session
    finally:
        session.close()


def read_app_facts(
    open_session: Opener, spec: AppDatabases, *, role: str, trading_database: str
) -> AppFacts:
    with _session(open_session, None) as admin:
        version, limit = admin.rows(ROLE_FACTS_SQL, {"role": role})[0]
        owners = dict(admin.rows(OWNERS_SQL, {"names": [*spec.databases, trading_database]}))
    dialect = detect_dialect(str(version))
    databases: dict[str, DatabaseFacts] = {}
    for name in spec.databases:
        if name not in owners:
            databases[name] = DatabaseFacts(None, False, False)
            continue
        role_can, public_can = _schema_privileges(open_session, name, role)
        databases[name] = DatabaseFacts(str(owners[name]), role_can, public_can)
    trading_public = (
        _schema_privileges(open_session, trading_database, role)[1]
        if trading_database in owners
        else False
    )
    return AppFacts(
        dialect=dialect,
        connection_limit=None if limit is None else int(limit),
        databases=databases,
        trading_public_can_create=trading_public,
    )


def _schema_privileges(open_session: Opener, database: str, role: str) -> tuple[bool, bool]:
    with _session(open_session, database) as session:
        role_can, public_can = session.rows(SCHEMA_PRIVILEGES_SQL, {"role": role})[0]
    return bool(role_can), bool(public_can)


def run_plan(open_session: Opener, plan: AppPlan) -> list[str]:
    """Apply the steps in order, one session per database; returns what was done."""
    if plan.refusals:
        raise BootstrapError("; ".join(plan.refusals))
    done: list[str] = []
    sessions: dict[str | None, Session] = {}
    try:
        for step in plan.steps:
            if step.database not in sessions:
                sessions[step.database] = open_session(step.database)
            try:
                sessions[step.database].run(step.statement, ddl=True)
            except (errors.DuplicateDatabase, errors.UniqueViolation):
                pass  # created meanwhile by a concurrent run: the next steps still apply
            except errors.Error as exc:
                primary = exc.diag.message_primary or type(exc).__name__
                raise BootstrapError(
                    f"OpenAlgo databases: failed to {step.says}: {primary} "
                    f"[SQLSTATE {exc.sqlstate}]"
                ) from None
            done.append(step.says)
    finally:
        for session in sessions.values():
            session.close()
    return done


def drop_app_databases(open_session: Opener, spec: AppDatabases) -> list[str]:
    """Drop the five databases (for a stack whose schema may be dropped); idempotent."""
    with _session(open_session, None) as admin:
        dialect = detect_dialect(str(admin.rows("SELECT version()")[0][0]))
        for name in spec.databases:
            admin.run(drop_statement(name, dialect), ddl=True)
    return [f"dropped database {name}" for name in spec.databases]


def app_database_urls(
    spec: AppDatabases,
    *,
    user: str,
    password: str | None,
    host: str,
    port: int,
    scheme: str = URL_SCHEME,
    query: Mapping[str, str] | None = None,
    elide_password: bool = False,
) -> dict[str, str]:
    """NAME=URL for each variable, in the form SQLAlchemy takes (user-info percent-encoded);
    ``elide_password`` shows ``***`` in its place, for output a person reads."""
    userinfo = quote(user, safe="")
    if password is not None:
        userinfo += ":" + (ELIDED if elide_password else quote(password, safe=""))
    tail = f"?{urlencode(dict(query))}" if query else ""
    return {
        variable: f"{scheme}://{userinfo}@{host}:{port}/{spec.names[variable]}{tail}"
        for variable in ENVIRONMENT_VARIABLES
    }


def tls_query(ca_path: str) -> dict[str, str]:
    """libpq's verify-full against the cluster CA mounted at ``ca_path``."""
    return {"sslmode": "verify-full", "sslrootcert": ca_path}


@dataclass(frozen=True)
class ProvisionResult:
    """What one provisioning run found and did."""

    dialect: Dialect
    databases: Mapping[str, str]
    done: tuple[str, ...]
    notes: tuple[str, ...]
    ddl_statements: int
    round_trips: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect.value,
            "databases": dict(self.databases),
            "done": list(self.done),
            "notes": list(self.notes),
            "ddl_statements": self.ddl_statements,
            "round_trips": self.round_trips,
        }


def _ensure_role(open_session: Opener, target: Target) -> list[str]:
    """The application role, with login and the given password, as bootstrap makes it; the
    trading database itself is left to `migrator apply`."""
    with _session(open_session, None) as admin:
        facts = read_facts(
            admin,
            database=target.database,
            role=target.app_user,
            password=target.app_password,
            replication_factor=None,
        )
        plan = plan_bootstrap(
            facts, role=target.app_user, password=target.app_password, replication_factor=None
        )
        if plan.refusals:
            raise BootstrapError("; ".join(plan.refusals))
        role_only = dataclasses.replace(plan, create_database=False, set_replicas=None)
        return run_bootstrap(
            admin,
            role_only,
            database=target.database,
            role=target.app_user,
            password=target.app_password,
        )


def admin_opener(target: Target, counters: Counters | None = None) -> Opener:
    """Admin sessions for ``target`` in any database, counted in ``counters``."""
    shared = counters if counters is not None else Counters()

    def open_session(database: str | None) -> Session:
        return connect(
            target.admin_dsn,
            shared,
            dbname=database,
            options=target.connect_options,
            secrets=target.secrets,
        )

    return open_session


def provision(
    target: Target,
    spec: AppDatabases,
    *,
    connection_limit: int = DEFAULT_CONNECTION_LIMIT,
    apply: bool = True,
) -> ProvisionResult:
    """Read, plan and (unless ``apply`` is false) change; the app role must exist already."""
    counters = Counters()
    open_session = admin_opener(target, counters)
    try:
        done_role = _ensure_role(open_session, target) if apply else []
        facts = read_app_facts(
            open_session, spec, role=target.app_user, trading_database=target.database
        )
        plan = plan_app_databases(
            facts,
            spec,
            role=target.app_user,
            trading_database=target.database,
            limit=connection_limit,
        )
        done = [*done_role, *run_plan(open_session, plan)] if apply else []
    except psycopg.Error as exc:
        message = redact_message(str(exc), target.admin_dsn, target.secrets).strip()
        raise ServerError(f"OpenAlgo databases: {message}") from None
    return ProvisionResult(
        dialect=facts.dialect,
        databases=dict(spec.names),
        done=tuple(done if apply else (step.says for step in plan.steps)),
        notes=plan.notes,
        ddl_statements=counters.ddl_statements,
        round_trips=counters.round_trips,
    )
