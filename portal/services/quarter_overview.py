"""The quarter at a glance for the quality department, PMO and executives (DESIGN §3):
the countdown to publication and what is still missing, from the data that exists now."""
from dataclasses import dataclass, field
from datetime import date
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload, lazyload

from ..extensions import db
from ..models import Invitation, Project, Response, SurveyRound, User
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


def quarter_overview(user, now=None, limit=10) -> QuarterOverview:
    today = local_today(now)
    quarter = quarter_of(today)
    scope = project_scope(user)
    invited, submitted, pending = cached(("quarter-overview", quarter, user.id),
                                         lambda: _counts(quarter, scope))
    has_round = select(SurveyRound.id).where(SurveyRound.project_id == Project.id,
                                             SurveyRound.quarter == quarter).exists()
    missing = db.session.scalars(select(Project).where(
        Project.status == "active", ~has_round, scope).order_by(Project.code)
        .options(joinedload(Project.pm).lazyload(User.role_rows))).all()
    low = db.session.scalars(
        select(Response).join(Project, Project.id == Response.project_id)
        .where(Response.quarter == quarter, Response.score <= LOW_SCORE, scope)
        .options(contains_eager(Response.project), joinedload(Response.contact), lazyload(Response.answers))
        .order_by(Response.score, Response.submitted_at.desc()).limit(limit)).all()
    deadline = publication_deadline(quarter)
    return QuarterOverview(quarter, deadline, (deadline - today).days, invited, submitted,
                           pending, missing, low)


def _counts(quarter, scope) -> tuple:
    """(invited, submitted, pending verification) of the quarter within the scope: the costly
    part (every invitation and form of the quarter), kept between writes by quarter_overview."""
    invited, submitted = db.session.execute(
        select(func.count(Invitation.id), func.count(Response.id))
        .select_from(Invitation)
        .join(SurveyRound, SurveyRound.id == Invitation.round_id)
        .join(Project, Project.id == SurveyRound.project_id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(SurveyRound.quarter == quarter, scope)).one()
    pending = db.session.scalar(
        select(func.count(Response.id)).join(Project, Project.id == Response.project_id)
        .where(Response.quarter == quarter, Response.verification_status == "pending", scope))
    return invited, submitted, pending or 0
