"""An approved key account's programme (DESIGN §4.9): its named team (PM, customer-service
contact, on-site engineer, sales), its service plan (a text and/or a document) approved by an
executive with the agreement date, and its relationship-callback schedule (every N weeks, to a
contact, recorded on one of the client's projects). Changes are refused once the status was
withdrawn; each is audited with before/after; functions flush, the caller commits."""
import hashlib
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from ...extensions import db
from ...models import REPORT_LANGUAGES, Contact, Project, User
from ...models.base import utcnow
from .. import DomainError
from ..audit import record_change
from ..complaints.evidence import read_evidence, write_upload
from .rules import may_decide, may_manage

PLAN_TEXT_MAX = 20000
MAX_EVERY_WEEKS = 52
TEAM_FIELDS = ("pm_id", "service_contact_id", "engineer_id", "sales_id")
SCHEDULE_FIELDS = ("callback_every_weeks", "callback_starts_on", "callback_contact_id", "callback_project_id",
                   "report_language")
PLAN_FIELDS = ("plan_text", "plan_original_name", "plan_sha256", "plan_approved_by_id", "plan_agreed_on")


class ChangedMeanwhile(DomainError):
    """Someone else changed the account since it was loaded: reload and try again."""


def _snapshot(account, fields):
    return {f: (getattr(account, f).isoformat() if isinstance(getattr(account, f), date)
                else getattr(account, f)) for f in fields}


def _begin(account, actor, expected_version, *, check=may_manage):
    if not check(actor):
        raise PermissionError(f"{actor!r} may not change key account {account.id}")
    if not account.client.key_account:
        raise DomainError(_("This client is no longer a key account."))
    try:
        seen = int(expected_version)
    except (TypeError, ValueError):
        seen = None
    if seen != account.version:
        raise ChangedMeanwhile(_("This key account was changed meanwhile; reload it and try again."))


def _flush(account, action_fields, before, actor):
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise ChangedMeanwhile(_("This key account was changed meanwhile; reload it and try again.")) from None
    after = _snapshot(account, action_fields)
    if after != before:
        record_change("update", account, before, after, actor=actor)
    return account


def _user(value, field, role=None):
    if value in (None, ""):
        return None
    user = value if isinstance(value, User) else db.session.get(User, value)
    if user is None or not user.active:
        raise DomainError(_("Choose an active user."), field=field)
    if role is not None and not user.has_role(role):
        raise DomainError(_("Choose someone with that role."), field=field)
    return user


def set_team(account, *, actor, expected_version, pm=None, service_contact=None, engineer=None,
             sales=None):
    """Name the team: the PM must hold the PM role, sales the sales role; the customer-service
    contact and the engineer any active user. None leaves a place empty."""
    _begin(account, actor, expected_version)
    before = _snapshot(account, TEAM_FIELDS)
    chosen = {"pm_id": _user(pm, "pm", "pm"), "service_contact_id": _user(service_contact, "service_contact"),
              "engineer_id": _user(engineer, "engineer"), "sales_id": _user(sales, "sales", "sales")}
    for field, user in chosen.items():
        setattr(account, field, user.id if user else None)
    return _flush(account, TEAM_FIELDS, before, actor)


def set_schedule(account, *, actor, expected_version, every_weeks=None, starts_on=None, contact=None,
                 project=None, report_language="zh", today=None):
    """Set (or, with ``every_weeks`` None, stop) the relationship callbacks: every 1–52 weeks from
    ``starts_on``, to one of the client's contacts, recorded on one of its projects; and the
    language of the client's service report. The calls falling due are created at once."""
    _begin(account, actor, expected_version)
    if report_language not in REPORT_LANGUAGES:
        raise DomainError(_("Choose a language."), field="report_language")
    before = _snapshot(account, SCHEDULE_FIELDS)
    account.report_language = report_language
    if every_weeks in (None, ""):
        account.callback_every_weeks = None
    else:
        try:
            weeks = int(every_weeks)
        except (TypeError, ValueError):
            weeks = 0
        if not 1 <= weeks <= MAX_EVERY_WEEKS:
            raise DomainError(_("Every 1 to %(n)d weeks.", n=MAX_EVERY_WEEKS), field="every_weeks")
        if not isinstance(starts_on, date):
            raise DomainError(_("Choose the date of the first call."), field="starts_on")
        contact = contact if isinstance(contact, Contact) or contact is None else db.session.get(Contact, contact)
        if contact is None or contact.client_id != account.client_id:
            raise DomainError(_("Choose a contact of this client."), field="contact")
        project = project if isinstance(project, Project) or project is None else db.session.get(Project, project)
        if project is None or project.client_id != account.client_id:
            raise DomainError(_("Choose a project of this client."), field="project")
        account.callback_every_weeks, account.callback_starts_on = weeks, starts_on
        account.callback_contact_id, account.callback_project_id = contact.id, project.id
    _flush(account, SCHEDULE_FIELDS, before, actor)
    if account.callback_every_weeks:
        from .schedule import create_due_tasks
        create_due_tasks(today, account=account, actor=actor)
    return account


def set_plan(account, *, actor, expected_version, text=None, upload=None, max_bytes=None):
    """Replace the service plan's text and/or document (``upload``: a file-like with ``.filename``,
    checked like complaint evidence: PDF, Office, image). A changed plan needs a new approval."""
    _begin(account, actor, expected_version)
    text = (text or "").replace("\r\n", "\n").strip() or None
    if text is not None and len(text) > PLAN_TEXT_MAX:
        raise DomainError(_("At most %(n)d characters.", n=PLAN_TEXT_MAX), field="text")
    checked = None
    if upload is not None and getattr(upload, "filename", None):
        checked = read_evidence(upload.stream if hasattr(upload, "stream") else upload, upload.filename,
                                max_bytes or current_app.config["UPLOAD_MAX_BYTES"], field="file")
    if text is None and checked is None and account.plan_stored_name is None:
        raise DomainError(_("Write the plan or attach its document."), field="text")
    before = _snapshot(account, PLAN_FIELDS)
    account.plan_text = text
    if checked is not None:
        account.plan_stored_name = write_upload(checked.data)
        account.plan_original_name, account.plan_content_type = checked.original_name, checked.content_type
        account.plan_size, account.plan_sha256 = checked.size, hashlib.sha256(checked.data).hexdigest()
    account.plan_approved_by_id = account.plan_approved_at = account.plan_agreed_on = None
    return _flush(account, PLAN_FIELDS, before, actor)


def approve_plan(account, *, actor, expected_version, agreed_on, now=None):
    """An executive approves the current plan, with the date it was agreed with the client."""
    _begin(account, actor, expected_version, check=may_decide)
    if account.plan_text is None and account.plan_stored_name is None:
        raise DomainError(_("There is no plan to approve yet."))
    if not isinstance(agreed_on, date):
        raise DomainError(_("Enter the date the plan was agreed with the client."), field="agreed_on")
    before = _snapshot(account, PLAN_FIELDS)
    account.plan_approved_by_id, account.plan_approved_at = actor.id, now or utcnow()
    account.plan_agreed_on = agreed_on
    return _flush(account, PLAN_FIELDS, before, actor)
