"""Time where the company works: calendar quarters ('2026Q4' = October–December 2026,
DESIGN §3) in the portal's time zone (``PORTAL_TIMEZONE``, Asia/Shanghai by default).

Stored timestamps are naive UTC. A quarter is always the quarter of the *local*
date, so a form submitted on 1 January at 07:30 in Shanghai (23:30 UTC on
31 December) belongs to Q1 of the new year. ``quarter_of`` is the one function
that decides.
"""
import re
from datetime import date, datetime, time, timezone
from functools import lru_cache
from typing import Optional, Union
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from ..models.base import utcnow

DEFAULT_TIMEZONE = "Asia/Shanghai"
QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")
#: years a quarter or due date may name: anything else is a typing error, not a plan
MIN_YEAR, MAX_YEAR = 2000, 2100


def portal_zone() -> ZoneInfo:
    name = current_app.config.get("PORTAL_TIMEZONE") if has_app_context() else None
    return _zone(name or DEFAULT_TIMEZONE)


@lru_cache(maxsize=8)
def _zone(name) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(instant: datetime) -> date:
    """The local calendar date of a naive-UTC (or aware) timestamp."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(portal_zone()).date()


def local_today(now: Optional[datetime] = None) -> date:
    """Today's date where the company works (``now``: naive UTC)."""
    return local_date(now or utcnow())


def end_of_local_day(day: date) -> datetime:
    """The end of ``day`` (23:59:59 local time) as naive UTC, e.g. when a round's links die."""
    local = datetime.combine(day, time(23, 59, 59), tzinfo=portal_zone())
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def quarter_of(instant: Union[date, datetime]) -> str:
    """The calendar quarter of a local date, or of a naive-UTC timestamp taken in local time."""
    day = local_date(instant) if isinstance(instant, datetime) else instant
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def current_quarter(now: Optional[datetime] = None) -> str:
    return quarter_of(local_today(now))


def parse_quarter(quarter: str) -> tuple[int, int]:
    """(year, q) of '2026Q4'; ValueError for anything else, including years out of range."""
    match = QUARTER_RE.match(quarter or "")
    if not match or not MIN_YEAR <= int(match.group(1)) <= MAX_YEAR:
        raise ValueError(f"not a quarter: {quarter!r}")
    return int(match.group(1)), int(match.group(2))


def quarter_bounds(quarter: str) -> tuple[date, date]:
    """First and last day of the quarter."""
    year, q = parse_quarter(quarter)
    first = date(year, 3 * q - 2, 1)
    last = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return first, date.fromordinal(last.toordinal() - 1)


def shift_quarter(quarter: str, n: int) -> str:
    year, q = parse_quarter(quarter)
    index = year * 4 + (q - 1) + n
    return f"{index // 4}Q{index % 4 + 1}"


def publication_deadline(quarter: str) -> date:
    """The rollup is due by the 30th of the quarter's last month."""
    year, q = parse_quarter(quarter)
    return date(year, 3 * q, 30)
