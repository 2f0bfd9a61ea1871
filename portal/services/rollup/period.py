"""The periods a rollup runs for (DESIGN §4.5.6): a quarter (2026Q4), a month (2026-11), a half-year
(2026H2), a year (2026) or any range of local dates (2026-10-01..2026-10-31).

A period made of whole quarters selects forms by their quarter (the quarter of the round they
answer, which is what a published quarter counts); any other selects them by the local date
they were submitted on."""
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from flask_babel import gettext as _

from .. import DomainError
from ..quarters import MAX_YEAR, MIN_YEAR, parse_quarter, portal_zone, quarter_bounds, quarter_of
from .figures import PeriodInfo

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_HALF = re.compile(r"^(\d{4})H([12])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
#: the longest date range a rollup accepts
MAX_RANGE_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    kind: str
    key: str
    first_day: date
    last_day: date

    @property
    def quarters(self) -> tuple:
        found, day = [], self.first_day
        while day <= self.last_day:
            q = quarter_of(day)
            if q not in found:
                found.append(q)
            day = quarter_bounds(q)[1] + timedelta(days=1)
        return tuple(found)

    @property
    def whole_quarters(self) -> bool:
        """True when it is made of whole quarters (forms are then selected by their quarter)."""
        return (quarter_bounds(self.quarters[0])[0] == self.first_day
                and quarter_bounds(self.quarters[-1])[1] == self.last_day)

    def utc_bounds(self) -> tuple:
        """[start, end) in naive UTC of the local days."""
        zone = portal_zone()

        def at(day):
            return datetime.combine(day, time(), tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)
        return at(self.first_day), at(self.last_day + timedelta(days=1))

    @property
    def previous_quarter(self):
        """The quarter before, when this period is one quarter (its change is shown against it)."""
        from ..quarters import shift_quarter
        return shift_quarter(self.key, -1) if self.kind == "quarter" else None

    def info(self) -> PeriodInfo:
        return PeriodInfo(self.kind, self.key, self.first_day.isoformat(), self.last_day.isoformat(),
                          self.quarters)


def _bad(text):
    return DomainError(_("“%(text)s” is not a period: give a quarter (2026Q4), a month (2026-11), a half-year "
                         "(2026H2), a year (2026) or a range of dates (2026-10-01..2026-10-31).", text=text),
                       field="period")


def _year(text, value):
    year = int(value)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _bad(text)
    return year


def parse_period(text: str) -> Period:
    """The period a text names; DomainError (field ``period``) for anything else."""
    text = (text or "").strip().upper()
    try:
        parse_quarter(text)
    except ValueError:
        pass
    else:
        first, last = quarter_bounds(text)
        return Period("quarter", text, first, last)
    if m := _MONTH.match(text):
        year, month = _year(text, m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise _bad(text)
        nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return Period("month", text, date(year, month, 1), nxt - timedelta(days=1))
    if m := _HALF.match(text):
        year, half = _year(text, m.group(1)), int(m.group(2))
        return Period("half", text, date(year, 1 if half == 1 else 7, 1),
                      date(year, 6, 30) if half == 1 else date(year, 12, 31))
    if m := _YEAR.match(text):
        year = _year(text, m.group(1))
        return Period("year", text, date(year, 1, 1), date(year, 12, 31))
    if m := _RANGE.match(text):
        try:
            first, last = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        except ValueError:
            raise _bad(text) from None
        if last < first or (last - first).days > MAX_RANGE_DAYS or not (MIN_YEAR <= first.year and last.year <= MAX_YEAR):
            raise DomainError(_("A range runs from its first day to its last, at most three years."), field="period")
        return Period("range", text, first, last)
    raise _bad(text)
