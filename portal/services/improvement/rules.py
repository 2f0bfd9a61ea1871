"""Who may do what to an improvement plan, and who sees which plan.

Quality, PMO, exec and admin see every plan; a department's head and members see its plans; the
responsible person sees theirs. Creating, editing, grouping items, closing and revising are for
quality, PMO or the head of the plan's department; the measures are marked done by the
responsible person, the head, quality or PMO; the effect is checked by quality or PMO."""
from sqlalchemy import exists, or_, select, true

from ...extensions import db
from ...models import Department
from ..departments import department_ids_of

WIDE = ("quality", "pmo", "exec", "admin")
#: the roles that run plans across departments
MANAGERS = ("quality", "pmo")
#: the roles that record a check of the effect (the quality department checks it; PMO may too)
CHECKERS = ("quality", "pmo")


def _active(user):
    return user is not None and user.is_active


def heads_a_department(user) -> bool:
    return _active(user) and bool(db.session.scalar(select(exists().where(
        Department.head_id == user.id, Department.active.is_(True)))))


def is_head_of(user, department) -> bool:
    return _active(user) and department is not None and department.head_id == user.id


def plan_scope(user):
    """SQL condition on ImprovementPlan for what ``user`` may see (``can_view`` in SQL)."""
    from ...models import ImprovementPlan
    if user.has_role(*WIDE):
        return true()
    return or_(ImprovementPlan.responsible_id == user.id,
               ImprovementPlan.department_id.in_(department_ids_of(user)))


def can_view(user, plan) -> bool:
    if not _active(user):
        return False
    if user.has_role(*WIDE) or plan.responsible_id == user.id:
        return True
    return plan.department_id in set(db.session.scalars(department_ids_of(user)))


def may_create(user, department=None) -> bool:
    """Quality and PMO for any department; a head for their own (``department`` None: any of theirs)."""
    if not _active(user):
        return False
    if user.has_role(*MANAGERS):
        return True
    return is_head_of(user, department) if department is not None else heads_a_department(user)


def may_manage(user, plan) -> bool:
    """Edit, group items, close, revise: quality, PMO or the head of the plan's department."""
    return _active(user) and (user.has_role(*MANAGERS) or is_head_of(user, plan.department))


def may_mark_done(user, plan) -> bool:
    return _active(user) and (plan.responsible_id == user.id or may_manage(user, plan))


def may_check(user, plan=None) -> bool:
    return _active(user) and user.has_role(*CHECKERS)


#: step -> the plan states it is offered in, and who may take it
STEPS = {
    "edit": (("open",), may_manage),
    "add_item": (("open",), may_manage),
    "remove_item": (("open",), may_manage),
    "mark_measures_done": (("open",), may_mark_done),
    "record_check": (("measures_done",), may_check),
    "close": (("measures_done",), may_manage),
    "revise": (("measures_done",), may_manage),
}


def may_take(user, plan, step) -> bool:
    """Whether ``user`` takes ``step`` on ``plan`` (ignoring its state)."""
    return STEPS[step][1](user, plan)


def allowed_steps(user, plan) -> list:
    """The steps the plan's state offers and ``user`` may take (the service still checks the rest,
    e.g. that a check found the effect before closing)."""
    return [step for step, (states, who) in STEPS.items() if plan.state in states and who(user, plan)]
