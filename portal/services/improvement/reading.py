"""Reading plans: the filtered list with its counts and next checks, and a plan's timeline (its
audit events). A fixed number of statements per page, whatever the data."""
import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import AuditEvent, ImprovementCheck, ImprovementPlan, ImprovementPlanItem, User
from ..listing import paginate
from ..quarters import local_today
from .rules import plan_scope


@dataclass(frozen=True)
class PlanFilters:
    state: str | None = None          # a state, or "active" for open and measures_done
    department_id: int | None = None
    check_due: bool = False


@dataclass(frozen=True)
class PlanRow:
    plan: ImprovementPlan
    items: int
    next_check_on: date | None   # the earliest unrecorded check of the current revision
    check_due: bool


def _due_exists(today):
    return exists().where(ImprovementCheck.plan_id == ImprovementPlan.id, ImprovementCheck.result.is_(None),
                          ImprovementCheck.due_on <= today, ImprovementCheck.revision == ImprovementPlan.revision,
                          ImprovementPlan.state == "measures_done")


def plans_query(user, filters: PlanFilters, today=None):
    today = today or local_today()
    query = select(ImprovementPlan).where(plan_scope(user))
    if filters.state == "active":
        query = query.where(ImprovementPlan.state != "closed")
    elif filters.state:
        query = query.where(ImprovementPlan.state == filters.state)
    if filters.department_id:
        query = query.where(ImprovementPlan.department_id == filters.department_id)
    if filters.check_due:
        query = query.where(_due_exists(today))
    return query


def plans_page(user, filters: PlanFilters, *, page=1, per_page=50, today=None):
    """One page of the plans ``user`` may see (``.items`` are PlanRow), those with a check due
    first, then by due date: the count, the page, and one statement for items and checks."""
    today = today or local_today()
    query = (plans_query(user, filters, today)
             .options(joinedload(ImprovementPlan.department),
                      joinedload(ImprovementPlan.responsible).lazyload(User.role_rows))
             .order_by(case((_due_exists(today), 0), else_=1), ImprovementPlan.state == "closed",
                       ImprovementPlan.due_on, ImprovementPlan.id))
    result = paginate(query, page, per_page)
    plans = list(result.items)
    ids = [p.id for p in plans]
    items, checks = {}, {}
    if ids:
        item_counts = (select(ImprovementPlanItem.plan_id.label("plan_id"), func.count().label("n"))
                       .where(ImprovementPlanItem.plan_id.in_(ids)).group_by(ImprovementPlanItem.plan_id)
                       .subquery())
        next_checks = (select(ImprovementCheck.plan_id.label("plan_id"),
                              func.min(ImprovementCheck.due_on).label("next_on"))
                       .join(ImprovementPlan, ImprovementPlan.id == ImprovementCheck.plan_id)
                       .where(ImprovementCheck.plan_id.in_(ids), ImprovementCheck.result.is_(None),
                              ImprovementCheck.revision == ImprovementPlan.revision,
                              ImprovementPlan.state == "measures_done")
                       .group_by(ImprovementCheck.plan_id).subquery())
        rows = db.session.execute(
            select(ImprovementPlan.id, item_counts.c.n, next_checks.c.next_on)
            .outerjoin(item_counts, item_counts.c.plan_id == ImprovementPlan.id)
            .outerjoin(next_checks, next_checks.c.plan_id == ImprovementPlan.id)
            .where(ImprovementPlan.id.in_(ids)))
        for plan_id, n, next_on in rows:
            items[plan_id], checks[plan_id] = n or 0, next_on
    result.items = [PlanRow(p, items.get(p.id, 0), checks.get(p.id),
                            checks.get(p.id) is not None and checks[p.id] <= today) for p in plans]
    return result


def plan_counts(user, today=None) -> dict:
    """How many plans ``user`` may see in each state, and how many have a check due (one statement)."""
    today = today or local_today()
    named = {"open": ImprovementPlan.state == "open", "measures_done": ImprovementPlan.state == "measures_done",
             "closed": ImprovementPlan.state == "closed", "check_due": _due_exists(today)}
    row = db.session.execute(
        select(*(func.coalesce(func.sum(case((cond, 1), else_=0)), 0) for cond in named.values()))
        .select_from(ImprovementPlan).where(plan_scope(user))).one()
    return {name: int(value) for name, value in zip(named, row)}


@dataclass(frozen=True)
class TimelineEntry:
    at: object
    who: str | None
    action: str
    detail: dict


def timeline_of(plan) -> list:
    """The plan's audit events, oldest first (one statement; the username is a snapshot)."""
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "ImprovementPlan",
                                 AuditEvent.object_id == str(plan.id),
                                 AuditEvent.action.like("improvement\\_%", escape="\\"))
        .order_by(AuditEvent.at, AuditEvent.id))
    entries = []
    for event in events:
        try:
            detail = json.loads(event.detail) if event.detail else {}
        except ValueError:
            detail = {}
        entries.append(TimelineEntry(event.at, event.username, event.action.removeprefix("improvement_"),
                                     detail if isinstance(detail, dict) else {}))
    return entries


__all__ = ["PlanFilters", "PlanRow", "plans_query", "plans_page", "plan_counts", "timeline_of"]
