"""Read-models of rounds (DESIGN §4.1.5): where each contact stands, counts per round
computed in the database, the lists and the PM's home overview. Nothing here writes."""
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Optional

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import contains_eager, joinedload

from ..extensions import db
from ..models import Invitation, OutboxMessage, Project, Response, SurveyRound
from ..models.base import utcnow
from .figures_cache import cached
from .invitations import link_problem
from .quarters import local_today, quarter_of

#: per-invitation states, in the order a contact moves through them
STATES = ("not_sent", "sent", "opened", "draft", "submitted", "overdue", "opted_out")


def invitation_state(invitation, now=None) -> str:
    """Where one contact stands: submitted, opted out, overdue, draft, opened, sent or not sent."""
    now = now or utcnow()
    if invitation.answered:
        return "submitted"
    if invitation.contact.opted_out:
        return "opted_out"
    if invitation.expires_at <= now:
        return "overdue"
    if invitation.draft:
        return "draft"
    if invitation.opened_at is not None:
        return "opened"
    if invitation.sent_count or invitation.reminded_count:
        return "sent"
    return "not_sent"


@dataclass
class InvitationRow:
    invitation_id: int
    contact_id: int
    contact_name: str
    contact_function: str
    email: Optional[str]
    language: str
    state: str
    sent_count: int
    reminded_count: int
    last_sent_at: Optional[datetime]
    link_issued_at: Optional[datetime]
    opened_at: Optional[datetime]
    draft_saved_at: Optional[datetime]
    submitted_at: Optional[datetime]
    response_id: Optional[int]
    channel: Optional[str]
    can_issue_link: bool
    form_language: str = "zh"   # the language variant this contact is sent

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"


@dataclass
class RoundHeader:
    """What identifies a round on screen; shared by the status page and the round lists."""
    round_id: int
    project_id: int
    project_code: str
    project_name: str
    client_name: str
    quarter: str
    due_date: date
    closed: bool

    @staticmethod
    def of(rnd) -> dict:
        project = rnd.project
        return dict(round_id=rnd.id, project_id=project.id, project_code=project.code,
                    project_name=project.name, client_name=project.client.name, quarter=rnd.quarter,
                    due_date=rnd.due_date, closed=rnd.closed_at is not None)

    @property
    def response_rate(self) -> Optional[float]:
        return self.submitted / self.invited if self.invited else None


@dataclass
class RoundStatus(RoundHeader):
    template_title: str
    rows: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)  # state → how many

    @property
    def invited(self) -> int:
        return len(self.rows)

    @property
    def sent(self) -> int:
        return sum(1 for r in self.rows if r.sent_count or r.reminded_count)

    @property
    def opened(self) -> int:
        return sum(1 for r in self.rows if r.opened_at is not None or r.submitted_at is not None)

    @property
    def submitted(self) -> int:
        return self.counts.get("submitted", 0)

    @property
    def overdue(self) -> int:
        return self.counts.get("overdue", 0)

    @property
    def drafts(self) -> int:
        return self.counts.get("draft", 0)

    @property
    def reminders(self) -> int:
        return sum(r.reminded_count for r in self.rows)


def round_status(rnd, now=None) -> RoundStatus:
    """Per-contact progress of a round, with totals and the response rate (submitted / invited)."""
    now = now or utcnow()
    status = RoundStatus(**RoundHeader.of(rnd), template_title=rnd.template_version.title)
    for inv in _invitations_of(rnd):
        state = invitation_state(inv, now)
        response = inv.response
        status.rows.append(InvitationRow(
            inv.id, inv.contact_id, inv.contact.name, inv.contact.function, inv.contact.email,
            inv.contact.language, state, inv.sent_count, inv.reminded_count, inv.last_sent_at,
            inv.link_issued_at, inv.opened_at, inv.draft_saved_at,
            response.submitted_at if response else None, response.id if response else None,
            response.channel if response else None, link_problem(inv, now) is None, inv.language))
        status.counts[state] = status.counts.get(state, 0) + 1
    return status


def _invitations_of(rnd):
    """The round's invitations (as ``rnd.invitations`` orders them) with their contacts and
    responses, in one statement; the responses' answers are left for whoever reads them."""
    return db.session.scalars(
        select(Invitation).where(Invitation.round_id == rnd.id)
        .options(joinedload(Invitation.contact),
                 joinedload(Invitation.response).lazyload(Response.answers))
        .order_by(Invitation.id)).all()


@dataclass
class RoundSummary(RoundHeader):
    invited: int
    submitted: int
    overdue: int


def round_summaries(rounds, now=None) -> list:
    """Counts for several rounds at once, computed in the database (GROUP BY)."""
    rounds = list(rounds)
    if not rounds:
        return []
    ids = tuple(sorted(r.id for r in rounds))
    if now is None:  # as of now: kept between writes (services.figures_cache), a minute at most
        counts = cached(("round-counts", ids), lambda: _round_counts(ids, utcnow()))
    else:
        counts = _round_counts(ids, now)
    result = []
    for rnd in rounds:
        invited, submitted, overdue = counts.get(rnd.id, (0, 0, 0))
        result.append(RoundSummary(**RoundHeader.of(rnd), invited=invited, submitted=submitted,
                                   overdue=int(overdue)))
    return result


def _round_counts(ids, now) -> dict:
    """{round id: (invited, submitted, overdue)} in one GROUP BY."""
    rows = db.session.execute(
        select(Invitation.round_id, func.count(Invitation.id), func.count(Response.id),
               func.coalesce(func.sum(case((and_(Response.id.is_(None), Invitation.expires_at <= now), 1),
                                           else_=0)), 0))
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Invitation.round_id.in_(ids)).group_by(Invitation.round_id)).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def rounds_of_project(project):
    return db.session.scalars(select(SurveyRound).where(SurveyRound.project_id == project.id)
                              .order_by(SurveyRound.quarter.desc(), SurveyRound.id.desc())).all()


def open_rounds_stmt(today):
    """Rounds still collecting answers: not closed and not past their due date."""
    return select(SurveyRound).where(SurveyRound.closed_at.is_(None), SurveyRound.due_date >= today)


def projects_lacking_round(pm, quarter):
    """The PM's active projects without a round in ``quarter`` (DESIGN §3)."""
    has_round = select(SurveyRound.id).where(SurveyRound.project_id == Project.id,
                                             SurveyRound.quarter == quarter).exists()
    return db.session.scalars(select(Project).where(
        Project.pm_id == pm.id, Project.status == "active", ~has_round).order_by(Project.code)).all()


def rounds_page(scope, *, quarter=None, page=1, per_page=20):
    """A page of rounds whose project matches ``scope`` (services.scope.project_scope), newest first,
    with their summaries: ``(pagination, summaries)``."""
    stmt = (select(SurveyRound).join(Project, Project.id == SurveyRound.project_id).where(scope)
            .options(contains_eager(SurveyRound.project).joinedload(Project.client))
            .order_by(SurveyRound.quarter.desc(), Project.code, SurveyRound.id.desc()))
    if quarter:
        stmt = stmt.where(SurveyRound.quarter == quarter)
    pagination = db.paginate(stmt, page=max(page or 1, 1), per_page=per_page, max_per_page=100,
                             error_out=False, count=True)
    return pagination, round_summaries(pagination.items)


def round_quarters(scope):
    """The quarters that have rounds visible under ``scope``, newest first."""
    return db.session.scalars(select(SurveyRound.quarter).join(Project, Project.id == SurveyRound.project_id)
                              .where(scope).distinct().order_by(SurveyRound.quarter.desc())).all()


def pm_overview(pm, now=None):
    """For a PM's home page: active projects lacking this quarter's round, and open rounds."""
    today = local_today(now)
    quarter = quarter_of(today)
    rounds = db.session.scalars(
        open_rounds_stmt(today).join(Project, Project.id == SurveyRound.project_id)
        .options(contains_eager(SurveyRound.project).joinedload(Project.client))
        .where(Project.pm_id == pm.id).order_by(SurveyRound.due_date, Project.code)).all()
    return {"quarter": quarter, "missing": projects_lacking_round(pm, quarter),
            "open_rounds": round_summaries(rounds, now)}


def outbox_page(pm, round_id=None, page=1, per_page=20):
    """A page of the messages of ``pm``'s rounds (only round ``round_id``'s if given), newest first,
    each with its invitation, contact, round and project loaded in the same statement."""
    invitation = contains_eager(OutboxMessage.invitation)
    stmt = (select(OutboxMessage).join(Invitation, Invitation.id == OutboxMessage.invitation_id)
            .join(SurveyRound, SurveyRound.id == Invitation.round_id)
            .join(Project, Project.id == SurveyRound.project_id)
            .where(Project.pm_id == pm.id)
            .options(invitation.joinedload(Invitation.contact),
                     invitation.contains_eager(Invitation.round).contains_eager(SurveyRound.project))
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()))
    if round_id:
        stmt = stmt.where(SurveyRound.id == round_id)
    return db.paginate(stmt, page=max(page or 1, 1), per_page=per_page, max_per_page=100,
                       error_out=False, count=True)


def outbox_waiting(pm) -> int:
    """Messages of the PM's rounds waiting for the PM to copy and send, whose links still work."""
    return db.session.scalar(
        select(func.count(OutboxMessage.id))
        .join(Invitation, Invitation.id == OutboxMessage.invitation_id)
        .join(SurveyRound, SurveyRound.id == Invitation.round_id)
        .join(Project, Project.id == SurveyRound.project_id)
        .where(Project.pm_id == pm.id, OutboxMessage.status.in_(("outbox", "failed")),
               Invitation.used_at.is_(None), Invitation.expires_at > utcnow(),
               SurveyRound.closed_at.is_(None))) or 0
