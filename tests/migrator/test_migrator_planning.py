"""Planning compares the history with the directory without touching a database."""

from __future__ import annotations

from datetime import UTC, datetime

from migrator import Dialect, MigrationSet, migrations_from_texts
from migrator.planning import make_plan
from migrator.results import AppliedMigration, CompanionStatus


def migrations(*items: tuple[str, str, str | None]) -> MigrationSet:
    return migrations_from_texts(list(items))


def applied(
    migration_set: MigrationSet, migration_id: str, checksum: str | None = None
) -> AppliedMigration:
    migration = migration_set.get(migration_id)
    return AppliedMigration(
        id=migration_id,
        version=int(migration_id[:4]),
        checksum=checksum or (migration.checksum if migration else "0" * 64),
        applied_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        duration_ms=1,
        applied_by="root",
        statements=1,
        companion_statements=0,
        companion_done=0,
        companion_status=CompanionStatus.NONE,
    )


ONE_TWO = migrations(("0001_orders", "SELECT 1;", None), ("0002_trades", "SELECT 2;", None))


def test_unapplied_migrations_are_pending_in_order() -> None:
    plan = make_plan(ONE_TWO, [applied(ONE_TWO, "0001_orders")], Dialect.POSTGRESQL, "db")
    assert [p.id for p in plan.pending] == ["0002_trades"]
    assert plan.applied_ids == ("0001_orders",)


def test_edited_applied_migration_is_refused_by_file_name() -> None:
    plan = make_plan(ONE_TWO, [applied(ONE_TWO, "0001_orders", "f" * 64)], Dialect.POSTGRESQL, "db")
    assert len(plan.refusals) == 1
    assert plan.refusals[0].startswith("0001_orders.sql: changed after it was applied")


def test_applied_migration_missing_from_directory_is_drift() -> None:
    gone = migrations(("0001_orders", "SELECT 1;", None))
    history = [applied(gone, "0001_orders"), applied(ONE_TWO, "0002_trades")]
    plan = make_plan(gone, history, Dialect.POSTGRESQL, "db")
    assert plan.drift == ("0002_trades",)
    assert plan.refusals == ()


def test_new_migration_numbered_below_the_latest_applied_is_refused() -> None:
    later = migrations(("0001_orders", "SELECT 1;", None), ("0003_positions", "SELECT 3;", None))
    history = [applied(later, "0003_positions")]
    plan = make_plan(later, history, Dialect.POSTGRESQL, "db")
    assert plan.refusals[0].startswith("0001_orders.sql: not applied, but its version 0001")


def test_companions_are_reported_skipped_on_postgresql() -> None:
    with_companion = migrations(("0001_ticks", "SELECT 1;", "SELECT 2; SELECT 3;"))
    plan = make_plan(with_companion, [], Dialect.POSTGRESQL, "db")
    assert [(s.file_name, s.statements) for s in plan.skipped_companions] == [
        ("0001_ticks.crdb.sql", 2)
    ]


def test_companions_are_not_skipped_on_cockroachdb() -> None:
    with_companion = migrations(("0001_ticks", "SELECT 1;", "SELECT 2;"))
    plan = make_plan(with_companion, [], Dialect.COCKROACHDB, "db")
    assert plan.skipped_companions == ()


def test_interrupted_companion_is_resumed_on_cockroachdb() -> None:
    with_companion = migrations(("0001_ticks", "SELECT 1;", "SELECT 2; SELECT 3;"))
    row = applied(with_companion, "0001_ticks")
    row = AppliedMigration(**{**row.__dict__, "companion_status": CompanionStatus.PENDING})
    plan = make_plan(with_companion, [row], Dialect.COCKROACHDB, "db")
    assert plan.resume_companions == ("0001_ticks",)
    assert plan.has_work


def test_fully_applied_directory_has_no_work() -> None:
    history = [applied(ONE_TWO, "0001_orders"), applied(ONE_TWO, "0002_trades")]
    assert not make_plan(ONE_TWO, history, Dialect.POSTGRESQL, "db").has_work
