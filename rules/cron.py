"""Backup schedules: the cron expressions CockroachDB's scheduler accepts, and their period.

CockroachDB parses ``RECURRING`` / ``FULL BACKUP`` with robfig/cron's standard parser: five
fields (minute, hour, day of month, month, day of week 0-6) or a descriptor such as
``@daily``. croniter parses the same expressions but also accepts extensions (seconds, years,
``L``, ``#``, ``H``, day 7), so those are refused here before croniter reads the rest.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, time, timedelta
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
    """The longest time between two runs of ``expression``, in whole days rounded up.

    Runs within one day are at most a day apart, so only the step from a day's last run to
    the next run counts; walking from day to day keeps this fast for frequent schedules.
    """
    parse_schedule(expression)
    try:
        run = _previous(expression, _START)
        longest = DAY
        while run < _START + _HORIZON:
            last_of_day = _previous(expression, datetime.combine(run.date() + DAY, time(), UTC))
            run = _next(expression, last_of_day)
            longest = max(longest, run - last_of_day)
    except (ValueError, KeyError) as error:  # croniter: no run within its search window
        raise CronError("it never runs") from error
    return math.ceil(longest / DAY)


def _previous(expression: str, moment: datetime) -> datetime:
    found: datetime = croniter(expression, moment).get_prev(datetime)
    return found


def _next(expression: str, moment: datetime) -> datetime:
    found: datetime = croniter(expression, moment).get_next(datetime)
    return found
