"""Every statement the day-2 operations send parses with CockroachDB's pinned parser.

These statements exist only on CockroachDB, so the parser is the check they can get here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cockroach_parser import read_reports, run_parser

from components.backups import (
    create_schedule_sql,
    drop_schedules_sql,
    restore_sql,
    show_backups_sql,
)
from components.cluster_guard import FINALIZE_SQL, PRESERVED_SQL, preserve_downgrade_sql
from database.queries import NODE_STATUS_SQL
from rules.names import AUDITED_TABLES, DATABASE
from rules.settings import (
    audit_modes_sql,
    audit_sql,
    reset_setting_sql,
    set_setting_sql,
    show_setting_sql,
)

pytestmark = pytest.mark.parser

BUCKET = "s3://openalgo-backups/prod?AUTH=implicit"
STATEMENTS = {
    "create schedule": create_schedule_sql("openalgo", BUCKET, "@hourly", "@daily"),
    "drop schedules": drop_schedules_sql(),
    "restore drill": restore_sql("openalgo", BUCKET, into="openalgo_restore_check"),
    "restore": restore_sql("openalgo", BUCKET),
    "show backups": show_backups_sql(BUCKET),
    "node status": NODE_STATUS_SQL,
    "preserve downgrade": preserve_downgrade_sql("25.2"),
    "preserved major": PRESERVED_SQL,
    "finalize upgrade": FINALIZE_SQL,
    "set a duration setting": set_setting_sql("server.time_until_store_dead", "5m"),
    "set a boolean setting": set_setting_sql("sql.stats.automatic_collection.enabled", True),
    "set a numeric setting": set_setting_sql("kv.rangefeed.concurrent_catchup_iterators", 16),
    "set the licence": set_setting_sql("enterprise.license", "crl-0-abc"),
    "show a setting": show_setting_sql("cluster.organization"),
    "reset a setting": reset_setting_sql("server.time_until_store_dead"),
    "audit a table": audit_sql("openalgo.orders", on=True),
    "stop auditing a table": audit_sql("openalgo.orders", on=False),
    "read audit modes": audit_modes_sql([f"{DATABASE}.{table}" for table in AUDITED_TABLES]),
    "set a small float setting": set_setting_sql("kv.allocator.qps_rebalance_threshold", 1e-05),
    "set a quoted string setting": set_setting_sql("cluster.label", "o'neil \\ desk"),
}


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_day2_statement_parses_as_cockroachdb_sql(
    name: str,
    crdb_parser: Path,
    tmp_path: Path,
) -> None:
    path = tmp_path / "statement.sql"
    path.write_text(STATEMENTS[name] + ";\n")
    report = read_reports(run_parser(crdb_parser, [path]).stdout)[str(path)]
    assert (report.statements, report.errors) == (1, []), f"{name}: {report.errors}"
