"""The one transition service: every step on a follow-up goes through ``apply``, which checks
who may take it and the version the actor saw, writes a timeline event and an audit event, and
tells the next person."""
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from ...extensions import db
from ...models import CONTACT_MODES, Department, FollowUp, FollowUpEvent, User, UserRole
from ...models.base import utcnow
from .. import DomainError
from ..audit import record_event
from ..notifications import notify, notify_role
from ..settings import get_setting
from .opening import _text, link_of
from .rules import ACTIONS, ACTOR_OF, TRANSITIONS


class ChangedMeanwhile(DomainError):
    """Someone else changed the follow-up since the actor loaded it: reload and try again."""


def escalation_recipients() -> list:
    """The executives a follow-up may be escalated to: the setting's users, or every active exec."""
    chosen = get_setting("escalation.recipients") or []
    query = select(User).join(UserRole).where(UserRole.role == "exec", User.active.is_(True))
    if chosen:
        query = query.where(User.id.in_(chosen))
    return list(db.session.scalars(query.order_by(User.display_name)))


def may_act(user, followup, action) -> bool:
    """Whether ``user`` takes ``action`` on ``followup`` (ignoring its state)."""
    if user is None or not user.is_active:
        return False
    who = ACTOR_OF[action]
    if who == "owner":
        return user.has_role("pm") and followup.owner_id == user.id
    if who == "escalated_to":
        return user.has_role("exec") and followup.escalated_to_id == user.id
    if who == "owner_or_pmo":
        return user.has_role("pmo") or (user.has_role("pm") and followup.owner_id == user.id)
    return user.has_role("pmo")


def allowed_actions(user, followup) -> list:
    return [a for a in ACTIONS if (followup.state, a) in TRANSITIONS and may_act(user, followup, a)]


# --- the steps: check the fields, set them, return the timeline note -------------------------

def _required(fields, name, label):
    value = (fields.get(name) or "").strip()
    if not value:
        raise DomainError(_("%(field)s is required.", field=label), field=name)
    return value


def _codes(setting):
    return {item["code"] for item in get_setting(setting)}


def _do_classify(f, actor, fields, now):
    direction, ptype = fields.get("direction") or None, fields.get("problem_type") or None
    if direction is not None and direction not in _codes("problems.directions"):
        raise DomainError(_("Choose a direction from the list."), field="direction")
    if ptype is not None and ptype not in _codes("problems.types"):
        raise DomainError(_("Choose a type from the list."), field="problem_type")
    f.direction, f.problem_type = direction, ptype
    return f"{direction or '-'} / {ptype or '-'}"


def _do_route(f, actor, fields, now):
    department = fields.get("department")
    if not isinstance(department, Department):
        department = db.session.get(Department, department) if department else None
    if department is None or not department.active:
        raise DomainError(_("Choose a department."), field="department")
    if department.id == f.department_id:
        raise DomainError(_("It is routed to this department already."), field="department")
    f.department_id, f.department = department.id, department
    note = (fields.get("note") or "").strip()
    return f"{department.name}: {note}" if note else department.name


def _do_record_contact(f, actor, fields, now):
    how = fields.get("how")
    if how not in CONTACT_MODES:
        raise DomainError(_("Say how the client was contacted."), field="how")
    f.contacted_at, f.contact_how = fields.get("at") or now, how
    f.contact_note = (fields.get("note") or "").strip() or None
    return f.contact_note


def _do_record_cause_and_actions(f, actor, fields, now):
    values = (_required(fields, "cause", _("Cause")),
              _required(fields, "corrective_action", _("Corrective action")),
              _required(fields, "preventive_action", _("Preventive action")))
    f.cause, f.corrective_action, f.preventive_action = values
    return f.cause


def _do_escalate(f, actor, fields, now):
    to = fields.get("to")
    to_id = to.id if isinstance(to, User) else to
    recipient = next((u for u in escalation_recipients() if u.id == to_id), None)
    if recipient is None:
        raise DomainError(_("Choose an executive to escalate to."), field="to")
    f.escalation_reason = _required(fields, "reason", _("Reason"))
    f.escalated_to_id, f.escalated_at = recipient.id, now
    f.escalation_answer = f.answered_by_id = f.answered_at = None
    return f.escalation_reason


def _do_answer_escalation(f, actor, fields, now):
    f.escalation_answer = _required(fields, "answer", _("Answer"))
    f.answered_by_id, f.answered_at = actor.id, now
    return f.escalation_answer


def _do_resolve(f, actor, fields, now):
    if f.contacted_at is None:
        raise DomainError(_("Record the contact with the client first."))
    if not (f.cause and f.corrective_action and f.preventive_action):
        raise DomainError(_("Record the cause, the corrective and the preventive action first."))
    if not (f.direction and f.problem_type):  # the rollups count problems by both (DESIGN §6)
        raise DomainError(_("Classify the problem (direction and type) first."))
    f.resolved_at = now
    return (fields.get("note") or "").strip() or None


def _do_verify(f, actor, fields, now):
    f.verified_by_id, f.verified_at = actor.id, now
    return (fields.get("note") or "").strip() or None


def _do_reopen(f, actor, fields, now):
    f.reopen_reason = _required(fields, "reason", _("Reason"))
    f.reopen_count = (f.reopen_count or 0) + 1
    f.resolved_at = f.verified_by_id = f.verified_at = None
    return f.reopen_reason


_STEPS = {"classify": _do_classify, "route": _do_route, "record_contact": _do_record_contact,
          "record_cause_and_actions": _do_record_cause_and_actions, "escalate": _do_escalate,
          "answer_escalation": _do_answer_escalation, "resolve": _do_resolve, "verify": _do_verify,
          "reopen": _do_reopen}


# --- apply -----------------------------------------------------------------------------------

def apply(followup, action, *, actor, expected_version, **fields) -> FollowUp:
    """Take one step. DomainError if the state does not allow ``action`` or the field values are
    wrong, ChangedMeanwhile if the follow-up is no longer at ``expected_version``; ``actor`` must
    be the one ``ACTOR_OF`` names (a PermissionError otherwise: the web layer checked already)."""
    if action not in _STEPS:
        raise DomainError(_("Unknown step."))
    if not may_act(actor, followup, action):
        raise PermissionError(f"{actor!r} may not {action} follow-up {followup.id}")
    try:
        seen = int(expected_version)
    except (TypeError, ValueError):
        seen = None
    if seen != followup.version:
        raise ChangedMeanwhile(_("This follow-up was changed meanwhile; reload it and try again."))
    before = followup.state
    after = TRANSITIONS.get((before, action))
    if after is None:
        raise DomainError(_("This step is not possible while the follow-up is %(state)s.",
                            state=str(state_label(before))))
    now = utcnow()
    try:
        with db.session.no_autoflush:
            note = _STEPS[action](followup, actor, fields, now)
            followup.state = after
            followup.events.append(FollowUpEvent(at=now, actor_id=actor.id, action=action,
                                                 from_state=before, to_state=after, note=note))
        db.session.flush()  # UPDATE ... WHERE version = the one we read: 0 rows if it moved on
    except StaleDataError:
        db.session.rollback()
        raise ChangedMeanwhile(_("This follow-up was changed meanwhile; reload it and try again.")) from None
    record_event(f"followup_{action}", followup, actor=actor,
                 detail={"from": before, "to": after, "version": followup.version})
    _tell_next(followup, action, actor)
    return followup


def state_label(state):
    from ...labels import FOLLOWUP_STATE_LABELS
    return FOLLOWUP_STATE_LABELS.get(state, state)


def _tell_next(f, action, actor):
    link, code = link_of(f), f.project.code
    if action == "escalate":
        exec_ = f.escalated_to
        notify(exec_, "followup_escalated",
               _text(exec_, lambda: _("Follow-up escalated to you: %(project)s", project=code)),
               _text(exec_, lambda: _("%(pm)s asks for your answer: %(reason)s", pm=actor.display_name,
                                      reason=f.escalation_reason)), link=link)
    elif action in ("answer_escalation", "reopen"):
        owner = f.owner
        if action == "answer_escalation":
            subject = _text(owner, lambda: _("Escalation answered: %(project)s", project=code))
            body = _text(owner, lambda: _("%(exec)s answered: %(answer)s", exec=actor.display_name,
                                          answer=f.escalation_answer))
        else:
            subject = _text(owner, lambda: _("Follow-up reopened: %(project)s", project=code))
            body = _text(owner, lambda: _("PMO reopened it: %(reason)s", reason=f.reopen_reason))
        notify(owner, f"followup_{'answered' if action == 'answer_escalation' else 'reopened'}",
               subject, body, link=link)
    elif action == "route":
        dept = f.department
        people = ([dept.head] if dept.head is not None else []) + [m.user for m in dept.memberships]
        told = set()
        for user in people:
            if user.id in told or user.id == actor.id or not user.active:
                continue
            told.add(user.id)
            notify(user, "followup_routed",
                   _text(user, lambda: _("Follow-up routed to %(department)s: %(project)s",
                                         department=dept.name, project=code)),
                   _text(user, lambda: _("%(who)s routed a follow-up to your department for action; "
                                         "%(pm)s still owns it.", who=actor.display_name,
                                         pm=f.owner.display_name)), link=link)
    elif action == "resolve":
        notify_role("pmo", "followup_resolved",
                    lambda user: _("Follow-up to verify: %(project)s", project=code),
                    lambda user: _("%(pm)s resolved a follow-up; verify it.", pm=actor.display_name),
                    link=link)
