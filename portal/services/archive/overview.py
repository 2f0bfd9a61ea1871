"""What the archive screen and ``flask archive-report`` show: each quarter's forms by archive
state (one GROUP BY), a quarter's records with their flags, and what becomes eligible for
disposal soon."""
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload, lazyload

from ...extensions import db
from ...models import ArchiveHandover, Project, Response, RollupRevision, User
from ...models.base import utcnow
from ..listing import paginate

#: a record's flags, in the order the screen shows them
FLAGS = ("not_archived", "archived", "retained", "eligible", "hold", "disposed")


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _eligible(now):
    return and_(Response.archived_at.is_not(None), Response.disposed_at.is_(None), Response.legal_hold.is_(False),
                Response.retain_until <= now)


def flag_condition(flag, now):
    return {
        "not_archived": Response.archived_at.is_(None),
        "archived": Response.archived_at.is_not(None),
        "retained": and_(Response.archived_at.is_not(None), Response.disposed_at.is_(None),
                         Response.retain_until > now),
        "eligible": _eligible(now),
        "hold": and_(Response.legal_hold.is_(True), Response.disposed_at.is_(None)),
        "disposed": Response.disposed_at.is_not(None),
    }[flag]


def flags_of(response, now=None) -> tuple:
    """The screen's flags of one form (what ``flag_condition`` selects)."""
    now = now or utcnow()
    if response.archived_at is None:
        return ("not_archived",)
    if response.disposed_at is not None:
        return ("archived", "disposed")
    if response.retain_until > now:
        out = ["archived", "retained"]
    else:
        out = ["archived"] if response.legal_hold else ["archived", "eligible"]
    return (*out, "hold") if response.legal_hold else tuple(out)


@dataclass(frozen=True)
class QuarterRow:
    quarter: str
    forms: int
    not_archived: int
    archived: int
    retained: int
    eligible: int
    hold: int
    disposed: int
    published: bool
    handovers: tuple            # ArchiveHandover, newest first
    first_retain_until: Optional[datetime]

    @property
    def awaiting_receipt(self):
        return [h for h in self.handovers if h.received_at is None]


def quarters(now=None, quarter=None) -> list:
    """Every quarter with forms (or only ``quarter``), newest first, with its counts by flag and
    its hand-overs."""
    now = now or utcnow()
    query = (select(Response.quarter, func.count(Response.id),
                    *(_count(flag_condition(f, now)) for f in FLAGS), func.min(Response.retain_until))
             .group_by(Response.quarter).order_by(Response.quarter.desc()))
    handovers = (select(ArchiveHandover)
                 .options(joinedload(ArchiveHandover.handed_over_by).lazyload(User.role_rows),
                          joinedload(ArchiveHandover.received_by).lazyload(User.role_rows))
                 .order_by(ArchiveHandover.handed_over_at.desc(), ArchiveHandover.id.desc()))
    revisions = select(RollupRevision.quarter).distinct()
    if quarter:
        query = query.where(Response.quarter == quarter)
        handovers = handovers.where(ArchiveHandover.quarter == quarter)
        revisions = revisions.where(RollupRevision.quarter == quarter)
    counts = db.session.execute(query).all()
    published = set(db.session.scalars(revisions))
    by_quarter = {}
    for h in db.session.scalars(handovers):
        by_quarter.setdefault(h.quarter, []).append(h)
    return [QuarterRow(q, n, *(int(v) for v in values[:len(FLAGS)]), q in published, tuple(by_quarter.get(q, ())),
                       values[len(FLAGS)]) for q, n, *values in counts]


def records(quarter, *, flag=None, page=1, now=None, per_page=50):
    """A quarter's forms, filtered by one flag, with their project; a Page."""
    now = now or utcnow()
    query = (select(Response).where(Response.quarter == quarter)
             .options(joinedload(Response.project).joinedload(Project.client), joinedload(Response.contact),
                      lazyload(Response.answers))
             .order_by(Response.id))
    if flag in FLAGS:
        query = query.where(flag_condition(flag, now))
    return paginate(query, page, per_page=per_page)


@dataclass(frozen=True)
class Upcoming:
    quarter: str
    count: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class ArchiveReport:
    now: datetime
    days: int
    eligible_now: int
    upcoming: tuple             # Upcoming per quarter, in date order
    on_hold: int
    on_hold_past_date: int      # on hold and past its date: held only by the hold
    archived: int
    disposed: int


def archive_report(now=None, days=90) -> ArchiveReport:
    now = now or utcnow()
    until = now + timedelta(days=days)
    live = and_(Response.archived_at.is_not(None), Response.disposed_at.is_(None))
    soon = db.session.execute(
        select(Response.quarter, func.count(Response.id), func.min(Response.retain_until),
               func.max(Response.retain_until))
        .where(live, Response.legal_hold.is_(False), Response.retain_until > now, Response.retain_until <= until)
        .group_by(Response.quarter).order_by(func.min(Response.retain_until))).all()
    totals = db.session.execute(select(
        _count(_eligible(now)), _count(and_(live, Response.legal_hold.is_(True))),
        _count(and_(live, Response.legal_hold.is_(True), Response.retain_until <= now)),
        _count(Response.archived_at.is_not(None)), _count(Response.disposed_at.is_not(None)))).one()
    return ArchiveReport(now, days, int(totals[0]), tuple(Upcoming(q, n, a, b) for q, n, a, b in soon),
                         int(totals[1]), int(totals[2]), int(totals[3]), int(totals[4]))


def home_counts(*, archive_role, pmo_role, now=None) -> dict:
    """The home page's archive to-do, one statement per role: hand-overs to receive and forms past
    their date (archive); published quarters with forms not handed over yet (PMO)."""
    now = now or utcnow()
    out = {"receive": 0, "eligible": 0, "hand_over": ()}
    if archive_role:
        receipt = select(func.count(ArchiveHandover.id)).where(ArchiveHandover.received_at.is_(None)).scalar_subquery()
        eligible = select(func.count(Response.id)).where(_eligible(now)).scalar_subquery()
        out["receive"], out["eligible"] = (int(v) for v in db.session.execute(select(receipt, eligible)).one())
    if pmo_role:
        waiting = (select(Response.id).where(Response.quarter == RollupRevision.quarter,
                                             Response.archived_at.is_(None)).exists())
        out["hand_over"] = tuple(db.session.scalars(  # one probe per published quarter (a partial index)
            select(RollupRevision.quarter).where(waiting).distinct().order_by(RollupRevision.quarter)))
    return out
