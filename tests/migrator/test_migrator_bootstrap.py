"""Bootstrap decisions from catalog facts (pure), including the CockroachDB-only ones."""

from __future__ import annotations

from dataclasses import replace

import pytest

from migrator import Dialect, detect_dialect
from migrator.bootstrap import ServerFacts, check_identifier, parse_num_replicas, plan_bootstrap

CRDB_VERSION = "CockroachDB CCL v25.2.8 (x86_64-pc-linux-gnu, built 2025/10/01, go1.23.12)"
PG_VERSION = "PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu"
RAW_ZONE = """ALTER DATABASE openalgo CONFIGURE ZONE USING
    range_min_bytes = 134217728,
    range_max_bytes = 536870912,
    gc.ttlseconds = 14400,
    num_replicas = 3,
    constraints = '[]',
    lease_preferences = '[]'"""

EXISTING = ServerFacts(
    version=CRDB_VERSION,
    dialect=Dialect.COCKROACHDB,
    current_user="root",
    database_exists=True,
    role_exists=True,
    role_can_login=True,
    role_is_admin=False,
    password_matches=True,
    num_replicas=3,
)


def test_cockroachdb_is_recognised_from_its_version_text() -> None:
    assert detect_dialect(CRDB_VERSION) is Dialect.COCKROACHDB


def test_anything_else_is_treated_as_postgresql() -> None:
    assert detect_dialect(PG_VERSION) is Dialect.POSTGRESQL


def test_num_replicas_is_read_from_the_zone_configuration() -> None:
    assert parse_num_replicas(RAW_ZONE) == 3


def test_zone_without_num_replicas_reads_as_unknown() -> None:
    assert parse_num_replicas("ALTER RANGE default CONFIGURE ZONE USING gc.ttlseconds = 1") is None


def test_everything_in_place_needs_no_step() -> None:
    plan = plan_bootstrap(EXISTING, role="openalgo", password="pw", replication_factor=3)
    assert plan.describe("openalgo", "openalgo") == ()


def test_replication_factor_is_changed_only_when_different() -> None:
    plan = plan_bootstrap(EXISTING, role="openalgo", password="pw", replication_factor=5)
    assert plan.set_replicas == 5


def test_replication_factor_is_a_skipped_note_on_postgresql() -> None:
    facts = replace(EXISTING, dialect=Dialect.POSTGRESQL, num_replicas=None)
    plan = plan_bootstrap(facts, role="openalgo", password="pw", replication_factor=3)
    assert plan.set_replicas is None
    assert plan.notes[0].startswith("replication factor 3: skipped")


@pytest.mark.parametrize(("matches", "expected"), [(True, False), (False, True), (None, True)])
def test_password_is_set_unless_the_stored_one_is_known_to_match(
    matches: bool | None, expected: bool
) -> None:
    facts = replace(EXISTING, password_matches=matches)
    assert (
        plan_bootstrap(facts, role="openalgo", password="pw", replication_factor=None).set_password
        is expected
    )


def test_no_password_wanted_never_touches_the_password() -> None:
    facts = replace(EXISTING, password_matches=None)
    assert not plan_bootstrap(
        facts, role="openalgo", password=None, replication_factor=None
    ).set_password


def test_missing_database_and_role_are_created() -> None:
    facts = replace(EXISTING, database_exists=False, role_exists=False, role_can_login=False)
    steps = plan_bootstrap(facts, role="openalgo", password="pw", replication_factor=None).describe(
        "openalgo", "openalgo"
    )
    assert steps == ("create database openalgo", "create role openalgo (LOGIN)")


def test_role_without_login_is_given_login() -> None:
    facts = replace(EXISTING, role_can_login=False)
    assert plan_bootstrap(
        facts, role="openalgo", password="pw", replication_factor=None
    ).allow_login


def test_admin_app_role_is_refused() -> None:
    facts = replace(EXISTING, role_is_admin=True)
    plan = plan_bootstrap(facts, role="openalgo", password="pw", replication_factor=None)
    assert plan.refusals[0].startswith("role openalgo exists with superuser/admin rights")


@pytest.mark.parametrize("name", ["OpenAlgo", "open-algo", "1db", "", "a" * 64])
def test_identifiers_outside_the_safe_set_are_rejected_naming_the_key(name: str) -> None:
    with pytest.raises(ValueError, match=f"^database {name!r} is not allowed"):
        check_identifier("database", name)
