"""Backup schedules: CockroachDB's cron dialect, and the period the retention rule needs."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.cron import (
    DESCRIPTORS,
    CronError,
    full_backup_period_days,
    parse_schedule,
    schedule_refusal,
)


@pytest.mark.parametrize(
    ("expression", "days"),
    [("@hourly", 1), ("@daily", 1), ("@weekly", 7), ("@monthly", 31), ("@yearly", 366)],
)
def test_descriptors_have_their_calendar_period(expression: str, days: int) -> None:
    assert full_backup_period_days(expression) == days


def test_a_weekly_cron_expression_has_a_period_of_seven_days() -> None:
    assert full_backup_period_days("0 3 * * 0") == 7


def test_weekdays_only_leave_a_three_day_gap_over_the_weekend() -> None:
    assert full_backup_period_days("0 3 * * 1-5") == 3


def test_a_leap_day_schedule_runs_once_in_four_years() -> None:
    assert full_backup_period_days("0 0 29 2 *") == 4 * 365 + 1


def test_runs_within_a_day_count_as_a_one_day_period() -> None:
    assert full_backup_period_days("*/5 * * * *") == 1


def test_month_and_day_names_are_accepted() -> None:
    assert full_backup_period_days("0 0 * JAN-DEC mon") == 7


@pytest.mark.parametrize("expression", ["61 25 * * *", "0 0 32 * *", "0 0 * 13 *"])
def test_fields_out_of_range_are_refused(expression: str) -> None:
    assert schedule_refusal(expression) == (
        "a cron expression of five fields (minute hour day-of-month month day-of-week, e.g. "
        "'0 2 * * *') or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, "
        "@hourly (a field is out of range)"
    )


def test_a_schedule_that_never_runs_is_refused() -> None:
    refusal = schedule_refusal("0 0 30 2 *")
    assert refusal is not None
    assert refusal.endswith("(it never runs)")


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("0 0 L * *", "unknown name 'L'"),
        ("H 0 * * *", "unknown name 'H'"),
        ("0 0 * * 1#2", "a field holds a character cron does not use"),
        ("0 0 * * * *", "not five fields separated by spaces"),
        (" 0 0 * * *", "not five fields separated by spaces"),
        ("0 0 * * 7", "day of week beyond 6 (0 is Sunday)"),
        ("@every 1h", "not five fields separated by spaces"),
    ],
)
def test_croniter_extensions_cockroachdb_does_not_read_are_refused(
    expression: str, reason: str
) -> None:
    with pytest.raises(CronError, match=f"^{re.escape(reason)}$"):
        parse_schedule(expression)


field = st.text(alphabet="0123456789*/,-?JANMONSUNdec", min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(field, min_size=5, max_size=5).map(" ".join))
def test_any_five_fields_are_accepted_with_a_period_or_refused_with_a_reason(
    expression: str,
) -> None:
    refusal = schedule_refusal(expression)
    if refusal is None:
        assert full_backup_period_days(expression) >= 1
    else:
        assert refusal.startswith("a cron expression of five fields")


def croniter_period_days(expression: str) -> int:
    """The period as croniter finds it run by run: from 2025 for four years and a day, each run
    day's last run and the run after it (the slow reference the computed period must equal)."""
    start, day = datetime(2025, 1, 1, tzinfo=UTC), timedelta(days=1)
    try:
        run = croniter(expression, start).get_prev(datetime)
        longest = day
        while run < start + timedelta(days=4 * 366 + 1):
            midnight = datetime.combine(run.date() + day, time(), UTC)
            last_of_day = croniter(expression, midnight).get_prev(datetime)
            run = croniter(expression, last_of_day).get_next(datetime)
            longest = max(longest, run - last_of_day)
    except (ValueError, KeyError) as error:
        raise CronError("it never runs") from error
    return math.ceil(longest / day)


schedules = st.one_of(
    st.sampled_from(DESCRIPTORS),
    st.tuples(
        st.sampled_from(["0", "*/20", "5,35", "59"]),
        st.sampled_from(["0", "*/6", "1-3", "23", "*"]),
        st.sampled_from(["*", "1", "15", "29", "30", "31", "1,15", "*/2", "10-20", "?"]),
        st.sampled_from(["*", "2", "1-6", "JAN", "*/3", "4,6,9,11", "2,4"]),
        st.sampled_from(["*", "0", "1-5", "MON", "*/2", "6", "SAT,SUN", "?"]),
    ).map(" ".join),
)


@settings(max_examples=40, deadline=None)
@given(schedules)
def test_period_is_the_one_croniter_finds_run_by_run(expression: str) -> None:
    try:
        expected: int | str = croniter_period_days(expression)
    except CronError as error:
        expected = str(error)
    try:
        computed: int | str = full_backup_period_days(expression)
    except CronError as error:
        computed = str(error)
    assert computed == expected
