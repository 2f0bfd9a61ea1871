"""The quarter close (DESIGN §3, §4.5): the countdown to the 30th of the quarter's last month and
what is still missing before the quality department publishes — forms not verified, coverage
gaps, callback shortfalls, complaints still open — each with where to fix it; and the preview:
the verified-only figures beside what they would be with the forms still pending."""
from dataclasses import dataclass
from datetime import date
from typing import Optional

from sqlalchemy import func, select

from ...extensions import db
from ...models import Complaint, Response, RollupRevision
from ...models.base import utcnow
from ..complaints.rules import OPEN_STATES
from ..figures_cache import cached
from ..quarters import local_today, publication_deadline, quarter_bounds
from . import context
from .figures import Coverage, Summary
from .period import parse_period
from .service import summaries


@dataclass(frozen=True)
class Missing:
    code: str                        # unverified | no_round | no_inquiry | callbacks | complaints | changed
    count: int
    detail: str = ""                 # e.g. the priorities short of their rate


@dataclass(frozen=True)
class CloseStatus:
    quarter: str
    deadline: date
    days_left: int                   # negative once the deadline has passed
    missing: tuple                   # Missing, only what is not done
    latest: Optional[RollupRevision]
    revisions: int
    report: Summary                  # verified only
    preview: Summary                 # with the pending forms counted too
    coverage: Coverage               # projects without a round or an inquiry
    callbacks: tuple                 # CallbackRate per priority
    changed_since_publication: int   # forms judged or submitted after the latest revision

    @property
    def ready(self) -> bool:
        return not self.missing


def close_status(quarter, now=None) -> CloseStatus:
    """The close dashboard of ``quarter``. Its figures are kept until the next write (or a minute,
    services.figures_cache) when ``now`` is not given; with ``now`` they are computed as of then."""
    if now is None:
        figures = cached(("close", quarter), lambda: _figures(quarter, utcnow()))
    else:
        figures = _figures(quarter, now)
    now = now or utcnow()
    report, preview, coverage, callbacks, open_complaints = figures
    short = [c for c in callbacks if not c.met]
    missing = [m for m in (
        Missing("unverified", report.excluded.pending),
        Missing("no_round", len(coverage.without_round)),
        Missing("no_inquiry", len(coverage.without_inquiry)),
        Missing("callbacks", sum(c.required - c.reached for c in short),
                ", ".join(f"{c.priority} {c.reached}/{c.required}" for c in short)),
        Missing("complaints", open_complaints)) if m.count > 0]
    latest = db.session.scalar(select(RollupRevision).where(RollupRevision.quarter == quarter)
                               .order_by(RollupRevision.number.desc()).limit(1))
    count = db.session.scalar(select(func.count(RollupRevision.id)).where(RollupRevision.quarter == quarter))
    changed = 0
    if latest is not None:
        changed = db.session.scalar(select(func.count(Response.id)).where(
            Response.quarter == quarter,
            (Response.verified_at > latest.published_at) | (Response.submitted_at > latest.published_at))) or 0
        if changed:
            missing.append(Missing("changed", changed))
    deadline = publication_deadline(quarter)
    return CloseStatus(quarter, deadline, (deadline - local_today(now)).days, tuple(missing), latest, count or 0,
                       report, preview, coverage, callbacks, changed)


def _figures(quarter, now) -> tuple:
    """(verified Summary, with-pending Summary, Coverage, callback rates, open complaints): plain
    values, so they can be kept between requests."""
    period = parse_period(quarter)
    report, preview = summaries(period)
    start, end = period.utc_bounds()
    open_complaints = db.session.scalar(select(func.count(Complaint.id)).where(
        Complaint.created_at >= start, Complaint.created_at < end, Complaint.state.in_(OPEN_STATES))) or 0
    return (report, preview, context.coverage(period.quarters, now), context.callbacks(period.quarters),
            open_complaints)


def quarter_is_past_or_current(quarter, now=None) -> bool:
    return quarter_bounds(quarter)[0] <= local_today(now)
