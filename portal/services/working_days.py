"""China's official working days (DESIGN §4.4 due dates): weekends and national holidays off,
make-up working days (调休) on, from the maintained ``chinesecalendar`` package, corrected by
the ``calendar.overrides`` setting. An override wins over the package; a year the package
does not know becomes known once it has any override (the administrator enters that year's
holidays and make-up days; its other dates follow Monday–Friday). A date in a year nobody
knows raises CalendarUnknown: never a silent weekdays-only guess.

For many questions at once, take one ``working_calendar()`` (one settings read) and ask it.
"""
from datetime import date, timedelta

from chinese_calendar import constants as _official
from flask_babel import gettext as _

from . import DomainError
from .settings import get_setting

#: the years the installed package has data for (contiguous, as the package checks them)
PACKAGE_YEARS = frozenset(range(min(_official.holidays).year, max(_official.holidays).year + 1))
_HOLIDAYS, _WORKDAYS = _official.holidays, _official.workdays


def _official_is_workday(day: date) -> bool:
    """``chinese_calendar.is_workday`` for a date of PACKAGE_YEARS, without its per-call check of
    the supported years (a min() and max() over every holiday: 40 µs a date, and a complaint's
    clocks ask about hundreds of dates)."""
    return day in _WORKDAYS or (day.weekday() < 5 and day not in _HOLIDAYS)


class CalendarUnknown(DomainError):
    """Nobody knows the holidays of ``year`` yet: the package has no data and no override covers it."""

    def __init__(self, year):
        super().__init__(_("Due dates cannot be computed for %(year)d: the calendar does not know its "
                           "holidays and make-up working days yet.", year=year))
        self.year = year


class WorkingCalendar:
    """The official calendar plus a fixed set of overrides ({date: True if a working day})."""

    def __init__(self, overrides: dict[date, bool]):
        self.overrides = overrides
        self.override_years = frozenset(day.year for day in overrides)

    def known_years(self) -> frozenset[int]:
        return PACKAGE_YEARS | self.override_years

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in PACKAGE_YEARS:
            return _official_is_workday(day)
        if day.year in self.override_years:
            return day.weekday() < 5
        raise CalendarUnknown(day.year)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself does not count); n < 0: before it."""
        step = timedelta(days=1 if n >= 0 else -1)
        day, left = start, abs(n)
        while left:
            day += step
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """How many working days d with a < d ≤ b (negative when b is before a), so that
        ``working_days_between(a, add_working_days(a, n)) == n``."""
        if b < a:
            return -self.working_days_between(b, a)
        return sum(1 for i in range(1, (b - a).days + 1) if self.is_working_day(a + timedelta(days=i)))


def working_calendar() -> WorkingCalendar:
    """The calendar with the current ``calendar.overrides``."""
    overrides = get_setting("calendar.overrides")
    return WorkingCalendar({date.fromisoformat(day): kind == "workday" for day, kind in overrides.items()})


def is_working_day(day: date) -> bool:
    return working_calendar().is_working_day(day)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after ``start``; e.g. a follow-up opened on ``start`` is due then."""
    return working_calendar().add_working_days(start, n)


def working_days_between(a: date, b: date) -> int:
    return working_calendar().working_days_between(a, b)


def known_years() -> list[int]:
    """Years whose working days can be computed: the package's and those with overrides."""
    return sorted(working_calendar().known_years())


def unknown_years(years) -> list[int]:
    """Those of ``years`` whose working days cannot be computed yet."""
    known = working_calendar().known_years()
    return sorted(year for year in set(years) if year not in known)
