"""Publishing a quarter (DESIGN §4.5.3–5, §4.5.7): the quality department freezes the quarter's
figures as a numbered revision — who, when, and the exact numbers, stored, never recomputed. A
later change to the data never alters a published revision (the ORM refuses to change one);
publishing again makes a new revision and needs a reason, and two revisions can be compared
side by side. Each revision goes to the PMO director(s) and the VP(s) for review and to the heads
of the departments for action; each acknowledges it in the portal, with a note.

Functions flush, the caller commits."""
from dataclasses import dataclass
from typing import Optional

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from ...extensions import db
from ...models import Department, ReportRecipient, RollupRevision, User
from ...models.base import utcnow
from .. import DomainError
from ..audit import record_event
from ..quarters import parse_quarter
from .figures import Rollup, freeze, thaw
from .service import rollup

REASON_MAX = 2000
NOTE_MAX = 2000
REVIEWER_ROLES = ("pmo", "exec")


class RevisionFrozen(RuntimeError):
    """A published revision was about to be changed or deleted."""


@event.listens_for(Session, "before_flush")
def _refuse_changes(session, _context, _instances):
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, RollupRevision) and (
                obj in session.deleted or session.is_modified(obj, include_collections=False)):
            raise RevisionFrozen(f"revision {obj.quarter} #{obj.number} is published and cannot change")


def may_publish(user) -> bool:
    return user is not None and user.is_active and user.has_role("quality")


def may_read(user) -> bool:
    return user is not None and user.is_active and user.has_role("quality", "pmo", "exec", "admin")


def revisions(quarter) -> list:
    """The quarter's revisions, newest first, with their recipients."""
    return db.session.scalars(
        select(RollupRevision).where(RollupRevision.quarter == quarter)
        .options(selectinload(RollupRevision.recipients).joinedload(ReportRecipient.user)
                 .lazyload(User.role_rows),
                 joinedload(RollupRevision.published_by).lazyload(User.role_rows))
        .order_by(RollupRevision.number.desc())).all()


def revision(quarter, number) -> Optional[RollupRevision]:
    return db.session.scalar(select(RollupRevision).where(RollupRevision.quarter == quarter,
                                                          RollupRevision.number == number))


def figures_of(rev: RollupRevision) -> Rollup:
    """The revision's figures as they were published."""
    return thaw(Rollup, rev.figures)


def _recipients(now):
    """(user, purpose, department) for everyone a revision goes to: the active PMO and executive
    users for review, each active department's head for action."""
    from ..notifications import users_with_role
    found, seen = [], set()
    for role in REVIEWER_ROLES:
        for user in users_with_role(role):
            if user.id not in seen:
                seen.add(user.id)
                found.append((user, "review", None))
    heads = db.session.execute(
        select(User, Department).join(Department, Department.head_id == User.id)
        .where(Department.active.is_(True), User.active.is_(True)).order_by(Department.name)).all()
    for user, department in heads:
        if user.id not in seen:
            seen.add(user.id)
            found.append((user, "action", department))
    return found


def publish(quarter, *, actor, reason=None, now=None) -> RollupRevision:
    """Freeze ``quarter``'s figures from its verified forms as its next revision and send it to
    its recipients. The second and later revisions need a reason."""
    if not may_publish(actor):
        raise PermissionError(f"{actor!r} may not publish")
    try:
        parse_quarter(quarter)
    except ValueError:
        raise DomainError(_l("Give the quarter as YYYYQn, e.g. 2026Q4."), field="quarter") from None
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > REASON_MAX:
        raise DomainError(_l("At most %(n)d characters.", n=REASON_MAX), field="reason")
    now = now or utcnow()
    last = db.session.scalar(select(func.max(RollupRevision.number)).where(RollupRevision.quarter == quarter)) or 0
    if last and reason is None:
        raise DomainError(_l("The quarter is already published: say why it is published again."), field="reason")
    figures = rollup(quarter, now=now)
    if figures.overall.responses == 0:
        raise DomainError(_l("No verified form counts in this quarter yet: verify forms before publishing."),
                          field="quarter")
    plan_id = figures.plan.plan_id if figures.plan else None
    rev = RollupRevision(quarter=quarter, number=last + 1, reason=reason, figures=freeze(figures),
                         measurement_plan_id=plan_id, published_by_id=actor.id, published_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(rev)
            db.session.flush()
    except IntegrityError:
        raise DomainError(_l("Someone else has just published this quarter: reload the page."),
                          field="quarter") from None
    for user, purpose, department in _recipients(now):
        rev.recipients.append(ReportRecipient(user_id=user.id, purpose=purpose,
                                              department_id=department.id if department else None))
        _tell(user, rev, purpose, now)
    record_event("rollup_published", rev, actor=actor,
                 detail={"quarter": quarter, "number": rev.number, "reason": reason,
                         "responses": figures.overall.responses, "score": figures.overall.score,
                         "satisfaction_rate": figures.overall.satisfaction_rate})
    db.session.flush()
    return rev


def _tell(user, rev, purpose, now):
    from ..notifications import in_language_of, notify
    with in_language_of(user):
        if purpose == "review":
            subject = _("The %(quarter)s satisfaction report (revision %(n)d) is published for your review",
                        quarter=rev.quarter, n=rev.number)
        else:
            subject = _("The %(quarter)s satisfaction report (revision %(n)d) is published for your department's "
                        "action", quarter=rev.quarter, n=rev.number)
        body = _("Read it and acknowledge it in the portal, with a note if you wish.")
    notify(user, "rollup_published", subject, body, now=now,
           link=link_of(rev))


def link_of(rev) -> str:
    """The revision's page (a path: notifications are made outside requests too)."""
    return f"/rollup/{rev.quarter}/revisions/{rev.number}"


def acknowledge(rev: RollupRevision, *, actor, note=None, now=None) -> ReportRecipient:
    """The recipient ``actor`` acknowledges ``rev`` (once), with an optional note."""
    recipient = next((r for r in rev.recipients if r.user_id == actor.id), None)
    if recipient is None:
        raise PermissionError(f"{actor!r} is not a recipient of this revision")
    if recipient.acknowledged_at is not None:
        raise DomainError(_l("You have already acknowledged this report."), field="note")
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise DomainError(_l("At most %(n)d characters.", n=NOTE_MAX), field="note")
    recipient.acknowledged_at, recipient.note = now or utcnow(), note
    record_event("rollup_acknowledged", rev, actor=actor, detail={"quarter": rev.quarter, "number": rev.number,
                                                                  "note": note})
    db.session.flush()
    return recipient


def awaiting_acknowledgement(user) -> list:
    """The revisions sent to ``user`` not acknowledged yet, oldest first."""
    return db.session.scalars(
        select(ReportRecipient).where(ReportRecipient.user_id == user.id, ReportRecipient.acknowledged_at.is_(None))
        .options(joinedload(ReportRecipient.revision)).order_by(ReportRecipient.id)).all()


# --- comparing two revisions --------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    section: str                     # overall, by_dimension, by_project, by_pm, by_sales
    key: str
    label: str
    old_responses: Optional[int]
    new_responses: Optional[int]
    old_score: Optional[float]
    new_score: Optional[float]
    old_rate: Optional[float]
    new_rate: Optional[float]


COMPARED = ("by_dimension", "by_project", "by_pm", "by_sales")


def differences(old: Rollup, new: Rollup) -> list:
    """What changed from ``old`` to ``new``: the overall figures and every group of the compared
    breakdowns whose n, score or rate differ (a group in only one of them too)."""
    out = []

    def add(section, key, label, a, b):
        values = [(a.responses if a else None), (b.responses if b else None), (a.score if a else None),
                  (b.score if b else None), (a.satisfaction_rate if a else None), (b.satisfaction_rate if b else None)]
        if values[0] != values[1] or values[2] != values[3] or values[4] != values[5]:
            out.append(Difference(section, key, label, *values))
    add("overall", "", "", old.overall, new.overall)
    for section in COMPARED:
        before = {g.key: g for g in getattr(old, section)}
        after = {g.key: g for g in getattr(new, section)}
        for key in sorted(set(before) | set(after), key=lambda k: (after.get(k) or before.get(k)).label):
            a, b = before.get(key), after.get(key)
            add(section, key, (b or a).label, a.figures if a else None, b.figures if b else None)
    return out


def changed_since(rev: RollupRevision, now=None) -> list:
    """What a re-publication would change now: the differences between the revision and a fresh
    rollup of its quarter."""
    return differences(figures_of(rev), rollup(rev.quarter, now=now))
