"""Handing a published quarter's forms to the archive (DESIGN §4.6 item 1): PMO's one action
stamps every form of the quarter not archived yet with ``archived_at`` and ``retain_until`` (the
retention setting, never below the policy's three years), records the hand-over and queues the
job that renders each form's PDF once (services.archive.copies); the archive role confirms
receipt. From the hand-over on, the forms are read-only (services.archive.guard)."""
from datetime import datetime
from typing import Optional

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ...extensions import db
from ...models import ArchiveHandover, Response, RollupRevision
from ...models.base import utcnow
from .. import DomainError
from ..audit import record_event
from ..quarters import parse_quarter
from ..settings import get_setting

POLICY_YEARS = 3


def may_hand_over(user) -> bool:
    return user is not None and user.is_active and user.has_role("pmo")


def may_receive(user) -> bool:
    return user is not None and user.is_active and user.has_role("archive")


def retention_years() -> int:
    return max(POLICY_YEARS, int(get_setting("archive.retention_years")))


def add_years(instant: datetime, years: int) -> datetime:
    """The same moment ``years`` later (29 February → 28 February)."""
    try:
        return instant.replace(year=instant.year + years)
    except ValueError:
        return instant.replace(year=instant.year + years, day=28)


def latest_revision(quarter) -> Optional[RollupRevision]:
    return db.session.scalar(select(RollupRevision).where(RollupRevision.quarter == quarter)
                             .order_by(RollupRevision.number.desc()).limit(1))


def not_handed_over(quarter) -> int:
    return db.session.scalar(select(func.count(Response.id)).where(
        Response.quarter == quarter, Response.archived_at.is_(None))) or 0


def hand_over(quarter, *, actor, now=None) -> ArchiveHandover:
    """Archive every form of the published ``quarter`` not archived yet, in one statement; queue
    their PDFs. Refused before the quarter is published, or when there is nothing left to hand over."""
    if not may_hand_over(actor):
        raise DomainError(_("Only the PMO hands forms over to the archive."))
    try:
        parse_quarter(quarter)
    except ValueError:
        raise DomainError(_("%(q)s is not a quarter.", q=quarter), field="quarter") from None
    revision = latest_revision(quarter)
    if revision is None:
        raise DomainError(_("Quarter %(q)s is not published yet: publish it before handing its forms over.",
                            q=quarter), field="quarter")
    count = not_handed_over(quarter)
    if not count:
        raise DomainError(_("Every form of %(q)s has been handed over already.", q=quarter), field="quarter")
    now = now or utcnow()
    handover = ArchiveHandover(quarter=quarter, revision_id=revision.id, responses=count,
                               handed_over_by_id=actor.id, handed_over_at=now)
    db.session.add(handover)
    db.session.flush()
    db.session.execute(
        update(Response).where(Response.quarter == quarter, Response.archived_at.is_(None))
        .values(archived_at=now, retain_until=add_years(now, retention_years()), handover_id=handover.id)
        .execution_options(synchronize_session="fetch"))
    from .copies import start_copies_job
    handover.job_id = start_copies_job(handover, actor).id
    record_event("archive_handed_over", handover, actor=actor,
                 detail={"quarter": quarter, "responses": count, "revision": revision.number})
    return handover


def confirm_receipt(handover, *, actor, note=None, now=None) -> ArchiveHandover:
    """The archive role's receipt of a hand-over (once)."""
    if not may_receive(actor):
        raise DomainError(_("Only the archive confirms receipt."))
    if handover.received_at is not None:
        raise DomainError(_("This hand-over was received on %(when)s already.",
                            when=handover.received_at.strftime("%Y-%m-%d")))
    handover.received_by_id, handover.received_at = actor.id, now or utcnow()
    handover.receipt_note = (note or "").strip()[:2000] or None
    record_event("archive_received", handover, actor=actor, detail={"quarter": handover.quarter})
    return handover


def handovers(quarter=None) -> list:
    query = select(ArchiveHandover).order_by(ArchiveHandover.handed_over_at.desc(), ArchiveHandover.id.desc())
    if quarter:
        query = query.where(ArchiveHandover.quarter == quarter)
    return db.session.scalars(query).all()
