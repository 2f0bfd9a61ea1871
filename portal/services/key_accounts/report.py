"""What a key account's service report shows the client (DESIGN §4.9, §7): for one quarter and
only that client's data — the responses on its projects with their scores (DESIGN §5, the one
method; every form answered in the quarter: questionnaires, visits, callback forms and complaint
checks, each listed with its form), its complaints and their outcomes, the follow-ups opened on its projects, and the
callbacks made (the tickets' and the account's relationship calls).

Plain frozen dataclasses holding codes, dates and unrounded figures; the PDF
(``services.pdf.key_account_report``) turns them into labels in the report's language. A fixed
number of statements, whatever the number of projects, responses or calls.

The report goes to the client, so it leaves out what is internal to the company: staff notes
(call-attempt notes, follow-up contact notes, complaint event notes), the investigation
(findings, company fault, the responsible employee), the proposed remedy text and any internal
penalty (a remedy of kind ``penalty`` is not shown at all), compensation amounts (the client's
notification says what it was told), escalations and their answers, owners, departments,
agents and who entered or verified a form, the complaint's own description (it may name staff
or hold internal wording; its reference identifies it to the client), phone numbers and IP
addresses. Rejected responses (judged not authentic by the quality department) are left out,
as elsewhere (``improvement.figures``); responses not verified yet are shown.
"""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Optional

from sqlalchemy import and_, func, or_, select

from ...extensions import db
from ...models import (DIMENSIONS, Answer, CallAttempt, CallbackTask, Client, Complaint, ComplaintSurvey,
                       Contact, FollowUp, Project, Question, Response, ServiceCase, Template,
                       TemplateVersion, User)
from ..quarters import parse_quarter, portal_zone, quarter_bounds
from ..scoring import ScoreSummary, response_score, summarize

#: the team's roles in the order the cover lists them (models.key_account.TEAM_ROLES)
TEAM_ORDER = ("pm", "service_contact", "engineer", "sales")
#: remedies the client is told of; an internal penalty is the company's own business
CLIENT_REMEDIES = ("apology", "compensation", "rework")


@dataclass(frozen=True)
class TeamMember:
    role: str                        # pm | service_contact | engineer | sales
    name: str


@dataclass(frozen=True)
class ProjectLine:
    code: str
    name: str


@dataclass(frozen=True)
class ResponseLine:
    submitted_at: datetime           # naive UTC
    project_code: str
    project_name: str
    form_kind: str                   # pm_quarterly | sales_visit | callback | complaint_followup
    channel: str
    respondent: Optional[str]        # the contact's name, None when not on file
    score: Optional[float]           # s_r on 1–5, None when nothing was scored
    comment: Optional[str]


@dataclass(frozen=True)
class DimensionScore:
    dimension: str                   # models.questionnaire.DIMENSIONS
    summary: ScoreSummary


@dataclass(frozen=True)
class ComplaintLine:
    reference: str
    registered_at: datetime
    closed_at: Optional[datetime]
    project_code: Optional[str]
    channel: str
    direction: Optional[str]         # settings codes (problems.directions / problems.types)
    problem_type: Optional[str]
    state: str
    told_at: Optional[datetime]      # when the client was told the outcome
    outcome: Optional[str]           # what the client was told (or why it was judged invalid)
    remedy_kind: Optional[str]       # apology | compensation | rework; never penalty
    check_score: Optional[float]     # the check on the handling, once answered


@dataclass(frozen=True)
class FollowUpLine:
    opened_at: datetime
    project_code: str
    project_name: str
    state: str
    direction: Optional[str]
    problem_type: Optional[str]
    triggers: tuple                  # (reason, question, answer): the client's own answers that opened it
    cause: Optional[str]
    corrective_action: Optional[str]
    preventive_action: Optional[str]
    resolved_at: Optional[datetime]


@dataclass(frozen=True)
class CallbackLine:
    called_at: datetime              # the last attempt of the period
    kind: str                        # ticket | relationship
    ticket: Optional[str]            # the case's external id (ticket calls)
    project_code: str
    person: Optional[str]            # whom the desk called: the ticket's reporter or the contact
    outcome: str                     # of that attempt (models.callback.ATTEMPT_OUTCOMES)
    attempts: int                    # attempts in the period
    score: Optional[float]           # the callback form's score, once recorded


@dataclass(frozen=True)
class ServiceReport:
    key_account_id: int
    client_name: str
    quarter: str
    first_day: date
    last_day: date
    language: str                    # zh | en: the report's language
    team: tuple                      # TeamMember, in TEAM_ORDER, those named
    projects: tuple                  # ProjectLine
    responses: tuple                 # ResponseLine, oldest first
    overall: ScoreSummary            # over the responses' s_r (the whole form)
    dimensions: tuple                # DimensionScore, in DIMENSIONS order, those answered
    complaints: tuple                # ComplaintLine
    followups: tuple                 # FollowUpLine
    callbacks: tuple                 # CallbackLine


def _utc_midnight(day: date) -> datetime:
    """Local midnight starting ``day``, as naive UTC (how timestamps are stored)."""
    local = datetime.combine(day, time.min, tzinfo=portal_zone())
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def _within(column, start, end):
    return and_(column >= start, column < end)


def _team(account) -> tuple:
    ids = {role: getattr(account, f"{role}_id") for role in TEAM_ORDER}
    names = dict(db.session.execute(
        select(User.id, User.display_name).where(User.id.in_([i for i in ids.values() if i]))).all())
    return tuple(TeamMember(role, names[i]) for role, i in ids.items() if i in names)


def _counted(client_projects, quarter):
    """The responses the report counts: on the client's projects, of the quarter, not rejected."""
    return and_(Response.project_id.in_(client_projects), Response.quarter == quarter,
                Response.verification_status != "rejected")


def _responses(client_projects, quarter) -> tuple:
    rows = db.session.execute(
        select(Response.submitted_at, Project.code, Project.name, Template.kind, Response.channel,
               Contact.name, Response.score, Response.comment)
        .join(Project, Project.id == Response.project_id)
        .join(TemplateVersion, TemplateVersion.id == Response.template_version_id)
        .join(Template, Template.id == TemplateVersion.template_id)
        .outerjoin(Contact, Contact.id == Response.contact_id)
        .where(_counted(client_projects, quarter))
        .order_by(Response.submitted_at, Response.id))
    return tuple(ResponseLine(submitted_at=at, project_code=code, project_name=name, form_kind=kind,
                              channel=channel, respondent=respondent, score=score, comment=comment or None)
                 for at, code, name, kind, channel, respondent, score, comment in rows)


def _dimensions(client_projects, quarter) -> tuple:
    """Per dimension: s_r = the mean of r's normalized answers in it; then summarize (DESIGN §5)."""
    per_response = defaultdict(lambda: defaultdict(list))
    for response_id, dimension, value in db.session.execute(
            select(Answer.response_id, Question.dimension, Answer.normalized)
            .join(Question, Question.id == Answer.question_id)
            .join(Response, Response.id == Answer.response_id)
            .where(_counted(client_projects, quarter), Question.dimension.is_not(None),
                   Answer.normalized.is_not(None))):
        per_response[dimension][response_id].append(value)
    return tuple(DimensionScore(d, summarize(response_score(v) for v in per_response[d].values()))
                 for d in DIMENSIONS if d in per_response)


def _complaints(account, client_projects, start, end) -> tuple:
    ours = and_(or_(Complaint.client_id == account.client_id, Complaint.project_id.in_(client_projects)),
                or_(_within(Complaint.created_at, start, end), _within(Complaint.closed_at, start, end)))
    complaints = db.session.execute(
        select(Complaint.id, Complaint.reference, Complaint.created_at, Complaint.closed_at, Project.code,
               Complaint.channel, Complaint.direction, Complaint.problem_type, Complaint.state,
               Complaint.notified_at, Complaint.notification, Complaint.invalid_reason, Complaint.remedy_kind)
        .outerjoin(Project, Project.id == Complaint.project_id)
        .where(ours).order_by(Complaint.created_at, Complaint.id)).all()
    # the latest answered check of each complaint (one per closing)
    checks = dict(db.session.execute(
        select(ComplaintSurvey.complaint_id, Response.score)
        .join(Response, Response.id == ComplaintSurvey.response_id)
        .where(ComplaintSurvey.complaint_id.in_(select(Complaint.id).where(ours)),
               Response.verification_status != "rejected")
        .order_by(ComplaintSurvey.complaint_id, ComplaintSurvey.closing)).all())
    lines = []
    for (cid, reference, created_at, closed_at, project_code, channel, direction, problem_type, state,
         notified_at, notification, invalid_reason, remedy_kind) in complaints:
        told = state in ("notified", "closed") or notified_at is not None
        outcome = invalid_reason if state == "invalid" else notification if told else None
        lines.append(ComplaintLine(
            reference=reference, registered_at=created_at, closed_at=closed_at, project_code=project_code,
            channel=channel, direction=direction, problem_type=problem_type, state=state,
            told_at=notified_at, outcome=outcome or None,
            remedy_kind=remedy_kind if told and remedy_kind in CLIENT_REMEDIES else None,
            check_score=checks.get(cid)))
    return tuple(lines)


def _followups(client_projects, start, end) -> tuple:
    rows = db.session.execute(
        select(FollowUp.created_at, Project.code, Project.name, FollowUp.state, FollowUp.direction,
               FollowUp.problem_type, FollowUp.triggers, FollowUp.cause, FollowUp.corrective_action, FollowUp.preventive_action,
               FollowUp.resolved_at)
        .join(Project, Project.id == FollowUp.project_id)
        .where(FollowUp.project_id.in_(client_projects), _within(FollowUp.created_at, start, end))
        .order_by(FollowUp.created_at, FollowUp.id))
    return tuple(FollowUpLine(opened_at=at, project_code=code, project_name=name, state=state,
                              direction=direction, problem_type=problem_type,
                              triggers=tuple((t.get("reason"), t.get("question"), t.get("answer"))
                                             for t in triggers or ()),
                              cause=cause or None,
                              corrective_action=corrective or None, preventive_action=preventive or None,
                              resolved_at=resolved)
                 for at, code, name, state, direction, problem_type, triggers, cause, corrective, preventive,
                 resolved in rows)


def _callbacks(account, client_projects, start, end) -> tuple:
    """Calls with an attempt in the period: the client's tickets' and the account's own."""
    ours = or_(CallbackTask.key_account_id == account.id,
               and_(CallbackTask.kind == "ticket", CallbackTask.project_id.in_(client_projects)))
    ranked = (select(CallAttempt.task_id, CallAttempt.at, CallAttempt.outcome,
                     func.row_number().over(partition_by=CallAttempt.task_id,
                                            order_by=(CallAttempt.at.desc(), CallAttempt.id.desc()))
                     .label("position"),
                     func.count().over(partition_by=CallAttempt.task_id).label("attempts"))
              .join(CallbackTask, CallbackTask.id == CallAttempt.task_id)
              .where(ours, _within(CallAttempt.at, start, end))
              .subquery("period_attempts"))
    rows = db.session.execute(
        select(ranked.c.at, CallbackTask.kind, ServiceCase.external_id, Project.code, ServiceCase.reporter,
               Contact.name, ranked.c.outcome, ranked.c.attempts, Response.score)
        .select_from(ranked)
        .join(CallbackTask, CallbackTask.id == ranked.c.task_id)
        .join(Project, Project.id == CallbackTask.project_id)
        .outerjoin(ServiceCase, ServiceCase.id == CallbackTask.case_id)
        .outerjoin(Contact, Contact.id == CallbackTask.contact_id)
        .outerjoin(Response, and_(Response.id == CallbackTask.response_id,
                                  Response.verification_status != "rejected"))
        .where(ranked.c.position == 1)
        .order_by(ranked.c.at, CallbackTask.id))
    return tuple(CallbackLine(called_at=at, kind=kind, ticket=ticket, project_code=code,
                              person=reporter if kind == "ticket" else contact, outcome=outcome,
                              attempts=attempts, score=score)
                 for at, kind, ticket, code, reporter, contact, outcome, attempts, score in rows)


def service_report(account, quarter: str) -> ServiceReport:
    """The service report of ``account`` (a KeyAccount) for ``quarter`` ('2026Q4'; ValueError for
    anything else), holding only that client's data."""
    parse_quarter(quarter)
    first, last = quarter_bounds(quarter)
    start, end = _utc_midnight(first), _utc_midnight(last + timedelta(days=1))
    client_name = db.session.scalar(select(Client.name).where(Client.id == account.client_id))
    client_projects = select(Project.id).where(Project.client_id == account.client_id)
    projects = tuple(ProjectLine(code, name) for code, name in db.session.execute(
        select(Project.code, Project.name).where(Project.client_id == account.client_id).order_by(Project.code)))
    responses = _responses(client_projects, quarter)
    return ServiceReport(
        key_account_id=account.id, client_name=client_name, quarter=quarter, first_day=first, last_day=last,
        language=account.report_language or "zh", team=_team(account), projects=projects,
        responses=responses, overall=summarize(r.score for r in responses),
        dimensions=_dimensions(client_projects, quarter),
        complaints=_complaints(account, client_projects, start, end),
        followups=_followups(client_projects, start, end),
        callbacks=_callbacks(account, client_projects, start, end))
