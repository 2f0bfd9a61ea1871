"""PM quarterly questionnaire rounds (DESIGN §4.1): open a round, issue links, follow it.

A client link is a 256-bit token of which only the SHA-256 is stored. The raw token
exists only at the moment of issue, so anything that must show or send a link
issues a fresh one (``reissue_link``): the previous link of that invitation stops
working. Invitations expire at the end of the round's due date, local time.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Optional
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select

from ..extensions import db
from ..models import Contact, Invitation, Project, Response, SurveyRound, TemplateVersion
from ..models.base import utcnow
from . import DomainError
from .answers import parse_answers
from .audit import record_change, record_event
from .quarters import parse_quarter, quarter_bounds, quarter_of
from .responses import AlreadySubmitted, submit_response
from .tokens import new_token

DEFAULT_TIMEZONE = "Asia/Shanghai"
#: per-invitation states, in the order a contact moves through them
STATES = ("not_sent", "sent", "opened", "draft", "submitted", "overdue", "opted_out")


class AnswersInvalid(DomainError):
    """A typed-in paper form has missing or unacceptable answers (``errors``: code → message)."""

    def __init__(self, errors):
        super().__init__(_l("Some answers are missing or not valid."))
        self.errors = errors


# --- time ------------------------------------------------------------------------------------

def _zone():
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def local_today(now: Optional[datetime] = None) -> date:
    """Today's date where the company works (``now``: naive UTC)."""
    now = now or utcnow()
    return now.replace(tzinfo=timezone.utc).astimezone(_zone()).date()


def expiry_for(due_date: date) -> datetime:
    """The end of ``due_date`` (23:59:59 local time) as naive UTC: when the round's links die."""
    local = datetime.combine(due_date, time(23, 59, 59), tzinfo=_zone())
    return local.astimezone(timezone.utc).replace(tzinfo=None)


# --- links -----------------------------------------------------------------------------------

def _survey_path(token):
    if "survey.open_link" not in current_app.view_functions:
        return f"/s/{token}"
    if has_request_context():
        return url_for("survey.open_link", token=token)
    adapter = current_app.url_map.bind("localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    return adapter.build("survey.open_link", {"token": token})


def survey_link(token: str) -> str:
    """The absolute URL a client opens: PUBLIC_BASE_URL + path when set, else this site's own."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + _survey_path(token)
    if not (has_request_context() or current_app.config.get("SERVER_NAME")):
        raise DomainError(_l("Set PUBLIC_BASE_URL so that links sent to clients carry the site's address."))
    if "survey.open_link" in current_app.view_functions:
        return url_for("survey.open_link", token=token, _external=True)
    return url_for("main.home", _external=True).rstrip("/") + f"/s/{token}"


LINK_PROBLEMS = {
    "answered": _l("This contact has already answered; the link is no longer needed."),
    "opted_out": _l("This contact asked not to receive questionnaires."),
    "closed": _l("This round is closed."),
    "expired": _l("The round's due date has passed; the link has expired."),
}


def link_problem(invitation, now=None) -> Optional[str]:
    """Why no link can be issued for ``invitation`` now (a key of LINK_PROBLEMS), or None if one can."""
    now = now or utcnow()
    if invitation.used_at is not None or invitation.response is not None:
        return "answered"
    if invitation.contact.opted_out:
        return "opted_out"
    if invitation.round.closed_at is not None:
        return "closed"
    if invitation.expires_at <= now:
        return "expired"
    return None


def prepare_link(invitation, now=None):
    """A fresh (token, token_hash) for ``invitation``, not applied yet; DomainError if none may be issued."""
    problem = link_problem(invitation, now or utcnow())
    if problem is not None:
        raise DomainError(LINK_PROBLEMS[problem])
    return new_token()


def apply_link(invitation, token_hash, *, by_user=None, reason="copy", now=None):
    """Make ``token_hash`` the invitation's only valid link (earlier links stop working); audited."""
    invitation.token_hash = token_hash
    invitation.link_issued_at = now or utcnow()
    db.session.flush()
    record_event("link_issued", invitation, user=by_user,
                 detail={"round": invitation.round_id, "contact": invitation.contact_id, "reason": reason})


def reissue_link(invitation, *, by_user=None, reason="copy", now=None) -> str:
    """A fresh token for ``invitation`` (the raw token, to show or send now; never stored).

    The stored hash is replaced, so every link issued before stops working.
    """
    if by_user is not None:
        _check_runner(invitation.round.project, by_user)
    token, token_hash = prepare_link(invitation, now)
    apply_link(invitation, token_hash, by_user=by_user, reason=reason, now=now)
    return token


# --- opening a round -------------------------------------------------------------------------

def selectable_versions(prefer_language=None):
    """Current versions of the pm_quarterly templates a new round may use; those in
    ``prefer_language`` first, so the form pre-selects one in the PM's own language."""
    from .questionnaires import current_versions
    versions = current_versions("pm_quarterly")
    return sorted(versions, key=lambda v: v.template.language != prefer_language)


def _check_runner(project, by_user):
    if by_user is None or not by_user.has_role("pm") or project.pm_id != by_user.id:
        raise DomainError(_l("Only the project's project manager can run its questionnaire rounds."))


def _check_contacts(project, contacts, existing=()):
    """The contacts, de-duplicated, checked against the rules; DomainError on field 'contacts'."""
    unique = list({c.id: c for c in contacts}.values())
    if not unique:
        raise DomainError(_l("Pick at least one contact."), field="contacts")
    foreign = [c.name for c in unique if c.client_id != project.client_id]
    if foreign:
        raise DomainError(_l("Not a contact of this project's client: %(names)s",
                             names=", ".join(foreign)), field="contacts")
    opted_out = [c.name for c in unique if c.opted_out]
    if opted_out:
        raise DomainError(_l("These contacts asked not to receive questionnaires: %(names)s",
                             names=", ".join(opted_out)), field="contacts")
    already = [c.name for c in unique if c.id in existing]
    if already:
        raise DomainError(_l("Already invited in this round: %(names)s", names=", ".join(already)),
                          field="contacts")
    return unique


def _new_invitations(rnd, contacts):
    expires_at = expiry_for(rnd.due_date)
    invitations = []
    for contact in contacts:
        # the raw token is thrown away: a link is issued when the invitation is sent or shown
        invitations.append(Invitation(round=rnd, contact=contact, token_hash=new_token()[1],
                                      expires_at=expires_at))
    db.session.add_all(invitations)
    return invitations


def open_round(project, quarter, version, contacts, due_date=None, by_user=None, *, today=None):
    """Open a questionnaire round for ``project`` with one invitation per contact.

    ``due_date`` defaults to the quarter's last day. ``today``: when given (the PM's
    form), a due date before it is refused; loading past rounds leaves it out.
    """
    _check_runner(project, by_user)
    try:
        parse_quarter(quarter)
    except ValueError:
        raise DomainError(_l("Write the quarter as 2026Q4."), field="quarter") from None
    first, last = quarter_bounds(quarter)
    if version is None or version.template.kind != "pm_quarterly":
        raise DomainError(_l("Pick a PM quarterly questionnaire."), field="version")
    if version.id not in {v.id for v in selectable_versions()}:
        raise DomainError(_l("Pick the current version of a questionnaire that is in use."), field="version")
    due_date = due_date or last
    if due_date < first:
        raise DomainError(_l("The due date cannot be before the quarter starts (%(day)s).",
                             day=first.isoformat()), field="due_date")
    if today is not None and due_date < today:
        raise DomainError(_l("The due date cannot be in the past."), field="due_date")
    contacts = _check_contacts(project, contacts)
    rnd = SurveyRound(project=project, quarter=quarter, template_version=version, due_date=due_date,
                      created_by=by_user)
    db.session.add(rnd)
    _new_invitations(rnd, contacts)
    db.session.flush()
    record_change("create", rnd, after={
        "project": project.id, "quarter": quarter, "template_version": version.id,
        "due_date": due_date.isoformat(), "contacts": [c.id for c in contacts]})
    return rnd


def add_contacts_to_round(rnd, contacts, by_user):
    """Invite more contacts to an open round."""
    _check_runner(rnd.project, by_user)
    if rnd.closed_at is not None:
        raise DomainError(_l("This round is closed."))
    contacts = _check_contacts(rnd.project, contacts, existing={i.contact_id for i in rnd.invitations})
    invitations = _new_invitations(rnd, contacts)
    db.session.flush()
    record_event("update", rnd, user=by_user, detail={"added_contacts": [c.id for c in contacts]})
    return invitations


def close_round(rnd, by_user, now=None):
    """No more answers: every link of the round stops working."""
    _check_runner(rnd.project, by_user)
    if rnd.closed_at is None:
        rnd.closed_at = now or utcnow()
        db.session.flush()
        record_change("update", rnd, before={"closed_at": None}, after={"closed_at": rnd.closed_at})
    return rnd


# --- following a round -----------------------------------------------------------------------

def invitation_state(invitation, now=None) -> str:
    """Where one contact stands: submitted, opted out, overdue, draft, opened, sent or not sent."""
    now = now or utcnow()
    if invitation.used_at is not None or invitation.response is not None:
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
    for inv in rnd.invitations:
        state = invitation_state(inv, now)
        response = inv.response
        status.rows.append(InvitationRow(
            inv.id, inv.contact_id, inv.contact.name, inv.contact.function, inv.contact.email,
            inv.contact.language, state, inv.sent_count, inv.reminded_count, inv.last_sent_at,
            inv.link_issued_at, inv.opened_at, inv.draft_saved_at,
            response.submitted_at if response else None, response.id if response else None,
            response.channel if response else None, link_problem(inv, now) is None))
        status.counts[state] = status.counts.get(state, 0) + 1
    return status


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
    now = now or utcnow()
    ids = [r.id for r in rounds]
    rows = db.session.execute(
        select(Invitation.round_id, func.count(Invitation.id), func.count(Response.id),
               func.coalesce(func.sum(case((and_(Response.id.is_(None), Invitation.expires_at <= now), 1),
                                           else_=0)), 0))
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Invitation.round_id.in_(ids)).group_by(Invitation.round_id)).all()
    counts = {row[0]: row[1:] for row in rows}
    result = []
    for rnd in rounds:
        invited, submitted, overdue = counts.get(rnd.id, (0, 0, 0))
        result.append(RoundSummary(**RoundHeader.of(rnd), invited=invited, submitted=submitted,
                                   overdue=int(overdue)))
    return result


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


def current_quarter(now=None) -> str:
    return quarter_of(local_today(now))


# --- paper forms -----------------------------------------------------------------------------

def enter_paper_response(invitation, data, by_user, *, scan=None, now=None):
    """Record a returned paper form for ``invitation`` as typed in by the project's PM.

    ``scan``: a checked upload (services.uploads.read_scan) stored with the response.
    Raises AnswersInvalid for bad answers, AlreadySubmitted if the contact already answered.
    """
    rnd = invitation.round
    _check_runner(rnd.project, by_user)
    if invitation.used_at is not None or invitation.response is not None:
        raise AlreadySubmitted(_l("This contact's questionnaire has already been submitted."))
    if rnd.closed_at is not None:
        raise DomainError(_l("This round is closed."))
    version = rnd.template_version
    parsed = parse_answers(version, data, complete=True)
    if not parsed.ok:
        raise AnswersInvalid(parsed.errors)
    try:
        response = submit_response(version, parsed, channel="paper", project=rnd.project,
                                   invitation=invitation, round=rnd, contact=invitation.contact,
                                   entered_by=by_user, submitted_at=now)
    except AlreadySubmitted:
        raise AlreadySubmitted(_l("This contact's questionnaire has already been submitted.")) from None
    record_event("paper_entered", response, user=by_user,
                 detail={"invitation": invitation.id, "round": rnd.id, "scan": scan is not None})
    if scan is not None:
        from .uploads import store_scan
        store_scan(response, scan, by_user)
    db.session.flush()
    return response


def contacts_for_round_form(project):
    """The project's client's contacts, opted-out ones included (the form shows them disabled)."""
    return db.session.scalars(select(Contact).where(Contact.client_id == project.client_id)
                              .order_by(Contact.name)).all()


def version_by_id(version_id):
    return db.session.get(TemplateVersion, version_id) if version_id else None


# --- lists -----------------------------------------------------------------------------------

def rounds_page(scope, *, quarter=None, page=1, per_page=20):
    """A page of rounds whose project matches ``scope`` (authz.project_scope), newest first,
    with their summaries: ``(pagination, summaries)``."""
    stmt = (select(SurveyRound).join(Project, Project.id == SurveyRound.project_id).where(scope)
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
        .where(Project.pm_id == pm.id).order_by(SurveyRound.due_date, Project.code)).all()
    return {"quarter": quarter, "missing": projects_lacking_round(pm, quarter),
            "open_rounds": round_summaries(rounds, now)}


# --- one response ----------------------------------------------------------------------------

@dataclass
class AnswerRow:
    number: int
    code: str
    text: str
    dimension: Optional[str]
    answer: Optional[str]       # what was chosen or written, as the form showed it
    raw_value: Optional[float]
    normalized: Optional[float]
    is_na: bool


def answer_rows(response) -> list:
    """The response's answers in question order, unanswered questions included (answer None)."""
    version = response.template_version
    by_question = {a.question_id: a for a in response.answers}
    language = version.template.language
    rows = []
    for number, question in enumerate(version.questions, start=1):
        answer = by_question.get(question.id)
        shown = None
        if answer is not None and not answer.is_na:
            if answer.text_value is not None:
                shown = answer.text_value
            elif answer.raw_value is not None:
                shown = f"{answer.raw_value:g}"
                scale = question.scale
                if scale is not None and scale.style == "labels":
                    option = next((o for o in scale.options if o.value == answer.raw_value), None)
                    if option is not None:
                        label = option.label_zh if language == "zh" else option.label_en
                        shown = f"{label} ({shown})"
        rows.append(AnswerRow(number, question.code, question.text, question.dimension, shown,
                              answer.raw_value if answer else None, answer.normalized if answer else None,
                              bool(answer and answer.is_na)))
    return rows
