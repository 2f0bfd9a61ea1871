"""Complaint time limits in working time (DESIGN §4.7.3): China's working days (``working_days``)
between ``complaints.workday_start_hour`` and ``complaints.workday_end_hour`` local time.

The clocks are derived from the complaint's events alone (their ``clock`` marks: start,
first_contact, pause, resume, stop), as of a given instant: a change of limit, of working hours
or of the calendar simply recomputes them. A year the calendar does not know raises
CalendarUnknown (or shows as a clock in state ``unknown``): never a guess.
"""
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from ...models.base import utcnow
from ..quarters import portal_zone
from ..settings import get_setting
from ..working_days import CalendarUnknown, working_calendar

#: a clock's states: counting, paused (waiting for the complainant), done within / over the
#: limit, or breached while still counting; ``unknown``: the calendar lacks a year
CLOCK_STATES = ("running", "paused", "met", "breached", "unknown")


# --- working time ------------------------------------------------------------------------------

def _local(instant: datetime) -> datetime:
    """A naive-UTC (or aware) instant as naive local wall time."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(portal_zone()).replace(tzinfo=None)


def _utc(local: datetime) -> datetime:
    return local.replace(tzinfo=portal_zone()).astimezone(timezone.utc).replace(tzinfo=None)


class WorkingHours:
    """One reading of the settings (calendar, working hours) to ask many questions of."""

    def __init__(self, calendar=None, start_hour=None, end_hour=None):
        self.calendar = calendar or working_calendar()
        self.start_hour = get_setting("complaints.workday_start_hour") if start_hour is None else start_hour
        self.end_hour = get_setting("complaints.workday_end_hour") if end_hour is None else end_hour
        if self.end_hour <= self.start_hour:
            raise ValueError("the working day must end after it starts")

    def _window(self, day):
        """(opens, closes) of a working ``day`` in local wall time, or None for a day off."""
        if not self.calendar.is_working_day(day):
            return None
        midnight = datetime.combine(day, time())
        return midnight + timedelta(hours=self.start_hour), midnight + timedelta(hours=self.end_hour)

    def between(self, start: datetime, end: datetime) -> float:
        """Working hours from ``start`` to ``end`` (naive UTC); 0 when ``end`` is not later."""
        a, b = _local(start), _local(end)
        if b <= a:
            return 0.0
        seconds, day = 0.0, a.date()
        while day <= b.date():
            window = self._window(day)
            if window is not None:
                lo, hi = max(a, window[0]), min(b, window[1])
                if hi > lo:
                    seconds += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return seconds / 3600

    def add(self, start: datetime, hours: float) -> datetime:
        """The instant (naive UTC) when ``hours`` working hours after ``start`` have passed."""
        if hours < 0:
            raise ValueError("hours must not be negative")
        at, left = _local(start), timedelta(hours=hours)
        day = at.date()
        while True:
            window = self._window(day)
            if window is not None and at < window[1]:
                opens = max(at, window[0])
                if window[1] - opens >= left:
                    return _utc(opens + left)
                left -= window[1] - opens
            day += timedelta(days=1)
            at = datetime.combine(day, time())


def working_hours_between(start: datetime, end: datetime) -> float:
    """Working hours from ``start`` to ``end`` (naive UTC); CalendarUnknown for a year nobody knows."""
    return WorkingHours().between(start, end)


def add_working_hours(start: datetime, hours: float) -> datetime:
    """``start`` (naive UTC) plus ``hours`` working hours, as naive UTC; CalendarUnknown likewise."""
    return WorkingHours().add(start, hours)


def local_time(instant: datetime | None) -> datetime | None:
    """A naive-UTC instant as an aware local date-time, for display."""
    if instant is None:
        return None
    return instant.replace(tzinfo=timezone.utc).astimezone(portal_zone())


# --- the clocks of a complaint -----------------------------------------------------------------

@dataclass(frozen=True)
class Clock:
    name: str                   # "first_contact" or "resolution"
    limit_hours: float
    elapsed_hours: float | None  # None when the calendar lacks a year
    deadline: datetime | None   # aware local date-time; None while paused short of the limit
    state: str                  # one of CLOCK_STATES
    missing_year: int | None = None  # the year the calendar lacks, for state "unknown"
    stopped: bool = False       # the case ended (the client was told): nothing more counts

    @property
    def fraction(self) -> float | None:
        return None if self.elapsed_hours is None else self.elapsed_hours / self.limit_hours

    @property
    def hours_left(self) -> float | None:
        """Working hours left (negative: overdue by that much)."""
        return None if self.elapsed_hours is None else self.limit_hours - self.elapsed_hours


@dataclass(frozen=True)
class Clocks:
    first_contact: Clock
    resolution: Clock
    #: the longer limit of a complex case applies (a mark_complex notice in time)
    complex_applies: bool
    #: the complainant answered while the resolution clock was paused
    answered_while_paused: bool

    def __iter__(self):
        return iter((self.first_contact, self.resolution))


def _marks(events, now):
    return sorted((e for e in events if e.at <= now), key=lambda e: (e.at, e.id or 0))


def _spans(marks):
    """The running spans [(from, to or None)] of the resolution clock and whether it ended on a stop."""
    spans, since, stopped = [], None, False
    for e in marks:
        if e.clock in ("start", "resume"):
            if since is None:
                since, stopped = e.at, False
        elif e.clock in ("pause", "stop"):
            if since is not None:
                spans.append((since, e.at))
                since = None
            stopped = e.clock == "stop"
    if since is not None:
        spans.append((since, None))
    return spans, stopped


def _paused_spans(marks):
    spans, since = [], None
    for e in marks:
        if e.clock == "pause" and since is None:
            since = e.at
        elif e.clock in ("resume", "stop") and since is not None:
            spans.append((since, e.at))
            since = None
    if since is not None:
        spans.append((since, None))
    return spans


def _run(hours, name, limit, spans, stopped, now):
    """Walk the running spans: elapsed working hours, and when the limit was (or will be) reached."""
    elapsed, deadline = 0.0, None
    for a, b in spans:
        part = hours.between(a, b or now)
        if deadline is None and elapsed + part >= limit:
            deadline = hours.add(a, limit - elapsed)
        elapsed += part
    running = bool(spans) and spans[-1][1] is None
    if deadline is None and running:
        deadline = hours.add(now, limit - elapsed)
    if running:
        state = "breached" if elapsed > limit else "running"
    elif stopped:
        state = "breached" if elapsed > limit else "met"
    else:
        state = "breached" if elapsed > limit else "paused"
    return Clock(name, limit, round(elapsed, 4), local_time(deadline), state, None, stopped and not running)


def clock_limits() -> tuple:
    """(first contact, ordinary resolution, complex resolution) limits in working hours, read once
    for a page of many clocks (``clocks(..., limits=...)``)."""
    return (get_setting("complaints.first_contact_hours"), get_setting("complaints.resolution_hours"),
            get_setting("complaints.complex_resolution_hours"))


def clocks(complaint, now=None, hours: WorkingHours | None = None, limits: tuple | None = None) -> Clocks:
    """The complaint's two clocks as of ``now`` (naive UTC), from its events alone; ``hours`` and
    ``limits`` (``clock_limits()``) when the caller read the settings once for many complaints."""
    now = now or utcnow()
    marks = _marks(complaint.events, now)
    first_limit, ordinary, complex_limit = limits or clock_limits()
    spans, stopped = _spans(marks)
    paused = _paused_spans(marks)
    answered_while_paused = any(
        any(a < _answered_at(e) and (b is None or _answered_at(e) < b) for a, b in paused)
        for e in marks if e.action == "complainant_answered")
    try:
        hours = hours or WorkingHours()
        # first contact: from the start to the first contact (or the end of the case: telling the
        # complainant the outcome or the explanation is a contact too)
        start = next((e.at for e in marks if e.clock == "start"), None)
        end = next((e.at for e in marks if e.clock in ("first_contact", "stop")), None)
        first_spans = [(start, end)] if start else []
        first = _run(hours, "first_contact", first_limit, first_spans, end is not None, now)
        # resolution: the longer limit only when the notice came while the ordinary one still ran
        notice = next((e for e in marks if e.action == "mark_complex"), None)
        complex_applies = False
        if notice is not None:
            used = sum(hours.between(a, min(b or notice.at, notice.at)) for a, b in spans if a < notice.at)
            complex_applies = used <= ordinary
        resolution = _run(hours, "resolution", complex_limit if complex_applies else ordinary,
                          spans, stopped, now)
    except CalendarUnknown as error:
        first = Clock("first_contact", first_limit, None, None, "unknown", error.year)
        resolution = Clock("resolution", ordinary, None, None, "unknown", error.year)
        complex_applies = False
    return Clocks(first, resolution, complex_applies, answered_while_paused)


def _answered_at(event) -> datetime:
    """When the complainant answered (recorded on the event, else the time it was recorded)."""
    given = (event.detail or {}).get("answered_at")
    return datetime.fromisoformat(given) if given else event.at
