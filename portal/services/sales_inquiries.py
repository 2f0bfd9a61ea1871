"""Sales inquiries (DESIGN §3, §4.2): every project needs at least one sales inquiry in its
life, made after it completes or reaches a key milestone. This module decides which of a
sales owner's projects are due one, and records an inquiry with its ``sales_visit`` form
through ``submit_response`` (so the form gets its follow-up like every other channel).
"""
from dataclasses import dataclass, field
from datetime import date
from typing import Mapping, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import Contact, INQUIRY_MODES, InquiryContact, Project, Response, SalesInquiry, User
from ..models.base import utcnow
from . import DomainError
from .answers import AnswersInvalid, parse_answers
from .quarters import MIN_YEAR, local_today, quarter_of
from .responses import submit_response
from .scope import project_scope, records_inquiries

DESCRIPTION_LIMIT = 4000


class InquiryInvalid(DomainError):
    """Some fields of the inquiry are wrong; ``errors`` maps field name → message."""

    def __init__(self, errors):
        super().__init__(_l("Some fields of the inquiry are missing or not valid."))
        self.errors = errors


class AlreadyRecorded(DomainError):
    """This form was submitted before: ``inquiry`` is what it recorded."""

    def __init__(self, inquiry):
        super().__init__(_l("This inquiry was already recorded."))
        self.inquiry = inquiry


# --- what makes an inquiry due ---------------------------------------------------------------

@dataclass(frozen=True)
class InquiryTrigger:
    kind: str                  # "completion" or "milestone"
    on: Optional[date]         # when it happened (a completed project's end date may be unknown)
    milestone: object = None   # the key milestone, for kind "milestone"

    @property
    def key(self) -> str:
        """The form's value for this trigger: 'completion' or 'milestone:<id>'."""
        return "completion" if self.kind == "completion" else f"milestone:{self.milestone.id}"


def triggers_of(project) -> list:
    """What the sales owner may inquire after: each reached key milestone and the completion,
    latest first."""
    found = [InquiryTrigger("milestone", m.reached_date, m) for m in project.milestones
             if m.is_key and m.reached_date is not None]
    if project.status == "completed":
        found.append(InquiryTrigger("completion", project.end_date))
    return sorted(found, key=lambda t: (t.on or date.min, t.kind == "completion"), reverse=True)


def trigger_by_key(project, key) -> Optional[InquiryTrigger]:
    return next((t for t in triggers_of(project) if t.key == key), None)


@dataclass(frozen=True)
class InquiryHistory:
    """What a project's inquiries so far say about it (one grouped query for many projects)."""
    count: int = 0
    last_on: Optional[date] = None
    after_completion: bool = False


def _histories(project_ids) -> dict:
    if not project_ids:
        return {}
    rows = db.session.execute(
        select(SalesInquiry.project_id, func.count(SalesInquiry.id), func.max(SalesInquiry.inquired_on),
               func.max(case((SalesInquiry.trigger == "completion", 1), else_=0)))
        .where(SalesInquiry.project_id.in_(project_ids)).group_by(SalesInquiry.project_id)).all()
    return {pid: InquiryHistory(n, last, bool(completion)) for pid, n, last, completion in rows}


def uncovered_trigger(project, history: InquiryHistory) -> Optional[InquiryTrigger]:
    """The latest trigger no inquiry has answered yet (None: nothing due). An inquiry on or after
    a trigger's date answers it; a completion of unknown date, an inquiry made for the completion."""
    for trigger in triggers_of(project):
        if trigger.on is None:
            covered = history.after_completion
        else:
            covered = history.last_on is not None and history.last_on >= trigger.on
        if not covered:
            return trigger
        return None  # the latest trigger is answered, and with it every earlier one
    return None


def due_trigger(project) -> Optional[InquiryTrigger]:
    """What the project's sales owner should inquire after now, or None."""
    return uncovered_trigger(project, _histories([project.id]).get(project.id, InquiryHistory()))


def inquiry_due(project) -> bool:
    """Completed or a key milestone reached, and no inquiry since."""
    return due_trigger(project) is not None


@dataclass
class DueProject:
    project: Project
    trigger: InquiryTrigger
    history: InquiryHistory


@dataclass
class SalesOverview:
    due: list = field(default_factory=list)          # DueProject: triggered and not inquired since
    never: list = field(default_factory=list)        # not due yet and never inquired
    covered: int = 0                                 # inquired since their latest trigger
    suspended: list = field(default_factory=list)    # suspended, nothing due
    recent: list = field(default_factory=list)       # the owner's latest inquiries


def sales_overview(user, recent=8) -> SalesOverview:
    """The sales owner's projects sorted into due for an inquiry, never inquired, and the rest."""
    projects = db.session.scalars(
        select(Project).where(Project.sales_id == user.id).order_by(Project.code)
        .options(selectinload(Project.milestones), joinedload(Project.client))).all()
    histories = _histories([p.id for p in projects])
    overview = SalesOverview()
    for project in projects:
        history = histories.get(project.id, InquiryHistory())
        trigger = uncovered_trigger(project, history)
        if trigger is not None:
            overview.due.append(DueProject(project, trigger, history))
        elif project.status == "suspended":
            overview.suspended.append(project)
        elif history.count == 0:
            overview.never.append(project)
        else:
            overview.covered += 1
    overview.due.sort(key=lambda d: (d.trigger.on or date.min, d.project.code))
    overview.recent = db.session.scalars(
        _listing().where(SalesInquiry.sales_id == user.id).limit(recent)).all()
    return overview


# --- recording one ---------------------------------------------------------------------------

@dataclass
class InquiryInput:
    """The inquiry's own fields as the form gives them (the answers come separately)."""
    inquired_on: Optional[date]
    mode: Optional[str]
    trigger: Optional[str]             # InquiryTrigger.key
    contact_ids: list
    respondent_id: Optional[int]
    on_behalf: bool
    major_problem: bool
    major_problem_description: Optional[str]
    submission_key: str


def channel_of(mode, on_behalf) -> str:
    """The response's channel: on_behalf when the sales owner typed in what was said, else how
    the client answered (the form filled in at a visit, on the phone, or returned by e-mail)."""
    return "on_behalf" if on_behalf else {"visit": "visit", "phone": "phone", "email": "email"}[mode]


def contacts_for_inquiry(project):
    """The people of the project's client the sales owner may have met (opted-out ones too:
    opting out of questionnaires does not stop a conversation)."""
    return db.session.scalars(select(Contact).where(Contact.client_id == project.client_id)
                              .order_by(Contact.name)).all()


def _check(project, data: InquiryInput, today) -> tuple:
    """(trigger, contacts, respondent) or InquiryInvalid with every wrong field."""
    errors = {}
    if data.inquired_on is None:
        errors["inquired_on"] = _l("Give the date of the inquiry.")
    elif data.inquired_on > today:
        errors["inquired_on"] = _l("The inquiry date cannot be in the future.")
    elif data.inquired_on.year < MIN_YEAR:
        errors["inquired_on"] = _l("Give a date from %(year)s on.", year=MIN_YEAR)
    if data.mode not in INQUIRY_MODES:
        errors["mode"] = _l("Say how the inquiry was made.")
    trigger = trigger_by_key(project, data.trigger)
    if trigger is None:
        errors["trigger"] = _l("Say what the inquiry follows: the completion or a key milestone reached.")
    elif trigger.on is not None and data.inquired_on is not None and data.inquired_on < trigger.on:
        errors["inquired_on"] = _l("The inquiry cannot be before what it follows (%(date)s).",
                                   date=trigger.on.isoformat())
    by_id = {c.id: c for c in contacts_for_inquiry(project)}
    contacts = [by_id[i] for i in dict.fromkeys(data.contact_ids) if i in by_id]
    respondent = by_id.get(data.respondent_id)
    if respondent is None:
        errors["respondent"] = _l("Say whose answers the form holds.")
    elif respondent not in contacts:
        contacts.insert(0, respondent)  # whoever answered was met
    if len(contacts) - (respondent is not None and respondent.id not in data.contact_ids) \
            != len(set(data.contact_ids)):
        errors["contacts"] = _l("Pick people of this project's client.")
    elif not contacts:
        errors["contacts"] = _l("Pick the client people you met or spoke to.")
    description = (data.major_problem_description or "").strip()
    if data.major_problem and not description:
        errors["major_problem_description"] = _l("Describe the major problem.")
    elif len(description) > DESCRIPTION_LIMIT:
        errors["major_problem_description"] = _l("At most %(n)d characters.", n=DESCRIPTION_LIMIT)
    if errors:
        raise InquiryInvalid(errors)
    return trigger, contacts, respondent


def record_inquiry(project, by_user, data: InquiryInput, answers: Mapping, *, version,
                   now=None) -> SalesInquiry:
    """Record an inquiry and its form in the caller's transaction: the project's sales owner
    only. InquiryInvalid / AnswersInvalid for wrong input (nothing stored), AlreadyRecorded if
    this ``submission_key`` was recorded before. A major problem goes to the executives at once."""
    from .major_problems import escalate_major_problem
    if not records_inquiries(by_user, project):
        raise PermissionError(f"{by_user!r} is not the sales owner of {project!r}")
    existing = inquiry_by_key(data.submission_key)
    if existing is not None:
        raise AlreadyRecorded(existing)
    if version is None or version.template.kind != "sales_visit":
        raise DomainError(_l("Pick the inquiry questionnaire."), field="version")
    now = now or utcnow()
    trigger, contacts, respondent = _check(project, data, local_today(now))
    parsed = parse_answers(version, answers, complete=True)
    if not parsed.ok:
        raise AnswersInvalid(parsed.errors)
    inquiry = SalesInquiry(
        project_id=project.id, sales_id=by_user.id, inquired_on=data.inquired_on, mode=data.mode,
        trigger=trigger.kind, milestone_id=trigger.milestone.id if trigger.milestone else None,
        on_behalf=bool(data.on_behalf), respondent_id=respondent.id,
        major_problem=bool(data.major_problem),
        major_problem_description=(data.major_problem_description or "").strip() or None,
        submission_key=data.submission_key, created_at=now,
        people_met=[InquiryContact(contact_id=c.id, function=c.function) for c in contacts])
    try:
        with db.session.begin_nested():
            db.session.add(inquiry)
            db.session.flush()
    except IntegrityError:  # the same form, submitted twice at once: the other one won
        existing = inquiry_by_key(data.submission_key)
        if existing is None:
            raise
        raise AlreadyRecorded(existing) from None
    submit_response(version, parsed, channel=channel_of(data.mode, data.on_behalf), project=project,
                    origin=inquiry, contact=respondent, entered_by=by_user, submitted_at=now,
                    quarter=quarter_of(data.inquired_on), audit_action="sales_inquiry_recorded",
                    audit_detail={"inquiry": inquiry.id, "mode": data.mode, "on_behalf": inquiry.on_behalf,
                                  "trigger": trigger.key, "major_problem": inquiry.major_problem})
    if inquiry.major_problem:
        escalate_major_problem(inquiry, by_user)
    return inquiry


def inquiry_by_key(key) -> Optional[SalesInquiry]:
    return db.session.scalar(select(SalesInquiry).where(SalesInquiry.submission_key == key)) if key else None


def inquiry_versions(prefer_language=None):
    """Current versions of the sales_visit templates, those in ``prefer_language`` first."""
    from .questionnaires import current_versions
    return sorted(current_versions("sales_visit"), key=lambda v: v.template.language != prefer_language)


# --- reading ---------------------------------------------------------------------------------

def _listing():
    return (select(SalesInquiry)
            .options(joinedload(SalesInquiry.project).joinedload(Project.client),
                     joinedload(SalesInquiry.sales).lazyload(User.role_rows),
                     joinedload(SalesInquiry.response).lazyload(Response.answers),  # lists show neither
                     joinedload(SalesInquiry.respondent))
            .order_by(SalesInquiry.inquired_on.desc(), SalesInquiry.id.desc()))


def inquiries_page(user, *, project_id=None, page=1, per_page=50):
    """One page of the inquiries of the projects ``user`` may see, newest first."""
    from .listing import paginate
    query = _listing().join(Project, SalesInquiry.project_id == Project.id).where(project_scope(user))
    if project_id:
        query = query.where(SalesInquiry.project_id == project_id)
    return paginate(query, page, per_page)


def inquiries_of_project(project):
    return db.session.scalars(_listing().where(SalesInquiry.project_id == project.id)).all()


def inquiry_of_response(response) -> Optional[SalesInquiry]:
    return db.session.scalar(select(SalesInquiry).where(SalesInquiry.response_id == response.id))
