"""Registering a complaint from any channel (DESIGN §4.7.1): checked, numbered TS-<year>-<5 digits>,
its clocks started, the quality desk (and at once the executives for a major one) told, and the
complainant acknowledged by e-mail when an address is known."""
import re

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import COMPLAINT_CHANNELS, CallbackTask, Client, Complaint, ComplaintEvent, Contact, Project
from ...models.base import utcnow
from .. import DomainError
from ..audit import record_event
from ..followups.transitions import escalation_recipients
from ..notifications import notify, notify_role
from ..quarters import local_date
from ..settings import get_setting
from ..working_days import CalendarUnknown
from .clock import add_working_hours, local_time
from .evidence import store_evidence
from .messages import ACKNOWLEDGEMENT, link_of, queue_to_complainant, text_for

DESCRIPTION_MAX = 4000
REFERENCE = re.compile(r"^TS-(\d{4})-(\d{5})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ATTEMPTS = 5


def _codes(setting):
    return {item["code"] for item in get_setting(setting)}


def _get(model, value):
    if value is None or isinstance(value, model):
        return value
    found = db.session.get(model, value)
    if found is None:
        raise DomainError(_("Not found."))
    return found


def _clean(value, limit, field):
    value = (value or "").strip()
    if len(value) > limit:
        raise DomainError(_("At most %(n)d characters.", n=limit), field=field)
    return value or None


def next_reference(year: int) -> str:
    """The next free reference of ``year`` (the highest one so far, plus one)."""
    prefix = f"TS-{year}-"
    last = db.session.scalar(select(Complaint.reference).where(Complaint.reference.like(prefix + "%"))
                             .order_by(Complaint.reference.desc()).limit(1))
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:05d}"


def register_complaint(*, channel, description, by_user=None, contact=None, complainant_name=None,
                       complainant_phone=None, complainant_email=None, client=None, project=None,
                       direction=None, problem_type=None, major=False, response=None, evidence=(),
                       language=None, now=None) -> Complaint:
    """Check and record a complaint; DomainError (with its field) when something is wrong.
    ``by_user`` None only for the public form (channel ``web_form``). ``evidence``: uploads read
    by ``evidence.read_evidence``. ``language``: what a complainant not on file writes in (their
    acknowledgement and later messages use it; a contact's own language wins). Flushes; the
    caller commits."""
    if channel not in COMPLAINT_CHANNELS:
        raise DomainError(_("Choose the channel the complaint came through."), field="channel")
    if by_user is None and channel != "web_form":
        raise PermissionError("only the public form registers a complaint without a staff member")
    text = (description or "").strip()
    if not text:
        raise DomainError(_("Describe the complaint."), field="description")
    if len(text) > DESCRIPTION_MAX:
        raise DomainError(_("At most %(n)d characters.", n=DESCRIPTION_MAX), field="description")
    contact, client, project = _get(Contact, contact), _get(Client, client), _get(Project, project)
    name = _clean(complainant_name, 120, "complainant_name")
    phone = _clean(complainant_phone, 40, "complainant_phone")
    email = _clean(complainant_email, 254, "complainant_email")
    if email is not None and not _EMAIL.match(email):
        raise DomainError(_("Enter a valid e-mail address."), field="complainant_email")
    if contact is None and not (name and (phone or email)):
        raise DomainError(_("Say who complains: a contact on file, or a name with a phone number or "
                            "an e-mail address."), field="complainant_name")
    if project is not None:
        if client is not None and client.id != project.client_id:
            raise DomainError(_("This project belongs to another client."), field="project")
        client = project.client
    if contact is not None:
        if client is not None and client.id != contact.client_id:
            raise DomainError(_("This contact belongs to another client."), field="contact")
        client = contact.client
    direction, problem_type = direction or None, problem_type or None
    if direction is not None and direction not in _codes("problems.directions"):
        raise DomainError(_("Choose a direction from the list."), field="direction")
    if problem_type is not None and problem_type not in _codes("problems.types"):
        raise DomainError(_("Choose a type from the list."), field="problem_type")

    now = now or utcnow()
    values = dict(channel=channel, description=text, state="registered", major=bool(major),
                  contact=contact, complainant_name=name, complainant_phone=phone, complainant_email=email,
                  complainant_language=language if language in current_app.config["LANGUAGES"] else None,
                  client=client, project=project, direction=direction, problem_type=problem_type,
                  response_id=response.id if response is not None else None,
                  registered_by_id=by_user.id if by_user else None, created_at=now)
    complaint = _insert_numbered(values, local_date(now).year)
    complaint.events.append(ComplaintEvent(at=now, actor_id=by_user.id if by_user else None, action="registered",
                                           from_state=None, to_state="registered", clock="start",
                                           detail={"channel": channel, "major": bool(major)}))
    for upload in evidence:
        store_evidence(complaint, upload, by_user)
    db.session.flush()
    record_event("complaint_registered", complaint, actor=by_user,
                 detail={"reference": complaint.reference, "channel": channel, "major": bool(major),
                         "response": complaint.response_id, "evidence": len(complaint.attachments)})
    _tell_desk(complaint, by_user)
    _acknowledge(complaint, now)
    return complaint


def _insert_numbered(values, year) -> Complaint:
    """Insert with the next reference; a concurrent registration that took it makes the unique
    constraint refuse ours: take the next one (in a savepoint, so nothing else is lost)."""
    for attempt in range(_ATTEMPTS):
        complaint = Complaint(reference=next_reference(year), **values)
        try:
            with db.session.begin_nested():
                db.session.add(complaint)
                db.session.flush()
            return complaint
        except IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def first_contact_deadline(complaint):
    """When the complainant must have been contacted (aware local time), or None while the
    calendar does not know the year."""
    try:
        return local_time(add_working_hours(complaint.created_at, get_setting("complaints.first_contact_hours")))
    except CalendarUnknown:
        return None


def _tell_desk(complaint, by_user):
    ref, link = complaint.reference, link_of(complaint)
    who = by_user.display_name if by_user else _("the public complaint form")
    notify_role("quality", "complaint_registered",
                lambda user: _("New complaint: %(ref)s", ref=ref),
                lambda user: _("Complaint %(ref)s was registered (%(who)s); accept it or judge it "
                               "invalid.", ref=ref, who=who), link=link)
    if complaint.major:
        for user in escalation_recipients():
            notify(user, "complaint_major",
                   text_for(user, lambda: _("Major complaint: %(ref)s", ref=ref)),
                   text_for(user, lambda: _("A complaint flagged major was registered: %(text)s",
                                            text=complaint.description[:300])), link=link)


def _acknowledgement(complaint, deadline):
    hours = get_setting("complaints.first_contact_hours")
    ref = complaint.reference
    if deadline is not None:
        limit = _("A member of our staff will contact you within %(hours)d working hours, by "
                  "%(deadline)s at the latest.", hours=hours, deadline=deadline.strftime("%Y-%m-%d %H:%M"))
    else:
        limit = _("A member of our staff will contact you within %(hours)d working hours.", hours=hours)
    return (_("Your complaint is registered: %(ref)s", ref=ref),
            _("Thank you for telling us. Your complaint is registered under the reference %(ref)s; "
              "please quote it whenever you contact us about it.", ref=ref) + "\n\n"
            + _("Next step: our quality desk checks the complaint and passes it to the department "
                "responsible.") + " " + limit)


def _acknowledge(complaint, now):
    deadline = first_contact_deadline(complaint)
    return queue_to_complainant(complaint, ACKNOWLEDGEMENT, lambda: _acknowledgement(complaint, deadline),
                                now=now)


# --- from a survey answer or a callback ------------------------------------------------------------

def complaint_of_response(response) -> Complaint | None:
    return db.session.scalar(select(Complaint).where(Complaint.response_id == response.id)
                             .order_by(Complaint.id).limit(1))


def _description_of(response):
    if (response.comment or "").strip():
        return response.comment.strip()
    from ..followups.opening import triggers_of
    parts = [f"{t['question']}: {t['answer']}"
             for t in triggers_of(response, get_setting("followup.low_score_threshold"))]
    return "\n".join(parts)


def complaint_from_response(response, by_user, *, now=None) -> Complaint:
    """One click: the response's comment or low scores become a complaint linked to it (a second
    click returns the same complaint)."""
    existing = complaint_of_response(response)
    if existing is not None:
        return existing
    if response.contact is None:
        raise DomainError(_("This response names no contact: register the complaint by hand."))
    description = _description_of(response)
    if not description:
        raise DomainError(_("This response has neither a comment nor a low score."))
    from_callback = db.session.scalar(select(CallbackTask.id).where(CallbackTask.response_id == response.id))
    return register_complaint(channel="callback" if from_callback else "survey",
                              description=description[:DESCRIPTION_MAX], by_user=by_user,
                              contact=response.contact, project=response.project, response=response,
                              now=now)


def projects_to_choose(complaint, limit=1000) -> list:
    """What the desk picks from when accepting a complaint that names no project: the client's
    projects when the client is known, else every project (the public form names none)."""
    if complaint.project_id is not None:
        return []
    client_id = complaint.client_id or (complaint.contact.client_id if complaint.contact else None)
    query = select(Project).order_by(Project.code).limit(limit)
    if client_id is not None:
        query = query.where(Project.client_id == client_id)
    return db.session.scalars(query).all()
