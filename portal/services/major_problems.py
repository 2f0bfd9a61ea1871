"""A major problem raised in a sales inquiry (DESIGN §4.2.3) goes to senior management at once:
every executive is notified in the portal and by e-mail, and it stays on their home page until
one of them acknowledges it with a note, on the record (who, when, what)."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Project, SalesInquiry, User
from ..models.base import utcnow
from . import DomainError
from .audit import record_event
from .notifications import notify_role
from .responses import lock_row

NOTE_LIMIT = 4000


def link_of(inquiry) -> str:
    return f"/inquiries/{inquiry.id}"


def escalate_major_problem(inquiry, by_user):
    """Tell every executive now (the e-mail copies leave once the caller commits)."""
    project = inquiry.project or db.session.get(Project, inquiry.project_id)
    record_event("major_problem_raised", inquiry, actor=by_user,
                 detail={"project": project.code, "response": inquiry.response_id})
    notify_role("exec", "major_problem",
                lambda user: _("Major problem: %(project)s", project=project.code),
                lambda user: _("%(sales)s reports a major problem at %(client)s (%(project)s): "
                               "%(description)s", sales=by_user.display_name, client=project.client.name,
                               project=project.name, description=inquiry.major_problem_description),
                link=link_of(inquiry))


def may_acknowledge(user) -> bool:
    return user is not None and user.is_active and user.has_role("exec")


def acknowledge(inquiry, by_user, note, *, now=None) -> SalesInquiry:
    """An executive acknowledges the major problem with a note; the first one wins (the row is
    locked, so two at once cannot both record theirs). DomainError if there is nothing to
    acknowledge any more, or no note."""
    if not may_acknowledge(by_user):
        raise PermissionError(f"{by_user!r} may not acknowledge major problems")
    note = (note or "").strip()
    if not note:
        raise DomainError(_l("Write what you will do about it."), field="note")
    if len(note) > NOTE_LIMIT:
        raise DomainError(_l("At most %(n)d characters.", n=NOTE_LIMIT), field="note")
    inquiry = lock_row(SalesInquiry, inquiry.id)
    if not inquiry.major_problem:
        raise DomainError(_l("This inquiry raised no major problem."))
    if inquiry.acknowledged_at is not None:
        raise DomainError(_l("%(name)s already acknowledged it.", name=inquiry.acknowledged_by.display_name))
    inquiry.acknowledged_by_id, inquiry.acknowledged_at = by_user.id, now or utcnow()
    inquiry.acknowledgement_note = note
    db.session.flush()
    record_event("major_problem_acknowledged", inquiry, actor=by_user, detail={"note": note})
    return inquiry


def awaiting_acknowledgement(limit=20) -> list:
    """Major problems no executive has acknowledged yet, oldest first."""
    return db.session.scalars(
        select(SalesInquiry).where(SalesInquiry.major_problem.is_(True), SalesInquiry.acknowledged_at.is_(None))
        .options(joinedload(SalesInquiry.project).joinedload(Project.client),
                 joinedload(SalesInquiry.sales).lazyload(User.role_rows))
        .order_by(SalesInquiry.created_at, SalesInquiry.id).limit(limit)).all()


def awaiting_count() -> int:
    return db.session.scalar(select(func.count(SalesInquiry.id)).where(
        SalesInquiry.major_problem.is_(True), SalesInquiry.acknowledged_at.is_(None))) or 0
