"""Backup schedules: the cron expressions CockroachDB's scheduler accepts, and their period.

CockroachDB parses ``RECURRING`` / ``FULL BACKUP`` with robfig/cron's standard parser: five
fields (minute, hour, day of month, month, day of week 0-6) or a descriptor such as
``@daily``. croniter parses the same expressions but also accepts extensions (seconds, years,
``L``, ``#``, ``H``, day 7), so those are refused here before croniter reads the rest.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from croniter import croniter

DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_MONTHS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
_DAYS = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
_FIELD = re.compile(r"[0-9A-Za-z*/,?-]+", re.ASCII)
_START = datetime(2025, 1, 1, tzinfo=UTC)
_HORIZON = timedelta(days=4 * 366 + 1)
"""Four years and a day: a schedule on 29 February shows its longest gap within it."""
DAY = timedelta(days=1)
_SEARCH_DAYS = 8 * 366
"""Eight years, more than any gap between two days a pattern matches (a 29 February comes every
four years until 2096): a pattern that matches no day within it never runs."""

ALLOWED = (
    "a cron expression of five fields (minute hour day-of-month month day-of-week, e.g. "
    "'0 2 * * *') or one of " + ", ".join(DESCRIPTORS)
)


class CronError(ValueError):
    """The expression is not one CockroachDB's scheduler would run."""


def _check_names(field: str, names: set[str]) -> None:
    for word in re.findall(r"[A-Za-z]+", field):
        if word.lower() not in names:
            raise CronError(f"unknown name {word!r}")


def parse_schedule(expression: str) -> str:
    """The expression, checked; raises CronError saying what is wrong."""
    if expression in DESCRIPTORS:
        return expression
    fields = re.split(" +", expression)
    if expression != expression.strip() or len(fields) != 5:
        raise CronError("not five fields separated by spaces")
    if not all(_FIELD.fullmatch(field) for field in fields):
        raise CronError("a field holds a character cron does not use")
    minute, hour, day, month, weekday = fields
    for field in (minute, hour, day):
        _check_names(field, set())
    _check_names(month, _MONTHS)
    _check_names(weekday, _DAYS)
    if any(int(number) > 6 for number in re.findall(r"[0-9]+", weekday.split("/")[0])):
        raise CronError("day of week beyond 6 (0 is Sunday)")
    if not croniter.is_valid(expression):
        raise CronError("a field is out of range")
    return expression


def schedule_refusal(expression: str) -> str | None:
    """What is allowed, when ``expression`` is not a schedule that ever runs."""
    try:
        parse_schedule(expression)
        full_backup_period_days(expression)
    except CronError as error:
        return f"{ALLOWED} ({error})"
    return None


@lru_cache(maxsize=256)
def full_backup_period_days(expression: str) -> int:
    """The longest time between two runs of ``expression``, in whole days rounded up, over four
    years from 2025.

    Every day a schedule runs on, it runs at the same times, so the longest gap is the longest
    stretch between two run days plus the step from a day's last run to the next day's first.
    The days come from croniter's expansion of the fields and its rule for day of month and day
    of week (either one, when both are restricted), so this reads the expression as croniter
    does without asking it for each run.
    """
    parse_schedule(expression)
    fields, _ = croniter.expand(expression)
    minutes, hours, days, months, weekdays = (
        None if field[0] == "*" else frozenset(int(value) for value in field) for field in fields
    )
    times = sorted(
        hour * 60 + minute
        for hour in (range(24) if hours is None else hours)
        for minute in (range(60) if minutes is None else minutes)
    )
    first, last = timedelta(minutes=times[0]), timedelta(minutes=times[-1])
    either = days is not None and weekdays is not None

    def runs_on(day: date) -> bool:
        if months is not None and day.month not in months:
            return False
        on_day = days is None or day.day in days
        on_weekday = weekdays is None or day.isoweekday() % 7 in weekdays
        return (on_day or on_weekday) if either else (on_day and on_weekday)

    def next_run_day(day: date, step: timedelta) -> date:
        for _ in range(_SEARCH_DAYS):
            day += step
            if runs_on(day):
                return day
        raise CronError("it never runs")

    day = next_run_day(_START.date(), -DAY)
    longest = DAY
    while True:
        following = next_run_day(day, DAY)
        longest = max(longest, following - day - last + first)
        if datetime.combine(following, time(), UTC) + first >= _START + _HORIZON:
            return math.ceil(longest / DAY)
        day = following
