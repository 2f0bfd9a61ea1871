"""The callback queue (DESIGN §4.3.3, §4.3.5, §4.9): each agent's calls, every attempt logged, and
the callback record sheet of a reached call, recorded through ``submit_response`` (channel
``phone``) so low scores and comments open follow-ups like every other channel.

Two kinds of call share the queue: a drawn ticket's reporter, and a key account's scheduled
relationship call (``services.key_accounts.schedule``), which needs no ticket. Both are scoped by
the call's project; the relationship calls due today or missed come first, then the ticket calls
in their draw's order, then the relationship calls due later.

The desk is independent: only the quality department changes tasks, attempts and callback
responses. PMs and sales read the calls of their own projects; pmo, exec and admin read all.
"""
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from ...extensions import db
from ...models import ATTEMPT_OUTCOMES, TASK_STATES, CallAttempt, CallbackTask, Project, User
from ...models.base import utcnow
from .. import DomainError
from ..answers import AnswersInvalid, parse_answers
from ..audit import record_event
from ..quarters import local_today, quarter_of
from ..responses import AlreadySubmitted, submit_response
from ..scope import can_view_project, project_scope
from ..settings import get_setting
from .sampling import DESK_ROLE, draw

NOTE_LIMIT = 2000
#: outcomes that end a task at once; no answer and busy end it after ``callback.max_attempts``
FINAL_OUTCOMES = ("refused", "wrong_number")
RETRY_OUTCOMES = ("no_answer", "busy")

class ChangedMeanwhile(DomainError):
    """Someone else logged on the call since the agent loaded it: reload and try again."""


def _changed():
    return ChangedMeanwhile(_l("This call was changed meanwhile; reload it and try again."))


# --- who -------------------------------------------------------------------------------------

def can_work(user) -> bool:
    """Creates and changes callback tasks, attempts and callback forms: the quality desk only —
    not PMs or sales (independence, DESIGN §4.3.5), nor admin."""
    return user is not None and user.is_active and user.has_role(DESK_ROLE)


def read_scope(user):
    """SQL condition on Project: whose calls ``user`` reads — the wide roles every project's, a
    PM or sales owner their own projects' (read only)."""
    return project_scope(user)


def can_read(user, task) -> bool:
    return user is not None and can_view_project(user, task.project)


def _require_desk(user, what):
    if not can_work(user):
        raise PermissionError(f"{user!r} may not {what} callbacks")


# --- reading ---------------------------------------------------------------------------------

def _is_relationship_due(today):
    """SQL: an open relationship call due by ``today`` (due today or missed)."""
    return and_(CallbackTask.kind == "relationship", CallbackTask.state == "open", CallbackTask.due_on <= today)


def _queue_order(today):
    """The queue's order: relationship calls due by ``today`` first, then ticket calls by priority
    and rank, then the other relationship calls by due day (the calls' own columns only)."""
    group = case((_is_relationship_due(today), 0), (CallbackTask.kind == "ticket", 1), else_=2)
    return group, CallbackTask.due_on, CallbackTask.priority, CallbackTask.rank, CallbackTask.id


def _shown(ids):
    """The calls ``ids`` with what the list shows (project, client, ticket, contact, agent), in
    the order of ``ids``."""
    loaded = {task.id: task for task in db.session.scalars(
        select(CallbackTask).where(CallbackTask.id.in_(ids))
        .join(CallbackTask.project).outerjoin(CallbackTask.case)
        .options(contains_eager(CallbackTask.project).joinedload(Project.client),
                 contains_eager(CallbackTask.case),
                 joinedload(CallbackTask.contact),
                 joinedload(CallbackTask.assigned_to).lazyload(User.role_rows))).unique()}
    return [loaded[i] for i in ids if i in loaded]


def _in_quarter(quarter, today):
    """The calls of ``quarter``; viewing the current quarter also shows every open relationship call
    (missed in an earlier quarter, or due early in the next)."""
    condition = CallbackTask.quarter == quarter
    if quarter == quarter_of(today):
        condition = or_(condition, and_(CallbackTask.kind == "relationship", CallbackTask.state == "open"))
    return condition


def tasks_page(user, *, quarter=None, state="open", mine=True, page=1, per_page=50, today=None):
    """One page of the calls ``user`` may read, in the queue's order (``_queue_order``).
    ``state`` None: every state; ``mine``: only those assigned to ``user``.

    The page is chosen on the calls (and their projects, for the scope) alone, then its calls are
    read with their tickets, contacts and agents: sorting a quarter's calls joined to every ticket
    made PostgreSQL read all 100,000 tickets for a page of 50."""
    from ..listing import paginate
    today = today or local_today()
    query = (select(CallbackTask.id).join(Project, Project.id == CallbackTask.project_id)
             .where(read_scope(user)).order_by(*_queue_order(today)))
    if state is not None:
        if state not in TASK_STATES:
            raise ValueError(f"unknown task state {state!r}")
        query = query.where(CallbackTask.state == state)
    conditions = (_in_quarter(quarter, today) if quarter else None,
                  CallbackTask.assigned_to_id == user.id if mine else None)
    result = paginate(query, page, per_page, conditions)
    result.items = _shown(list(result.items))
    return result


@dataclass(frozen=True)
class DeskCounts:
    """The desk's home figures for a user: their open calls of the quarter (``tasks_page``'s
    total), and the open relationship calls due by today — ``due`` of them, ``overdue`` missed,
    ``due_mine`` assigned to the user."""
    mine: int
    due: int
    overdue: int
    due_mine: int


def desk_counts(user, quarter, today=None) -> DeskCounts:
    """The home page's counts of the desk, in one query."""
    today = today or local_today()
    due = _is_relationship_due(today)
    own = CallbackTask.assigned_to_id == user.id

    def total(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = db.session.execute(
        select(total(and_(own, _in_quarter(quarter, today))), total(due),
               total(and_(due, CallbackTask.due_on < today)), total(and_(due, own)))
        .join(Project, Project.id == CallbackTask.project_id)
        .where(CallbackTask.state == "open", read_scope(user))).one()
    return DeskCounts(*(int(n) for n in row))


#: what a call's page shows, loaded with it
TASK_PAGE_LOADS = (joinedload(CallbackTask.project).joinedload(Project.client),
                   joinedload(CallbackTask.case), joinedload(CallbackTask.contact),
                   joinedload(CallbackTask.key_account),
                   joinedload(CallbackTask.assigned_to).lazyload(User.role_rows),
                   joinedload(CallbackTask.response),
                   selectinload(CallbackTask.attempts).joinedload(CallAttempt.by).lazyload(User.role_rows))


def task_for(user, task_id) -> CallbackTask | None:
    """The call with its project, client, ticket or account and contact, and attempts, or None if it
    does not exist or ``user`` may not read it (the web layer answers 404/403)."""
    task = db.session.scalar(select(CallbackTask).where(CallbackTask.id == task_id).options(*TASK_PAGE_LOADS))
    if task is None or not can_read(user, task):
        return None
    return task


def subject(task) -> dict:
    """Who a call is about, for audit details: the ticket, or the key account and its date."""
    if task.kind == "relationship":
        return {"key_account": task.key_account_id, "scheduled_on": task.scheduled_on.isoformat()}
    return {"case": task.case.external_id}


def last_outcome(task) -> str | None:
    return task.attempts[-1].outcome if task.attempts else None


# --- logging an attempt ----------------------------------------------------------------------

def _check_version(task, expected_version):
    try:
        seen = int(expected_version)
    except (TypeError, ValueError):
        seen = None
    if seen != task.version:
        raise _changed()


def log_attempt(task, user, outcome, note=None, *, expected_version, now=None) -> CallbackTask:
    """Log one call attempt on an open task. Refused or a wrong number fails the task at once; no
    answer or busy once ``callback.max_attempts`` attempts are logged; a failed ticket call's
    replacement is drawn at once (a relationship call has none). Reached leaves the task open for
    its callback form. ChangedMeanwhile if the task is no longer at ``expected_version``;
    PermissionError unless ``can_work(user)``."""
    _require_desk(user, "log attempts on")
    if outcome not in ATTEMPT_OUTCOMES:
        raise DomainError(_l("Choose the outcome of the call."), field="outcome")
    note = (note or "").replace("\r\n", "\n").strip() or None
    if note is not None and len(note) > NOTE_LIMIT:
        raise DomainError(_l("At most %(n)d characters.", n=NOTE_LIMIT), field="note")
    if note is not None and "\x00" in note:
        raise DomainError(_l("This text contains a character that cannot be stored (NUL). Please remove it."),
                          field="note")
    _check_version(task, expected_version)
    if task.state != "open":
        raise DomainError(_l("This call is closed."))
    now = now or utcnow()
    max_attempts = get_setting("callback.max_attempts")
    try:
        with db.session.no_autoflush:
            task.attempts.append(CallAttempt(at=now, by_id=user.id, outcome=outcome, note=note))
            task.attempts_count = (task.attempts_count or 0) + 1
            if outcome in FINAL_OUTCOMES or (outcome in RETRY_OUTCOMES and task.attempts_count >= max_attempts):
                task.state, task.failed_reason, task.closed_at = "failed", outcome, now
        db.session.flush()  # UPDATE ... WHERE version = the one we read: 0 rows if it moved on
    except StaleDataError:
        db.session.rollback()
        raise _changed() from None
    record_event("callback_attempt_logged", task, actor=user,
                 detail={**subject(task), "outcome": outcome, "attempt": task.attempts_count,
                         "state": task.state, "note": note is not None})
    if task.state == "failed" and task.kind == "ticket":
        result = draw(task.quarter, user, now=now)  # the replacement, linked by replaced_by_id
        record_event("callback_task_failed", task, actor=user,
                     detail={**subject(task), "reason": task.failed_reason,
                             "replaced_by": task.replaced_by_id,
                             "added": result.added})
    elif task.state == "failed":  # a relationship call is not replaced: the schedule's next one follows
        record_event("callback_task_failed", task, actor=user,
                     detail={**subject(task), "reason": task.failed_reason})
    db.session.flush()
    return task


# --- the callback form -----------------------------------------------------------------------

def callback_versions(prefer_language=None):
    """Current versions of the ``callback`` templates, those in ``prefer_language`` first."""
    from ..questionnaires import current_versions
    return sorted(current_versions("callback"), key=lambda v: v.template.language != prefer_language)


def record_callback(task, user, answers: Mapping, *, version, now=None):
    """Record the reached call's callback form as a Response (channel phone, the task as its
    origin) and close the task as reached. AlreadySubmitted if its form is in already,
    DomainError unless the task is open and its last attempt was reached, AnswersInvalid for
    wrong answers (nothing stored); PermissionError unless ``can_work(user)``."""
    _require_desk(user, "record")
    if task.answered:
        raise AlreadySubmitted(_l("This call's form was already recorded."))
    if task.state != "open":
        raise DomainError(_l("This call is closed."))
    if last_outcome(task) != "reached":
        raise DomainError(_l("Log the reached call first."))
    if version is None or version.template.kind != "callback":
        raise DomainError(_l("Pick the callback questionnaire."), field="version")
    parsed = parse_answers(version, answers, complete=True)
    if not parsed.ok:
        raise AnswersInvalid(parsed.errors)
    now = now or utcnow()
    response = submit_response(
        version, parsed, channel="phone", project=task.project, origin=task, entered_by=user,
        contact=task.contact if task.kind == "relationship" else None,
        submitted_at=now, quarter=task.quarter, audit_action="callback_recorded",
        audit_detail={"task": task.id, "kind": task.kind, **subject(task), "priority": task.priority})
    task.state, task.closed_at = "reached", now
    db.session.flush()
    return response
