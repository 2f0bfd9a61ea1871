"""The one transition service: every step on a complaint goes through ``apply``, which checks who
may take it and the version the actor saw, writes a timeline event (with its clock mark) and an
audit event, and tells whoever acts next. Also who may see which complaint."""
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import or_, select, true
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from ...extensions import db
from ...models import (
    CONTACT_MODES,
    REMEDY_KINDS,
    Complaint,
    ComplaintEvent,
    Department,
    Project,
    TemplateVersion,
    User,
)
from ...models.base import utcnow
from .. import DomainError
from ..audit import record_event
from ..departments import department_ids_of
from ..followups.transitions import escalation_recipients
from ..notifications import notify, notify_role
from ..settings import get_setting
from .handling_check import choose_mode, issue_check
from .messages import INVALID, invalid_message, link_of, queue_to_complainant, text_for
from .rules import ACTIONS, ACTOR_OF, CLOCK_OF, TRANSITIONS

WIDE = ("quality", "pmo", "exec", "admin")
NOTE_MAX = 4000


class ChangedMeanwhile(DomainError):
    """Someone else changed the complaint since the actor loaded it: reload and try again."""


# --- who -----------------------------------------------------------------------------------------

def is_department_head(user, complaint) -> bool:
    return complaint.department is not None and complaint.department.head_id == user.id


def needs_exec(complaint) -> bool:
    """A compensation above ``complaints.exec_approval_amount`` is for an executive to approve."""
    return (complaint.remedy_kind == "compensation" and complaint.compensation_amount is not None
            and float(complaint.compensation_amount) > get_setting("complaints.exec_approval_amount"))


def may_act(user, complaint, action) -> bool:
    """Whether ``user`` takes ``action`` on ``complaint`` (ignoring its state)."""
    if user is None or not user.is_active:
        return False
    who = ACTOR_OF[action]
    owner = complaint.owner_id is not None and complaint.owner_id == user.id
    if who == "quality":
        return user.has_role("quality")
    if who == "handler":
        return owner or is_department_head(user, complaint)
    if who == "desk_or_handler":
        return user.has_role("quality") or owner or is_department_head(user, complaint)
    if who == "owner_or_quality":
        return owner or user.has_role("quality")
    # approver
    if user.has_role("exec"):
        return True
    return is_department_head(user, complaint) and not needs_exec(complaint)


def allowed_actions(user, complaint) -> list:
    return [a for a in ACTIONS if (complaint.state, a) in TRANSITIONS and may_act(user, complaint, a)]


def state_label(state):
    from ...labels import COMPLAINT_STATE_LABELS
    return COMPLAINT_STATE_LABELS.get(state, state)


# --- who sees what -------------------------------------------------------------------------------

def can_view(user, complaint) -> bool:
    """Quality, PMO, exec, admin: all; a department's head and members: its complaints; the owner:
    theirs; a PM or salesperson: those of their own projects (to read)."""
    if user is None or not user.is_active:
        return False
    if user.has_role(*WIDE) or complaint.owner_id == user.id:
        return True
    if complaint.department_id is not None and complaint.department_id in set(
            db.session.scalars(department_ids_of(user))):
        return True
    project = complaint.project
    return project is not None and (
        (user.has_role("pm") and project.pm_id == user.id)
        or (user.has_role("sales") and project.sales_id == user.id))


def complaint_scope(user):
    """SQL condition on Complaint for what ``user`` may see (``can_view`` in SQL)."""
    if user.has_role(*WIDE):
        return true()
    own_projects = []
    if user.has_role("pm"):
        own_projects.append(Project.pm_id == user.id)
    if user.has_role("sales"):
        own_projects.append(Project.sales_id == user.id)
    conditions = [Complaint.owner_id == user.id, Complaint.department_id.in_(department_ids_of(user))]
    if own_projects:
        conditions.append(Complaint.project_id.in_(select(Project.id).where(or_(*own_projects))))
    return or_(*conditions)


# --- the steps: check the fields, set them, return (note, detail, clock) ---------------------------

def _text(fields, name, label, *, required=True, limit=NOTE_MAX):
    value = (fields.get(name) or "").strip()
    if required and not value:
        raise DomainError(_("%(field)s is required.", field=label), field=name)
    if len(value) > limit:
        raise DomainError(_("At most %(n)d characters.", n=limit), field=name)
    return value or None


def _how(fields):
    how = fields.get("how")
    if how not in CONTACT_MODES:
        raise DomainError(_("Say how the complainant was contacted."), field="how")
    return how


def _at(fields, now, name="at"):
    at = fields.get(name) or now
    if at > now:
        raise DomainError(_("This cannot lie in the future."), field=name)
    return at


def _is_paused(c):
    state = None
    for e in sorted(c.events, key=lambda e: (e.at, e.id or 0)):
        if e.clock in ("pause", "resume", "stop", "start"):
            state = e.clock
    return state == "pause"


def _do_accept(c, actor, fields, now):
    """A valid complaint is about one of the company's projects: the desk names it when the
    complainant did not (the public form), so the check on its handling can be recorded."""
    detail = None
    if c.project is None:
        project = fields.get("project")
        if not isinstance(project, Project):
            project = db.session.get(Project, project) if project else None
        if project is None:
            raise DomainError(_("Name the project the complaint is about."), field="project")
        if c.client_id is not None and c.client_id != project.client_id:
            raise DomainError(_("This project belongs to another client."), field="project")
        if c.contact is not None and c.contact.client_id != project.client_id:
            raise DomainError(_("This project belongs to another client than the complainant."),
                              field="project")
        c.project, c.client = project, project.client
        c.project_id, c.client_id = project.id, project.client_id
        detail = {"project": project.id}
    return _text(fields, "note", _("Note"), required=False), detail, None


def _do_judge_invalid(c, actor, fields, now):
    c.invalid_reason = _text(fields, "reason", _("Explanation"))
    return c.invalid_reason, None, CLOCK_OF["judge_invalid"]


def _do_assign(c, actor, fields, now):
    department, owner = fields.get("department"), fields.get("owner")
    if not isinstance(department, Department):
        department = db.session.get(Department, department) if department else None
    if department is None or not department.active:
        raise DomainError(_("Choose a department."), field="department")
    if not isinstance(owner, User):
        owner = db.session.get(User, owner) if owner else None
    member_ids = {m.user_id for m in department.memberships} | {department.head_id}
    if owner is None or not owner.active or owner.id not in member_ids:
        raise DomainError(_("Choose the owner among the department's members."), field="owner")
    c.department_id, c.owner_id = department.id, owner.id
    c.department, c.owner = department, owner
    return None, {"department": department.id, "owner": owner.id}, None


def _do_record_contact(c, actor, fields, now):
    how, at = _how(fields), _at(fields, now)
    note = _text(fields, "note", _("Note"), required=False)
    first = not any(e.clock == "first_contact" for e in c.events)
    return note, {"how": how, "contacted_at": at.isoformat()}, "first_contact" if first else None


def _do_wait_for_complainant(c, actor, fields, now):
    if _is_paused(c):
        raise DomainError(_("The clock is already paused, waiting for the complainant."))
    return _text(fields, "note", _("What you are waiting for")), None, "pause"


def _do_complainant_answered(c, actor, fields, now):
    at = _at(fields, now)
    note = _text(fields, "note", _("What the complainant said"))
    return note, {"answered_at": at.isoformat()}, "resume" if _is_paused(c) else None


def _do_mark_complex(c, actor, fields, now):
    if any(e.action == "mark_complex" for e in c.events):
        raise DomainError(_("This complaint is already marked complex."))
    how = fields.get("how")
    if how not in CONTACT_MODES:
        raise DomainError(_("Say how the complainant was told that more time is needed."), field="how")
    note = _text(fields, "note", _("What the complainant was told"))
    c.complex = True
    return note, {"how": how, "told_at": now.isoformat()}, None


def _do_investigate(c, actor, fields, now):
    findings = _text(fields, "findings", _("Findings"))
    fault = fields.get("company_fault")
    if fault not in (True, False):
        raise DomainError(_("Say whether the company was at fault."), field="company_fault")
    employee = _text(fields, "responsible_employee", _("Responsible employee"), required=False, limit=120)
    c.findings, c.company_fault, c.responsible_employee = findings, fault, employee
    return findings, {"company_fault": fault, "responsible_employee": employee}, None


def _do_propose_remedy(c, actor, fields, now):
    kind = fields.get("kind")
    if kind not in REMEDY_KINDS:
        raise DomainError(_("Choose a kind of remedy."), field="kind")
    amount = fields.get("amount")
    if kind == "compensation":
        try:
            amount = Decimal(str(amount)).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError, TypeError):
            amount = None
        if amount is None or not amount.is_finite() or amount <= 0 or amount >= Decimal("1e10"):
            raise DomainError(_("Enter the amount of the compensation."), field="amount")
    else:
        amount = None
    text = _text(fields, "text", _("Remedy"))
    c.remedy_kind, c.compensation_amount, c.remedy = kind, amount, text
    c.approved_by_id = c.approved_at = None
    return text, {"kind": kind, "amount": str(amount) if amount is not None else None}, None


def _do_approve(c, actor, fields, now):
    c.approved_by_id, c.approved_at = actor.id, now
    return (_text(fields, "note", _("Note"), required=False),
            {"as": "exec" if actor.has_role("exec") else "department_head"}, None)


def _do_send_back(c, actor, fields, now):
    """The approver refuses the proposed remedy: the handler proposes another (the refused one
    stays on the timeline)."""
    return _text(fields, "reason", _("Why it is sent back")), {}, None


def _do_notify_client(c, actor, fields, now):
    how, at = _how(fields), _at(fields, now)
    said = _text(fields, "said", _("What was said"))
    c.notified_how, c.notified_at, c.notification = how, at, said
    return said, {"how": how, "notified_at": at.isoformat()}, "stop"


def _do_close(c, actor, fields, now):
    mode, version = choose_mode(c, fields.get("check_by"))
    c.closed_at = now
    return (_text(fields, "note", _("Note"), required=False),
            {"check_by": mode, "check_version": version.id}, None)


def _do_reopen(c, actor, fields, now):
    reason = _text(fields, "reason", _("Reason"))
    c.reopen_count = (c.reopen_count or 0) + 1
    c.closed_at = None
    return reason, {"reopen_count": c.reopen_count}, "resume"


_STEPS = {name: globals()[f"_do_{name}"] for name in ACTIONS}


# --- apply ---------------------------------------------------------------------------------------

def apply(complaint, action, *, actor, expected_version, now=None, **fields) -> Complaint:
    """Take one step. DomainError if the state does not allow ``action`` or a field is wrong,
    ChangedMeanwhile if the complaint is no longer at ``expected_version``; PermissionError if
    ``actor`` is not who ``ACTOR_OF`` names (the web layer checked already)."""
    if action not in _STEPS:
        raise DomainError(_("Unknown step."))
    if not may_act(actor, complaint, action):
        raise PermissionError(f"{actor!r} may not {action} complaint {complaint.id}")
    try:
        seen = int(expected_version)
    except (TypeError, ValueError):
        seen = None
    if seen != complaint.version:
        raise ChangedMeanwhile(_("This complaint was changed meanwhile; reload it and try again."))
    before = complaint.state
    after = TRANSITIONS.get((before, action))
    if after is None:
        raise DomainError(_("This step is not possible while the complaint is %(state)s.",
                            state=str(state_label(before))))
    now = now or utcnow()
    try:
        with db.session.no_autoflush:
            note, detail, clock = _STEPS[action](complaint, actor, fields, now)
            complaint.state = after
            flag_modified(complaint, "state")  # every step bumps the version, even one that keeps the state
            complaint.events.append(ComplaintEvent(at=now, actor_id=actor.id, action=action, from_state=before,
                                                   to_state=after, clock=clock, note=note, detail=detail))
        db.session.flush()  # UPDATE ... WHERE version = the one we read: 0 rows if it moved on
    except StaleDataError:
        db.session.rollback()
        raise ChangedMeanwhile(_("This complaint was changed meanwhile; reload it and try again.")) from None
    record_event(f"complaint_{action}", complaint, actor=actor,
                 detail={"from": before, "to": after, "clock": clock, "version": complaint.version})
    _tell_next(complaint, action, actor, now)
    return complaint


def _tell(user, kind, complaint, subject, body):
    if user is not None and user.active:
        notify(user, kind, text_for(user, subject), text_for(user, body), link=link_of(complaint))


def _tell_next(c, action, actor, now):
    ref, link = c.reference, link_of(c)
    if action == "judge_invalid":
        queue_to_complainant(c, INVALID, lambda: invalid_message(c), now=now)
    elif action == "assign":
        _tell(c.owner, "complaint_assigned", c, lambda: _("Complaint assigned to you: %(ref)s", ref=ref),
              lambda: _("%(who)s assigned complaint %(ref)s to you; contact the complainant and "
                        "investigate.", who=actor.display_name, ref=ref))
    elif action == "propose_remedy":
        approvers = list(escalation_recipients()) if needs_exec(c) else (
            [c.department.head] if c.department is not None and c.department.head is not None
            else list(escalation_recipients()))
        for user in approvers:
            _tell(user, "complaint_to_approve", c, lambda: _("Remedy to approve: %(ref)s", ref=ref),
                  lambda: _("%(who)s proposes a remedy for complaint %(ref)s; approve it before the "
                            "client is told.", who=actor.display_name, ref=ref))
    elif action == "approve":
        _tell(c.owner, "complaint_approved", c, lambda: _("Remedy approved: %(ref)s", ref=ref),
              lambda: _("%(who)s approved the remedy; tell the client the outcome.", who=actor.display_name))
    elif action == "send_back":
        handlers = [c.owner] + ([c.department.head] if c.department is not None
                                and c.department.head_id not in (None, c.owner_id) else [])
        for user in (u for u in handlers if u is not None and u.id != actor.id):
            _tell(user, "complaint_sent_back", c, lambda: _("Remedy sent back: %(ref)s", ref=ref),
                  lambda: _("%(who)s sent the proposed remedy back: %(reason)s", who=actor.display_name,
                            reason=c.events[-1].note))
    elif action == "notify_client":
        notify_role("quality", "complaint_notified",
                    lambda user: _("Client told the outcome: %(ref)s", ref=ref),
                    lambda user: _("The client was told the outcome of complaint %(ref)s; it can be closed.",
                                   ref=ref), link=link)
    elif action == "close":
        detail = c.events[-1].detail
        issue_check(c, detail["check_by"], db.session.get(TemplateVersion, detail["check_version"]), now=now)
    elif action == "reopen":
        _tell(c.owner, "complaint_reopened", c, lambda: _("Complaint reopened: %(ref)s", ref=ref),
              lambda: _("The quality desk reopened complaint %(ref)s: %(reason)s", ref=ref,
                        reason=c.events[-1].note))
    elif action == "accept":
        pass  # the quality desk assigns next: it is their own queue
