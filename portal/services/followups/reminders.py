"""The daily reminder (``flask notify-overdue``): fill due dates that waited for a calendar, then
tell owners and PMO about overdue follow-ups, once a day."""
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import FollowUp
from ..audit import record_event
from ..notifications import in_language_of, notify, notify_role
from ..quarters import local_date, local_today
from .opening import due_date_for
from .reading import _overdue_condition


def fill_missing_due_dates() -> int:
    """Due dates that waited for a calendar get computed once it is there."""
    filled = 0
    for f in db.session.scalars(select(FollowUp).where(FollowUp.due_on.is_(None),
                                                       FollowUp.due_calendar_missing.is_not(None))):
        due_on, _missing = due_date_for(local_date(f.response.submitted_at))
        if due_on is not None:
            f.due_on, f.due_calendar_missing = due_on, None
            filled += 1
    db.session.flush()
    return filled


def notify_overdue(today: date | None = None) -> dict:
    """Tell each owner about their overdue follow-ups, and PMO about all of them; once a day
    (a follow-up already reminded today is left out, so a second run sends nothing)."""
    today = today or local_today()
    filled = fill_missing_due_dates()
    due = list(db.session.scalars(select(FollowUp).where(
        _overdue_condition(today),
        or_(FollowUp.overdue_notified_on.is_(None), FollowUp.overdue_notified_on < today))
        .options(joinedload(FollowUp.project), joinedload(FollowUp.owner)).order_by(FollowUp.id)))
    by_owner = {}
    for f in due:
        by_owner.setdefault(f.owner, []).append(f)
        f.overdue_notified_on = today
    for owner, items in by_owner.items():
        codes = ", ".join(f"#{f.id} {f.project.code}" for f in items)
        with in_language_of(owner):
            subject = _("%(n)s follow-ups overdue", n=len(items))
            body = _("Overdue follow-ups: %(list)s", list=codes)
        notify(owner, "followup_overdue", subject, body, link="/followups?overdue=1")
    if due:
        codes = ", ".join(f"#{f.id} {f.project.code}" for f in due)
        notify_role("pmo", "followup_overdue",
                    lambda user: _("%(n)s follow-ups overdue", n=len(due)),
                    lambda user: _("Overdue follow-ups: %(list)s", list=codes),
                    link="/followups?overdue=1")
    if due or filled:
        record_event("followups_overdue_notified", detail={"followups": len(due), "owners": len(by_owner),
                                                            "due_dates_filled": filled})
    db.session.flush()
    return {"overdue": len(due), "owners": len(by_owner), "due_dates_filled": filled}
