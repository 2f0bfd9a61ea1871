"""Legal holds (DESIGN §4.6 item 2): the archive role or the PMO puts an archived form on hold
with a reason; while on hold it is not disposed of, whatever its date. Lifting it needs a reason
too; both are kept (LegalHold rows) and audited."""
from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...models import LegalHold
from ...models.base import utcnow
from .. import DomainError
from ..audit import record_event


def may_hold(user) -> bool:
    return user is not None and user.is_active and user.has_role("archive", "pmo")


def _reason(text, field):
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Give the reason."), field=field)
    if len(text) > 2000:
        raise DomainError(_("The reason is too long (at most 2000 characters)."), field=field)
    return text


def open_hold(response):
    return db.session.scalar(select(LegalHold).where(LegalHold.response_id == response.id,
                                                     LegalHold.lifted_at.is_(None)))


def place_hold(response, *, actor, reason, now=None) -> LegalHold:
    if not may_hold(actor):
        raise DomainError(_("Only the archive or the PMO puts a form on legal hold."))
    reason = _reason(reason, "reason")
    if response.archived_at is None:
        raise DomainError(_("Form no. %(id)s is not archived yet.", id=response.id))
    if response.disposed_at is not None:
        raise DomainError(_("Form no. %(id)s was disposed of already.", id=response.id))
    if response.legal_hold:
        raise DomainError(_("Form no. %(id)s is on legal hold already.", id=response.id))
    hold = LegalHold(response_id=response.id, reason=reason, placed_by_id=actor.id, placed_at=now or utcnow())
    response.legal_hold = True
    db.session.add(hold)
    record_event("legal_hold_placed", response, actor=actor, detail={"reason": reason})
    return hold


def lift_hold(response, *, actor, reason, now=None) -> LegalHold:
    if not may_hold(actor):
        raise DomainError(_("Only the archive or the PMO lifts a legal hold."))
    reason = _reason(reason, "lift_reason")
    hold = open_hold(response)
    if hold is None or not response.legal_hold:
        raise DomainError(_("Form no. %(id)s is not on legal hold.", id=response.id))
    hold.lifted_by_id, hold.lifted_at, hold.lift_reason = actor.id, now or utcnow(), reason
    response.legal_hold = False
    record_event("legal_hold_lifted", response, actor=actor, detail={"reason": reason})
    return hold


def holds_of(response) -> list:
    return db.session.scalars(select(LegalHold).where(LegalHold.response_id == response.id)
                              .order_by(LegalHold.placed_at.desc())).all()
