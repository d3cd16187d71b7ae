"""Database, application role and replication factor: read from catalogs, changed only if needed.

Every check reads pg_catalog views that PostgreSQL and CockroachDB both provide (pg_database,
pg_roles, pg_auth_members), so a second run sends no DDL at all. The role's password is compared
with the stored SCRAM verifier and, when it must be set, sent pre-hashed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import LiteralString

import psycopg
from psycopg import errors, sql

from migrator.dialect import Dialect, detect_dialect
from migrator.errors import BootstrapError
from migrator.history import HISTORY_TABLE, LOCK_TABLE
from migrator.scram import build_verifier, verifier_matches
from migrator.session import Session

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
IDENTIFIER_RULE = "lower-case letters, digits and underscores, starting with a letter or underscore"
_NUM_REPLICAS = re.compile(r"\bnum_replicas\s*=\s*([0-9]+)")


FACTS_SQL = """SELECT version(), current_user,
    EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = %(db)s),
    (SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = %(role)s),
    COALESCE((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = %(role)s), false)
    OR EXISTS (
        SELECT 1 FROM pg_catalog.pg_auth_members m
        JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
        JOIN pg_catalog.pg_roles u ON u.oid = m.member
        WHERE g.rolname = 'admin' AND u.rolname = %(role)s),
    ARRAY(SELECT tablename::text FROM pg_catalog.pg_tables
        WHERE schemaname = 'public' AND tablename IN (%(history)s, %(lock)s))"""
"""Also the engine's own tables present in the session's database, so a no-op apply needs no
separate query for them."""
STORED_VERIFIER_SQL: dict[Dialect, LiteralString] = {
    Dialect.COCKROACHDB: 'SELECT "hashedPassword" FROM system.users WHERE username = %s',
    Dialect.POSTGRESQL: "SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = %s",
}


def zone_query(database: str) -> sql.Composed:
    return sql.SQL("SELECT raw_config_sql FROM [SHOW ZONE CONFIGURATION FROM DATABASE {}]").format(
        sql.Identifier(database)
    )


def create_database_statement(database: str) -> sql.Composed:
    return sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))


def create_role_statement(role: str, verifier: str | None) -> sql.Composed:
    """LOGIN, no admin option; the password, if any, as a pre-computed SCRAM verifier."""
    statement = sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role))
    if verifier is None:
        return statement
    return sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(verifier))


def allow_login_statement(role: str) -> sql.Composed:
    return sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(role))


def set_password_statement(role: str, verifier: str) -> sql.Composed:
    return sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier))


def zone_statement(database: str, num_replicas: int) -> sql.Composed:
    return sql.SQL("ALTER DATABASE {} CONFIGURE ZONE USING num_replicas = {}").format(
        sql.Identifier(database), sql.Literal(num_replicas)
    )


def drop_database_statement(database: str, dialect: Dialect) -> sql.Composed:
    """CockroachDB refuses to drop a non-empty database without CASCADE."""
    statement = sql.SQL("DROP DATABASE {}").format(sql.Identifier(database))
    if dialect is Dialect.COCKROACHDB:
        return sql.SQL("{} CASCADE").format(statement)
    return statement


def check_identifier(key: str, value: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(f"{key} {value!r} is not allowed: use {IDENTIFIER_RULE} (max 63)")
    return value


RESERVED_ROLES = frozenset(
    {"public", "none", "current_user", "session_user", "current_role", "admin", "root", "node"}
)
"""Names GRANT reads as every role or the current one, or CockroachDB's built-in roles."""


def role_name_problem(value: str) -> str | None:
    """Why `value` cannot be the application role (a grant to it would reach other roles)."""
    if value in RESERVED_ROLES or value.startswith("pg_"):
        return (
            f"{value!r} is reserved (PUBLIC, CURRENT_USER, built-in and pg_ roles); "
            "choose another application role"
        )
    return None


def check_role_name(key: str, value: str) -> str:
    check_identifier(key, value)
    problem = role_name_problem(value)
    if problem is not None:
        raise ValueError(f"{key} {problem}")
    return value


@dataclass(frozen=True)
class ServerFacts:
    """What bootstrap needs to know, read without writing anything."""

    version: str
    dialect: Dialect
    current_user: str
    database_exists: bool
    role_exists: bool
    role_can_login: bool
    role_is_admin: bool
    password_matches: bool | None
    num_replicas: int | None
    engine_tables: frozenset[str] = frozenset()
    """HISTORY_TABLE and LOCK_TABLE as far as present in the session's database."""


@dataclass(frozen=True)
class BootstrapPlan:
    """Steps to run (human-readable), notes on skipped steps, and refusals."""

    create_database: bool
    create_role: bool
    set_password: bool
    allow_login: bool
    set_replicas: int | None
    notes: tuple[str, ...]
    refusals: tuple[str, ...]

    def describe(self, database: str, role: str) -> tuple[str, ...]:
        steps: list[str] = []
        if self.create_database:
            steps.append(f"create database {database}")
        if self.create_role:
            steps.append(f"create role {role} (LOGIN)")
        if self.allow_login:
            steps.append(f"allow role {role} to log in")
        if self.set_password:
            steps.append(f"set the password of role {role}")
        if self.set_replicas is not None:
            steps.append(f"set num_replicas = {self.set_replicas} on database {database}")
        return tuple(steps)


def parse_num_replicas(raw_config_sql: str) -> int | None:
    """num_replicas from CockroachDB's SHOW ZONE CONFIGURATION raw_config_sql text."""
    match = _NUM_REPLICAS.search(raw_config_sql)
    return int(match.group(1)) if match else None


def read_facts(
    session: Session,
    *,
    database: str,
    role: str,
    password: str | None,
    replication_factor: int | None,
) -> ServerFacts:
    row = session.rows(
        FACTS_SQL, {"db": database, "role": role, "history": HISTORY_TABLE, "lock": LOCK_TABLE}
    )[0]
    version, current_user, database_exists, can_login, is_admin, engine_tables = row
    dialect = detect_dialect(str(version))
    role_exists = can_login is not None
    password_matches = None
    if password is not None and role_exists:
        stored = _stored_verifier(session, dialect, role)
        password_matches = None if stored is None else verifier_matches(stored, password, role)
    num_replicas = None
    if dialect is Dialect.COCKROACHDB and database_exists and replication_factor is not None:
        zone = session.rows(zone_query(database))
        num_replicas = parse_num_replicas(str(zone[0][0])) if zone else None
    return ServerFacts(
        version=str(version),
        dialect=dialect,
        current_user=str(current_user),
        database_exists=bool(database_exists),
        role_exists=role_exists,
        role_can_login=bool(can_login),
        role_is_admin=bool(is_admin),
        password_matches=password_matches,
        num_replicas=num_replicas,
        engine_tables=frozenset(engine_tables or ()),
    )


def _stored_verifier(session: Session, dialect: Dialect, role: str) -> str | None:
    """The role's stored password hash, or None when it is unset or not readable."""
    try:
        rows = session.rows(STORED_VERIFIER_SQL[dialect], (role,))
    except psycopg.Error:
        return None
    if not rows or rows[0][0] is None:
        return None
    value = rows[0][0]
    return (
        bytes(value).decode("ascii", "replace")
        if isinstance(value, bytes | memoryview)
        else str(value)
    )


def plan_bootstrap(
    facts: ServerFacts,
    *,
    role: str,
    password: str | None,
    replication_factor: int | None,
) -> BootstrapPlan:
    """Pure decision of what bootstrap must change, from the facts read."""
    notes: list[str] = []
    refusals: list[str] = []
    if facts.role_exists and facts.role_is_admin:
        refusals.append(
            f"role {role} exists with superuser/admin rights; the application role must not be "
            "an administrator (revoke them, or choose another app user)"
        )
    set_replicas = None
    if replication_factor is not None:
        if facts.dialect is Dialect.COCKROACHDB:
            if facts.num_replicas != replication_factor:
                set_replicas = replication_factor
        else:
            notes.append(
                f"replication factor {replication_factor}: skipped (zone configurations are "
                f"CockroachDB-only; server is {facts.dialect.label})"
            )
    return BootstrapPlan(
        create_database=not facts.database_exists,
        create_role=not facts.role_exists,
        set_password=(
            password is not None and facts.role_exists and facts.password_matches is not True
        ),
        allow_login=facts.role_exists and not facts.role_can_login,
        set_replicas=set_replicas,
        notes=tuple(notes),
        refusals=tuple(refusals),
    )


def run_bootstrap(
    session: Session,
    plan: BootstrapPlan,
    *,
    database: str,
    role: str,
    password: str | None,
) -> list[str]:
    """Apply the cluster-level steps; returns what was done. Statement texts never leave here."""
    done: list[str] = []
    if plan.create_database:
        try:
            session.run(create_database_statement(database), ddl=True)
            done.append(f"created database {database}")
        except (errors.DuplicateDatabase, errors.UniqueViolation):
            pass
        except psycopg.Error as exc:
            raise BootstrapError(_failure(f"creating database {database}", exc)) from None
    if plan.create_role:
        verifier = build_verifier(password) if password is not None else None
        try:
            session.run(create_role_statement(role, verifier), ddl=True)
            done.append(f"created role {role}")
        except (errors.DuplicateObject, errors.UniqueViolation):
            pass
        except psycopg.Error as exc:
            raise BootstrapError(_failure(f"creating role {role}", exc)) from None
    if plan.allow_login:
        _alter(session, allow_login_statement(role), f"role {role} LOGIN")
        done.append(f"allowed role {role} to log in")
    if plan.set_password and password is not None:
        _alter(
            session,
            set_password_statement(role, build_verifier(password)),
            f"password of role {role}",
        )
        done.append(f"set the password of role {role}")
    if plan.set_replicas is not None:
        _alter(
            session,
            zone_statement(database, plan.set_replicas),
            f"zone configuration of database {database}",
        )
        done.append(f"set num_replicas = {plan.set_replicas} on database {database}")
    return done


def _alter(session: Session, statement: sql.Composed, what: str) -> None:
    try:
        session.run(statement, ddl=True)
    except psycopg.Error as exc:
        raise BootstrapError(_failure(f"changing {what}", exc)) from None


def _failure(action: str, exc: psycopg.Error) -> str:
    primary = exc.diag.message_primary or type(exc).__name__
    return f"bootstrap failed while {action}: {primary} [SQLSTATE {exc.sqlstate}]"
