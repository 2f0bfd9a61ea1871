"""The closed loop (DESIGN §4.4): a response with an opinion or a low score opens a follow-up
for the project's PM; the PM contacts the client, records cause and actions, resolves or
escalates to an executive, who answers on the record; PMO verifies (closed) or reopens.

Every step goes through ``apply``, driven by one table ``TRANSITIONS``; each step checks
who may take it and the version the actor saw, writes a timeline event and an audit event,
and tells the next person. Functions flush; the caller commits.
"""
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..models import CONTACT_MODES, FollowUp, FollowUpEvent, Project, User, UserRole
from ..models.base import utcnow
from . import DomainError
from .audit import record_event
from .hooks import response_submitted
from .notifications import in_language_of, notify, notify_role
from .quarters import local_date, local_today
from .settings import get_setting
from .working_days import CalendarUnknown, add_working_days


class ChangedMeanwhile(DomainError):
    """Someone else changed the follow-up since the actor loaded it: reload and try again."""


#: (state, action) -> next state; anything not listed is refused
TRANSITIONS = {
    **{(s, "classify"): s for s in ("open", "contacted", "escalated", "answered", "reopened")},
    ("open", "record_contact"): "contacted",
    ("contacted", "record_contact"): "contacted",
    ("reopened", "record_contact"): "contacted",
    ("answered", "record_contact"): "answered",
    **{(s, "record_cause_and_actions"): s for s in ("open", "contacted", "answered", "reopened")},
    ("open", "escalate"): "escalated",
    ("contacted", "escalate"): "escalated",
    ("reopened", "escalate"): "escalated",
    ("escalated", "answer_escalation"): "answered",
    ("contacted", "resolve"): "resolved",
    ("answered", "resolve"): "resolved",
    ("resolved", "verify"): "closed",
    ("resolved", "reopen"): "reopened",
    ("closed", "reopen"): "reopened",
}
ACTIONS = ("classify", "record_contact", "record_cause_and_actions", "escalate", "answer_escalation",
           "resolve", "verify", "reopen")
#: who takes each step: the owning PM, the executive it was escalated to, or PMO
ACTOR_OF = {"classify": "owner", "record_contact": "owner", "record_cause_and_actions": "owner",
            "escalate": "owner", "resolve": "owner", "answer_escalation": "escalated_to",
            "verify": "pmo", "reopen": "pmo"}
#: the PM still has work to do in these states (so they can be overdue)
ACTIVE_STATES = ("open", "contacted", "escalated", "answered", "reopened")


# --- opening ---------------------------------------------------------------------------------

def triggers_of(response, threshold) -> list:
    """The answers that call for a follow-up: every free-text answer with text, and every
    normalized score at or below ``threshold``. N/A never triggers."""
    from .responses import answer_rows
    answers = {a.question.code: a for a in response.answers}
    found = []
    for row in answer_rows(response):
        answer = answers.get(row.code)
        if answer is None or answer.is_na:
            continue
        if answer.question.type == "text":
            if (answer.text_value or "").strip():
                found.append({"reason": "comment", "code": row.code, "question": row.text,
                              "answer": row.answer, "normalized": None})
        elif answer.normalized is not None and answer.normalized <= threshold:
            found.append({"reason": "low_score", "code": row.code, "question": row.text,
                          "answer": row.answer, "normalized": answer.normalized})
    return found


def due_date_for(start: date):
    """(due_on, missing_year): ``due_working_days`` working days after ``start``, or
    (None, year) when the working-day calendar of that year is missing."""
    try:
        return add_working_days(start, get_setting("followup.due_working_days")), None
    except CalendarUnknown as error:
        return None, getattr(error, "year", None) or start.year


def open_for_response(response) -> FollowUp | None:
    """Open the response's follow-up if it calls for one (at most one per response)."""
    existing = db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))
    if existing is not None:
        return existing
    triggers = triggers_of(response, get_setting("followup.low_score_threshold"))
    if not triggers:
        return None
    project = response.project
    due_on, missing_year = due_date_for(local_date(response.submitted_at))
    followup = FollowUp(response_id=response.id, project_id=project.id, owner_id=project.pm_id,
                        state="open", triggers=triggers, due_on=due_on, due_calendar_missing=missing_year)
    db.session.add(followup)
    followup.events.append(FollowUpEvent(action="opened", from_state=None, to_state="open",
                                         note=_reasons(triggers)))
    db.session.flush()
    record_event("followup_opened", followup, detail={"response": response.id, "triggers": len(triggers),
                                                       "due_on": due_on, "calendar_missing": missing_year})
    owner = project.pm
    notify(owner, "followup_opened",
           _text(owner, lambda: _("Follow-up opened: %(project)s", project=project.code)),
           _text(owner, lambda: _("A response for %(project)s raised an opinion or a low score; "
                                  "contact the client again by %(due)s.", project=project.name,
                                  due=due_on.isoformat() if due_on else _("(due date unknown)"))),
           link=link_of(followup))
    return followup


@response_submitted.connect
def _on_response_submitted(response, **_extra):
    """Every channel records through submit_response, so every channel gets its follow-up."""
    open_for_response(response)


def _reasons(triggers):
    return ", ".join(sorted({t["code"] for t in triggers}))


def link_of(followup) -> str:
    return f"/followups/{followup.id}"


def _text(user, build):
    """A message in the recipient's language (notifications are stored already translated)."""
    with in_language_of(user):
        return str(build())


# --- the one transition service --------------------------------------------------------------

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
    return user.has_role("pmo")


def allowed_actions(user, followup) -> list:
    return [a for a in ACTIONS if (followup.state, a) in TRANSITIONS and may_act(user, followup, a)]


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


_STEPS = {"classify": _do_classify, "record_contact": _do_record_contact,
          "record_cause_and_actions": _do_record_cause_and_actions, "escalate": _do_escalate,
          "answer_escalation": _do_answer_escalation, "resolve": _do_resolve, "verify": _do_verify,
          "reopen": _do_reopen}


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
    from ..labels import FOLLOWUP_STATE_LABELS
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
    elif action == "resolve":
        notify_role("pmo", "followup_resolved",
                    lambda user: _("Follow-up to verify: %(project)s", project=code),
                    lambda user: _("%(pm)s resolved a follow-up; verify it.", pm=actor.display_name),
                    link=link)


# --- reading ---------------------------------------------------------------------------------

def is_overdue(followup, today: date) -> bool:
    """Past its due date while the PM still has work to do (resolved waits for PMO, not the PM)."""
    return followup.state in ACTIVE_STATES and followup.due_on is not None and followup.due_on < today


def _overdue_condition(today):
    return FollowUp.state.in_(ACTIVE_STATES) & (FollowUp.due_on < today)


def followup_of(response):
    """The follow-up a response opened, or None."""
    return db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))


def can_view(user, followup) -> bool:
    """PM: the follow-ups they own or of projects they run; PMO, quality and exec: all."""
    if user.has_role("pmo", "quality", "exec"):
        return True
    return user.has_role("pm") and (followup.owner_id == user.id or followup.project.pm_id == user.id)


def followup_scope(user):
    """SQL condition on FollowUp (joined to Project) for what ``user`` may see."""
    if user.has_role("pmo", "quality", "exec"):
        return True
    if user.has_role("pm"):
        return or_(FollowUp.owner_id == user.id, Project.pm_id == user.id)
    return False


@dataclass(frozen=True)
class FollowUpFilters:
    state: str | None = None     # a state, or "active" for every state the PM still works on
    project_id: int | None = None
    owner_id: int | None = None
    overdue: bool = False
    escalated_to_id: int | None = None


def followups_query(user, filters: FollowUpFilters, today: date | None = None):
    today = today or local_today()
    query = select(FollowUp).join(Project, FollowUp.project_id == Project.id).where(followup_scope(user))
    if filters.state == "active":
        query = query.where(FollowUp.state.in_(ACTIVE_STATES))
    elif filters.state:
        query = query.where(FollowUp.state == filters.state)
    if filters.project_id:
        query = query.where(FollowUp.project_id == filters.project_id)
    if filters.owner_id:
        query = query.where(FollowUp.owner_id == filters.owner_id)
    if filters.escalated_to_id:
        query = query.where(FollowUp.escalated_to_id == filters.escalated_to_id)
    if filters.overdue:
        query = query.where(_overdue_condition(today))
    return query


def followups_page(user, filters: FollowUpFilters, *, page=1, per_page=50, today=None):
    """One page (``.items``, ``.total``) of the follow-ups ``user`` may see, oldest due first."""
    from .listing import paginate
    query = (followups_query(user, filters, today)
             .options(joinedload(FollowUp.project), joinedload(FollowUp.owner))
             .order_by(FollowUp.due_on.is_(None), FollowUp.due_on, FollowUp.id))
    return paginate(query, page, per_page)


def owners_visible_to(user):
    """The PMs owning follow-ups ``user`` may see (the list's PM filter)."""
    owners = followups_query(user, FollowUpFilters()).with_only_columns(FollowUp.owner_id).distinct()
    return list(db.session.scalars(select(User).where(User.id.in_(owners)).order_by(User.display_name)))


def _counts(user, where, **named):
    """One aggregate query: {name: how many of the visible follow-ups matching ``where`` meet it}."""
    from sqlalchemy import case
    query = (select(*(func.coalesce(func.sum(case((cond, 1), else_=0)), 0) for cond in named.values()))
             .select_from(FollowUp).join(Project, FollowUp.project_id == Project.id)
             .where(followup_scope(user), where))
    return dict(zip(named, db.session.execute(query).one()))


def home_counts(user, today: date | None = None) -> dict:
    """What waits for ``user``: PM open/overdue/reopened of their own; PMO overdue/escalated/
    to verify across all; exec the escalations awaiting their answer (one query per role)."""
    today = today or local_today()
    counts = {}
    if user.has_role("pm"):
        counts["pm"] = _counts(user, FollowUp.owner_id == user.id, open=FollowUp.state.in_(ACTIVE_STATES),
                               overdue=_overdue_condition(today), reopened=FollowUp.state == "reopened")
    if user.has_role("pmo"):
        counts["pmo"] = _counts(user, True, overdue=_overdue_condition(today),
                                escalated=FollowUp.state == "escalated", to_verify=FollowUp.state == "resolved")
    if user.has_role("exec"):
        counts["exec"] = _counts(user, FollowUp.escalated_to_id == user.id,
                                 escalated=FollowUp.state == "escalated")
    return counts


# --- the daily reminder ----------------------------------------------------------------------

def fill_missing_due_dates() -> int:
    """Due dates that waited for a calendar get computed once it is there."""
    filled = 0
    for f in db.session.scalars(select(FollowUp).where(FollowUp.due_on.is_(None),
                                                       FollowUp.due_calendar_missing.is_not(None))):
        due_on, _missing = due_date_for(local_date(f.response.submitted_at))
        if due_on is not None:
            f.due_on, f.due_calendar_missing = due_on, None
            filled += 1
    db.session.flush()
    return filled


def notify_overdue(today: date | None = None) -> dict:
    """Tell each owner about their overdue follow-ups, and PMO about all of them; once a day
    (a follow-up already reminded today is left out, so a second run sends nothing)."""
    today = today or local_today()
    filled = fill_missing_due_dates()
    due = list(db.session.scalars(select(FollowUp).where(
        _overdue_condition(today),
        or_(FollowUp.overdue_notified_on.is_(None), FollowUp.overdue_notified_on < today))
        .options(joinedload(FollowUp.project), joinedload(FollowUp.owner)).order_by(FollowUp.id)))
    by_owner = {}
    for f in due:
        by_owner.setdefault(f.owner, []).append(f)
        f.overdue_notified_on = today
    for owner, items in by_owner.items():
        codes = ", ".join(f"#{f.id} {f.project.code}" for f in items)
        with in_language_of(owner):
            subject = _("%(n)s follow-ups overdue", n=len(items))
            body = _("Overdue follow-ups: %(list)s", list=codes)
        notify(owner, "followup_overdue", subject, body, link="/followups?overdue=1")
    if due:
        codes = ", ".join(f"#{f.id} {f.project.code}" for f in due)
        notify_role("pmo", "followup_overdue",
                    lambda user: _("%(n)s follow-ups overdue", n=len(due)),
                    lambda user: _("Overdue follow-ups: %(list)s", list=codes),
                    link="/followups?overdue=1")
    if due or filled:
        record_event("followups_overdue_notified", detail={"followups": len(due), "owners": len(by_owner),
                                                            "due_dates_filled": filled})
    db.session.flush()
    return {"overdue": len(due), "owners": len(by_owner), "due_dates_filled": filled}
