"""The quarter at a glance for the quality department, PMO and executives (DESIGN §3):
the countdown to publication and what is still missing, from the data that exists now."""
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Optional

from sqlalchemy import func, select

from ..extensions import db
from ..models import Contact, Invitation, Project, Response, SurveyRound, User
from .figures_cache import cached
from .quarters import local_today, publication_deadline, quarter_of
from .scope import project_scope

LOW_SCORE = 3.0  # DESIGN §4.4: a normalized score at or below 3 needs a follow-up


@dataclass
class QuarterOverview:
    quarter: str
    deadline: date
    days_left: int
    invited: int
    submitted: int
    pending_verification: int
    projects_without_round: list = field(default_factory=list)
    low_scores: list = field(default_factory=list)

    @property
    def response_rate(self) -> Optional[float]:
        return self.submitted / self.invited if self.invited else None


@dataclass(frozen=True)
class MissingRound:
    """An active project without a PM round this quarter."""
    id: int
    code: str
    name: str
    pm: str          # the PM's name


@dataclass(frozen=True)
class LowScore:
    """A form of the quarter scoring 3 or below."""
    id: int
    invitation_id: Optional[int]
    project_code: str
    contact: str
    score: float
    channel: str
    submitted_at: datetime


def quarter_overview(user, now=None, limit=10) -> QuarterOverview:
    """The quarter of ``now`` within what ``user`` may see. Its figures are plain values, kept
    between writes (services.figures_cache): every invitation and form of the quarter is counted."""
    today = local_today(now)
    quarter = quarter_of(today)
    scope = project_scope(user)
    invited, submitted, pending, missing, low = cached(("quarter-overview", quarter, user.id, limit),
                                                       lambda: _figures(quarter, scope, limit))
    deadline = publication_deadline(quarter)
    return QuarterOverview(quarter, deadline, (deadline - today).days, invited, submitted,
                           pending, list(missing), list(low))


def _figures(quarter, scope, limit) -> tuple:
    """(invited, submitted, pending verification, MissingRound…, LowScore…) of the quarter."""
    # the quarter's rounds in scope; then each count reads one index (invitations.round_id,
    # responses.round_id) rather than joining every invitation of the quarter to its response
    rounds = (select(SurveyRound.id).join(Project, Project.id == SurveyRound.project_id)
              .where(SurveyRound.quarter == quarter, scope))
    invited, submitted, pending = db.session.execute(select(
        select(func.count(Invitation.id)).where(Invitation.round_id.in_(rounds)).scalar_subquery(),
        select(func.count(Response.id)).where(Response.round_id.in_(rounds), Response.invitation_id.is_not(None))
        .scalar_subquery(),
        select(func.count(Response.id)).join(Project, Project.id == Response.project_id)
        .where(Response.quarter == quarter, Response.verification_status == "pending", scope).scalar_subquery(),
    )).one()
    has_round = select(SurveyRound.id).where(SurveyRound.project_id == Project.id,
                                             SurveyRound.quarter == quarter).exists()
    missing = tuple(MissingRound(id, code, name, pm or "") for id, code, name, pm in db.session.execute(
        select(Project.id, Project.code, Project.name, User.display_name)
        .outerjoin(User, User.id == Project.pm_id)
        .where(Project.status == "active", ~has_round, scope).order_by(Project.code)))
    low = tuple(LowScore(*row) for row in db.session.execute(
        select(Response.id, Response.invitation_id, Project.code, func.coalesce(Contact.name, ""),
               Response.score, Response.channel, Response.submitted_at)
        .join(Project, Project.id == Response.project_id)
        .outerjoin(Contact, Contact.id == Response.contact_id)
        .where(Response.quarter == quarter, Response.score <= LOW_SCORE, scope)
        .order_by(Response.score, Response.submitted_at.desc()).limit(limit)))
    return invited, submitted, pending or 0, missing, low
