"""Reading follow-ups: who may see which, the filtered list, and the counts on the home page."""
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import FollowUp, Project, Response, User
from ..departments import department_ids_of, is_member
from ..quarters import local_today
from .rules import ACTIVE_STATES


def is_overdue(followup, today: date) -> bool:
    """Past its due date while the PM still has work to do (resolved waits for PMO, not the PM)."""
    return followup.state in ACTIVE_STATES and followup.due_on is not None and followup.due_on < today


def _overdue_condition(today):
    return FollowUp.state.in_(ACTIVE_STATES) & (FollowUp.due_on < today)


def followup_of(response):
    """The follow-up a response opened, or None."""
    return db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))


def can_view(user, followup) -> bool:
    """PM: the follow-ups they own or of projects they run; a department's head and members: those
    routed to it; PMO, quality and exec: all."""
    if user.has_role("pmo", "quality", "exec"):
        return True
    if user.has_role("pm") and (followup.owner_id == user.id or followup.project.pm_id == user.id):
        return True
    return followup.department is not None and is_member(user, followup.department)


def followup_scope(user):
    """SQL condition on FollowUp (joined to Project) for what ``user`` may see."""
    if user.has_role("pmo", "quality", "exec"):
        return true()
    routed = FollowUp.department_id.in_(department_ids_of(user))
    if user.has_role("pm"):
        return or_(FollowUp.owner_id == user.id, Project.pm_id == user.id, routed)
    return routed


@dataclass(frozen=True)
class FollowUpFilters:
    state: str | None = None     # a state, or "active" for every state the PM still works on
    project_id: int | None = None
    owner_id: int | None = None
    overdue: bool = False
    escalated_to_id: int | None = None
    department_id: int | None = None
    my_departments: bool = False  # routed to a department the user heads or belongs to: their queue
    reopened_often: bool = False  # reopened twice or more: the signal PMO looks for


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
    if filters.department_id:
        query = query.where(FollowUp.department_id == filters.department_id)
    if filters.my_departments:
        query = query.where(FollowUp.department_id.in_(department_ids_of(user)))
    if filters.escalated_to_id:
        query = query.where(FollowUp.escalated_to_id == filters.escalated_to_id)
    if filters.overdue:
        query = query.where(_overdue_condition(today))
    if filters.reopened_often:
        query = query.where(FollowUp.reopen_count >= 2)
    return query


def followups_page(user, filters: FollowUpFilters, *, page=1, per_page=50, today=None):
    """One page (``.items``, ``.total``) of the follow-ups ``user`` may see, oldest due first."""
    from ..listing import paginate
    query = (followups_query(user, filters, today)
             .options(joinedload(FollowUp.project), joinedload(FollowUp.owner).lazyload(User.role_rows),
                      joinedload(FollowUp.department),
                      joinedload(FollowUp.response).lazyload(Response.answers))  # lists show neither
             .order_by(FollowUp.due_on.is_(None), FollowUp.due_on, FollowUp.id))
    return paginate(query, page, per_page)


def owners_visible_to(user):
    """The PMs owning follow-ups ``user`` may see (the list's PM filter)."""
    owners = followups_query(user, FollowUpFilters()).with_only_columns(FollowUp.owner_id).distinct()
    return db.session.execute(select(User.id, User.display_name).where(User.id.in_(owners))
                              .order_by(User.display_name)).all()  # rows with .id, .display_name


def projects_visible_to(user):
    """The projects of the follow-ups ``user`` may see (the PMO home's project filter)."""
    ids = followups_query(user, FollowUpFilters()).with_only_columns(FollowUp.project_id).distinct()
    return db.session.execute(select(Project.id, Project.code, Project.name).where(Project.id.in_(ids))
                              .order_by(Project.code)).all()  # rows with .id, .code, .name


def _counts(user, where, **named):
    """One aggregate query: {name: how many of the visible follow-ups matching ``where`` meet it}."""
    query = (select(*(func.coalesce(func.sum(case((cond, 1), else_=0)), 0) for cond in named.values()))
             .select_from(FollowUp).join(Project, FollowUp.project_id == Project.id)
             .where(followup_scope(user), where))
    return dict(zip(named, db.session.execute(query).one()))


def home_counts(user, today: date | None = None, *, project_id=None, owner_id=None) -> dict:
    """What waits for ``user``: PM open/overdue/reopened of their own; PMO overdue/escalated/
    to verify/reopened twice or more across all projects (or one project, one PM); exec the
    escalations awaiting their answer; a department's head or member the active follow-ups routed
    to their departments (one query per role, one for the departments)."""
    today = today or local_today()
    counts = {}
    if user.has_role("pm"):
        counts["pm"] = _counts(user, FollowUp.owner_id == user.id, open=FollowUp.state.in_(ACTIVE_STATES),
                               overdue=_overdue_condition(today), reopened=FollowUp.state == "reopened")
    if user.has_role("pmo"):
        where = and_(FollowUp.project_id == project_id if project_id else true(),
                     FollowUp.owner_id == owner_id if owner_id else true())
        counts["pmo"] = _counts(user, where, overdue=_overdue_condition(today),
                                escalated=FollowUp.state == "escalated", to_verify=FollowUp.state == "resolved",
                                reopened_often=FollowUp.reopen_count >= 2)
    if user.has_role("exec"):
        counts["exec"] = _counts(user, FollowUp.escalated_to_id == user.id,
                                 escalated=FollowUp.state == "escalated")
    routed = _counts(user, FollowUp.department_id.in_(department_ids_of(user)),
                     active=FollowUp.state.in_(ACTIVE_STATES), overdue=_overdue_condition(today))
    if routed["active"]:  # a department's queue: shown while it holds work
        counts["department"] = routed
    return counts
