"""Timer alerts (DESIGN §4.7.3): at 50 % and 75 % of a limit the owner is warned, at a breach the
owner and the department's head are told; each once per clock, threshold and limit. The alerts
sent are ComplaintEvents (``timer_warning``/``timer_breach``), so a second run sends nothing new.
Meant for a periodic job (a ``flask complaint-timers`` command is still to be written)."""
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import Complaint, ComplaintEvent
from ...models.base import utcnow
from ..audit import record_event
from ..notifications import notify, users_with_role
from .clock import WorkingHours, clock_limits, clocks
from .messages import link_of, text_for
from .rules import OPEN_STATES

WARNINGS = (50, 75)
BREACH = 100
ALERT_ACTIONS = ("timer_warning", "timer_breach")


def _sent_alerts() -> dict:
    """{complaint id: {(clock, limit hours, threshold)}} of the alerts already recorded."""
    sent = {}
    for complaint_id, detail in db.session.execute(
            select(ComplaintEvent.complaint_id, ComplaintEvent.detail)
            .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
            .where(ComplaintEvent.action.in_(ALERT_ACTIONS), Complaint.state.in_(OPEN_STATES))):
        if detail:
            sent.setdefault(complaint_id, set()).add((detail["limit"], detail["limit_hours"], detail["threshold"]))
    return sent


def _due_threshold(clock):
    """The highest threshold the clock has reached (None below 50 %)."""
    if clock.state in ("met", "unknown") or clock.stopped or clock.fraction is None:
        return None
    percent = clock.fraction * 100
    if clock.state == "breached" and clock.elapsed_hours > clock.limit_hours:
        return BREACH
    reached = [t for t in WARNINGS if percent >= t]
    return reached[-1] if reached else None


def _recipients(complaint, breach):
    people = [complaint.owner] if complaint.owner is not None else []
    if breach and complaint.department is not None and complaint.department.head is not None:
        people.append(complaint.department.head)
    people = [p for p in dict.fromkeys(people) if p.active]
    return people or list(users_with_role("quality"))  # nobody assigned yet: the desk's queue


def check_timers(now=None) -> dict:
    """Send the alerts due as of ``now`` for every open complaint; counts of what was sent."""
    now = now or utcnow()
    hours, limits = WorkingHours(), clock_limits()
    counts = {"complaints": 0, "warnings": 0, "breaches": 0, "calendar_unknown": 0}
    query = (select(Complaint).where(Complaint.state.in_(OPEN_STATES))
             .options(selectinload(Complaint.events)).order_by(Complaint.id))
    already = _sent_alerts()
    for complaint in db.session.scalars(query):
        counts["complaints"] += 1
        sent = already.get(complaint.id, set())
        for clock in clocks(complaint, now, hours, limits=limits):
            if clock.state == "unknown":
                counts["calendar_unknown"] += 1
                continue
            threshold = _due_threshold(clock)
            if threshold is None or any(name == clock.name and limit == clock.limit_hours and t >= threshold
                                        for name, limit, t in sent):
                continue
            _alert(complaint, clock, threshold, now)
            counts["breaches" if threshold == BREACH else "warnings"] += 1
    db.session.flush()
    if counts["warnings"] or counts["breaches"]:
        record_event("complaint_timers_checked", detail=counts)
    return counts


def _alert(complaint, clock, threshold, now):
    breach = threshold == BREACH
    action = "timer_breach" if breach else "timer_warning"
    db.session.add(ComplaintEvent(complaint_id=complaint.id, at=now, action=action, from_state=complaint.state,
                                  to_state=complaint.state, detail={
                                      "limit": clock.name, "limit_hours": clock.limit_hours,
                                      "threshold": threshold, "elapsed_hours": clock.elapsed_hours}))
    ref = complaint.reference
    deadline = clock.deadline.strftime("%Y-%m-%d %H:%M") if clock.deadline else "-"

    def limit_name():
        return _("first contact") if clock.name == "first_contact" else _("resolution")

    for user in _recipients(complaint, breach):
        if breach:
            subject = text_for(user, lambda: _("Time limit exceeded: %(ref)s", ref=ref))
            body = text_for(user, lambda: _("Complaint %(ref)s is past its %(limit)s time limit of %(hours)s "
                                            "working hours.", ref=ref, limit=limit_name(),
                                            hours=clock.limit_hours))
        else:
            subject = text_for(user, lambda: _("%(percent)d%% of the time limit used: %(ref)s",
                                               percent=threshold, ref=ref))
            body = text_for(user, lambda: _("Complaint %(ref)s has used %(percent)d%% of its %(limit)s time "
                                            "limit; it is due by %(deadline)s.", ref=ref, percent=threshold,
                                            limit=limit_name(), deadline=deadline))
        notify(user, action, subject, body, link=link_of(complaint), now=now)
