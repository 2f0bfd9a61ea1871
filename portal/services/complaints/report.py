"""The complaints' monthly report (DESIGN §4.7.3: "reports count the share handled within each
limit"): the complaints registered in a local calendar month, by state, channel and department,
and for each time limit how many were handled within it, how many late, and how many are still
running short of it (pending: not counted in the share).

The clocks are derived from the events (``clock.clocks``), so the report loads the months'
complaints with their events in a fixed number of statements and reads them in Python, the
settings read once; it is as the complaints stood at ``now`` (events after it do not count).
"""
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timezone

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import COMPLAINT_CHANNELS, Complaint
from ...models.base import utcnow
from .. import DomainError
from ..quarters import MAX_YEAR, MIN_YEAR, local_today, portal_zone
from ..working_days import CalendarUnknown
from ..xlsx import Percent, write_xlsx
from .clock import WorkingHours, clock_limits, clocks, local_time
from .rules import HANDLING_STATES
from .workflow import complaint_scope

MONTH_RE = re.compile(r"^([0-9]{4})-([0-9]{2})$")
TREND_MONTHS = 6

#: the report's state groups: which states each takes in
STATE_GROUPS = {"registered": ("registered",), "handling": HANDLING_STATES,
                "done": ("notified", "closed"), "invalid": ("invalid",)}
STATE_GROUP_LABELS = {"registered": _l("Registered, to be checked"), "handling": _l("Being handled"),
                      "done": _l("Client told / closed"), "invalid": _l("Judged invalid")}
_GROUP_OF = {state: group for group, states in STATE_GROUPS.items() for state in states}


# --- months ------------------------------------------------------------------------------------

def parse_month(text) -> tuple[int, int]:
    """(year, month) of '2026-11'; DomainError for anything else (years outside 2000–2100 too)."""
    match = MONTH_RE.match(str(text or "").strip())
    if not match or not MIN_YEAR <= int(match.group(1)) <= MAX_YEAR or not 1 <= int(match.group(2)) <= 12:
        raise DomainError(_("Give the month as YYYY-MM, e.g. 2026-11."), field="month")
    return int(match.group(1)), int(match.group(2))


def last_month(now=None) -> tuple[int, int]:
    """The local calendar month before the current one."""
    today = local_today(now or utcnow())
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


def shift_month(year, month, n) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


def month_key(year, month) -> str:
    return f"{year:04d}-{month:02d}"


def _month_start(year, month) -> datetime:
    """The local midnight starting the month, as naive UTC."""
    local = datetime(year, month, 1, tzinfo=portal_zone())
    return local.astimezone(timezone.utc).replace(tzinfo=None)


# --- the figures -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LimitShare:
    """One time limit over a set of complaints: ``within`` and ``late`` are those whose clock
    stopped or whose deadline passed; ``pending`` still run (or wait) short of the limit;
    ``unknown``: the calendar lacks a year, so nothing can be said."""
    within: int = 0
    late: int = 0
    pending: int = 0
    unknown: int = 0

    @property
    def counted(self) -> int:
        return self.within + self.late

    @property
    def share(self) -> float | None:
        """Within the limit, of those counted (0.8); None when none is counted yet."""
        return self.within / self.counted if self.counted else None

    @property
    def percent(self) -> float | None:
        return None if self.share is None else round(self.share * 100, 1)


@dataclass(frozen=True)
class DepartmentFigures:
    department_id: int | None   # None: not assigned to a department (yet)
    name: str | None
    complaints: int
    first_contact: LimitShare
    resolution: LimitShare


@dataclass(frozen=True)
class TrendMonth:
    month: str                  # "2026-11"
    complaints: int
    first_contact: LimitShare
    resolution: LimitShare


@dataclass(frozen=True)
class MonthlyReport:
    month: str                  # "2026-11"
    first_day: date             # the local calendar month, first and last day
    last_day: date
    as_of: datetime             # aware local date-time the clocks were read at
    limits: tuple               # (first contact, ordinary, complex) in working hours
    complaints: int
    by_state: tuple             # ((group, count), ...) in STATE_GROUPS order
    by_channel: tuple           # ((channel, count), ...) in COMPLAINT_CHANNELS order, all of them
    major: int
    complex: int                # the complainant was told more time is needed (mark_complex)
    complex_limit: int          # ... in time, so the longer resolution limit applies
    reopened: int
    first_contact: LimitShare
    resolution: LimitShare
    departments: tuple          # DepartmentFigures, by name, the unassigned last
    trend: tuple                # TrendMonth, oldest first, ending with this month


def _outcome(clock) -> str:
    """within / late / pending / unknown for one clock (``clock.CLOCK_STATES``)."""
    if clock.state == "met":
        return "within"
    if clock.state == "breached":
        return "late"
    if clock.state == "unknown":
        return "unknown"
    return "pending"  # running or paused, short of the limit


def _share(outcomes) -> LimitShare:
    tally = Counter(outcomes)
    return LimitShare(tally["within"], tally["late"], tally["pending"], tally["unknown"])


@dataclass(frozen=True)
class _Row:
    """One complaint as the report reads it at ``now``."""
    complaint: Complaint
    month: str
    group: str
    first_contact: str          # an outcome
    resolution: str
    complex: bool
    complex_limit: bool
    reopened: bool


def _row(complaint, now, hours, limits) -> _Row:
    marks = sorted((e for e in complaint.events if e.at <= now), key=lambda e: (e.at, e.id or 0))
    state = marks[-1].to_state if marks else complaint.state
    found = clocks(complaint, now, hours, limits=limits)
    day = local_time(complaint.created_at)
    return _Row(complaint, month_key(day.year, day.month), _GROUP_OF.get(state, "handling"),
                _outcome(found.first_contact), _outcome(found.resolution),
                any(e.action == "mark_complex" for e in marks), found.complex_applies,
                any(e.action == "reopen" for e in marks))


def _load(start, end, now, user):
    """The complaints registered in [start, end) (naive UTC) and by ``now``, with their events and
    department: three statements, however many there are."""
    query = (select(Complaint).where(Complaint.created_at >= start, Complaint.created_at < end,
                                     Complaint.created_at <= now)
             .options(selectinload(Complaint.events), selectinload(Complaint.department))
             .order_by(Complaint.created_at, Complaint.id))
    if user is not None:
        query = query.where(complaint_scope(user))
    return db.session.scalars(query).all()


def _departments(rows):
    groups = defaultdict(list)
    for row in rows:
        groups[row.complaint.department_id].append(row)
    figures = [DepartmentFigures(dept_id, rows_[0].complaint.department.name if dept_id is not None else None,
                                 len(rows_), _share(r.first_contact for r in rows_),
                                 _share(r.resolution for r in rows_))
               for dept_id, rows_ in groups.items()]
    return tuple(sorted(figures, key=lambda f: (f.department_id is None, f.name or "", f.department_id or 0)))


def monthly_report(year: int, month: int, *, now=None, user=None) -> MonthlyReport:
    """The report of the complaints registered in local month ``year``-``month`` as they stood at
    ``now`` (naive UTC, default now), with the trend of the two shares over the six months ending
    with it; only the complaints ``user`` may see (``complaint_scope``) when a user is given."""
    if not (MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12):
        raise DomainError(_("Give the month as YYYY-MM, e.g. 2026-11."), field="month")
    now = now or utcnow()
    limits = clock_limits()
    try:
        hours = WorkingHours()
    except CalendarUnknown:
        hours = None  # each clock then says "unknown"
    first = shift_month(year, month, -(TREND_MONTHS - 1))
    end = _month_start(*shift_month(year, month, 1))
    rows = [_row(c, now, hours, limits) for c in _load(_month_start(*first), end, now, user)]
    key = month_key(year, month)
    by_month = defaultdict(list)
    for row in rows:
        by_month[row.month].append(row)
    these = by_month[key]
    groups = Counter(r.group for r in these)
    channels = Counter(r.complaint.channel for r in these)
    trend = tuple(
        TrendMonth(m, len(by_month[m]), _share(r.first_contact for r in by_month[m]),
                   _share(r.resolution for r in by_month[m]))
        for m in (month_key(*shift_month(year, month, n)) for n in range(-(TREND_MONTHS - 1), 1)))
    return MonthlyReport(
        month=key, first_day=date(year, month, 1),
        last_day=date.fromordinal(date(*shift_month(year, month, 1), 1).toordinal() - 1),
        as_of=local_time(now), limits=limits,
        complaints=len(these), by_state=tuple((g, groups[g]) for g in STATE_GROUPS),
        by_channel=tuple((ch, channels[ch]) for ch in COMPLAINT_CHANNELS),
        major=sum(r.complaint.major for r in these), complex=sum(r.complex for r in these),
        complex_limit=sum(r.complex_limit for r in these), reopened=sum(r.reopened for r in these),
        first_contact=_share(r.first_contact for r in these), resolution=_share(r.resolution for r in these),
        departments=_departments(these), trend=trend)


# --- the workbook ------------------------------------------------------------------------------

def _limit_cells(share: LimitShare):
    return [share.within, share.late, share.pending, Percent(share.share) if share.share is not None else None]


def monthly_report_xlsx(report: MonthlyReport) -> bytes:
    """The report as a workbook (summary, departments, trend); labels in the current locale.
    Every text cell is neutralised by ``write_xlsx`` (``spreadsheets.safe_cell``)."""
    from ...labels import COMPLAINT_CHANNEL_LABELS
    first_h, ordinary_h, complex_h = report.limits
    limit_headers = [_("Within the limit"), _("Late"), _("Pending"), _("Share within")]
    summary_rows = [
        [_("First contact (%(hours)s working hours)", hours=f"{first_h:g}"), *_limit_cells(report.first_contact)],
        [_("Resolution (%(hours)s working hours; %(complex)s for a complex case)",
           hours=f"{ordinary_h:g}", complex=f"{complex_h:g}"), *_limit_cells(report.resolution)],
    ]
    count_rows = ([[_("Complaints registered"), report.complaints]]
                  + [[str(STATE_GROUP_LABELS[g]), n] for g, n in report.by_state]
                  + [[str(COMPLAINT_CHANNEL_LABELS.get(ch, ch)), n] for ch, n in report.by_channel]
                  + [[_("Major"), report.major], [_("Complex (complainant told)"), report.complex],
                     [_("Complex limit applied"), report.complex_limit], [_("Reopened"), report.reopened]])
    department_headers = [_("Department"), _("Complaints"),
                          *(_("First contact: %(what)s", what=h) for h in limit_headers),
                          *(_("Resolution: %(what)s", what=h) for h in limit_headers)]
    department_rows = [[d.name if d.department_id is not None else _("Not assigned"), d.complaints,
                        *_limit_cells(d.first_contact), *_limit_cells(d.resolution)]
                       for d in report.departments]
    trend_rows = [[t.month, t.complaints, *_limit_cells(t.first_contact), *_limit_cells(t.resolution)]
                  for t in report.trend]
    return write_xlsx([
        (_("Limits %(month)s", month=report.month), [_("Time limit"), *limit_headers], summary_rows),
        (_("Counts %(month)s", month=report.month), [_("Complaints"), _("Number")], count_rows),
        (_("Departments %(month)s", month=report.month), department_headers, department_rows),
        (_("Trend"), [_("Month"), *department_headers[1:]], trend_rows),
    ])

