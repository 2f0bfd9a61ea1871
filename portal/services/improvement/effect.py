"""The plan's effect: the measures are done, checks fall due 30, 60 and 90 days later (settings),
quality records what each found; the plan closes only once a check of its current revision
found it effective, or is revised (new measures, a new revision, new checks) after one did not."""
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, func, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import CHECK_RESULTS, ImprovementCheck, ImprovementPlan, User
from ...models.base import utcnow
from .. import DomainError
from ..quarters import local_today
from ..settings import get_setting
from .figures import plan_figures
from .rules import may_check, may_manage, may_mark_done, plan_scope
from .steps import check_permission, locked_step, not_in_past, tell, text

CHECK_SETTINGS = ("improvement.check_1_days", "improvement.check_2_days", "improvement.check_3_days")


def check_offsets() -> tuple:
    """The days after the measures were done on which the checks fall due (settings; one check per
    distinct offset), in order."""
    return tuple(sorted({int(get_setting(key)) for key in CHECK_SETTINGS}))


def current_checks(plan) -> list:
    return [c for c in plan.checks if c.revision == plan.revision]


def is_due(check, today) -> bool:
    """Due: of the plan's current revision while its measures are done, on or after its date, not recorded."""
    plan = check.plan
    return (check.result is None and plan.state == "measures_done" and check.revision == plan.revision
            and check.due_on <= today)


def due_condition(today):
    """SQL condition on ImprovementCheck joined to its plan: ``is_due`` in SQL."""
    return and_(ImprovementCheck.result.is_(None), ImprovementCheck.due_on <= today,
                ImprovementPlan.state == "measures_done", ImprovementCheck.revision == ImprovementPlan.revision)


def due_checks(user=None, today=None, limit=None, where=None) -> list:
    """The checks due (of the plans ``user`` may see), oldest first, with plan, department and
    responsible loaded: one statement."""
    today = today or local_today()
    query = (select(ImprovementCheck).join(ImprovementPlan, ImprovementCheck.plan_id == ImprovementPlan.id)
             .where(due_condition(today))
             .options(joinedload(ImprovementCheck.plan).joinedload(ImprovementPlan.department),
                      joinedload(ImprovementCheck.plan).joinedload(ImprovementPlan.responsible)
                      .lazyload(User.role_rows))
             .order_by(ImprovementCheck.due_on, ImprovementCheck.id))
    if user is not None:
        query = query.where(plan_scope(user))
    if where is not None:
        query = query.where(where)
    if limit:
        query = query.limit(limit)
    return db.session.scalars(query).unique().all()


def due_checks_count(user, today=None) -> int:
    today = today or local_today()
    return db.session.scalar(
        select(func.count(ImprovementCheck.id)).join(ImprovementPlan, ImprovementCheck.plan_id == ImprovementPlan.id)
        .where(due_condition(today), plan_scope(user))) or 0


def latest_result(plan):
    """The result of the last recorded check of the current revision (by check date), or None."""
    recorded = [c for c in current_checks(plan) if c.result is not None]
    if not recorded:
        return None
    return max(recorded, key=lambda c: (c.checked_at, c.id or 0)).result


def found_effective(plan) -> bool:
    return any(c.result == "effective" for c in current_checks(plan))


def _must_be(plan, state):
    if plan.state != state:
        raise DomainError(_("This step is not possible in the plan's present state."))


def _schedule(plan, done_on):
    for offset in check_offsets():
        plan.checks.append(ImprovementCheck(revision=plan.revision, day_offset=offset,
                                            due_on=done_on + timedelta(days=offset)))


def mark_measures_done(plan, *, actor, expected_version, on=None, today=None) -> ImprovementPlan:
    """The measures were carried out ``on`` (not in the future): the plan's checks of its current
    revision are scheduled at the settings' day offsets."""
    check_permission(may_mark_done(actor, plan), actor, plan, "mark_measures_done")
    today = today or local_today()
    on = on or today
    with locked_step(plan, "mark_measures_done", actor=actor, expected_version=expected_version,
                     detail={"on": on.isoformat() if isinstance(on, date) else None}):
        _must_be(plan, "open")
        if not isinstance(on, date):
            raise DomainError(_("Enter a date."), field="on")
        if on > today:
            raise DomainError(_("This cannot lie in the future."), field="on")
        plan.state, plan.measures_done_on = "measures_done", on
        _schedule(plan, on)
    return plan


def record_check(check, *, actor, expected_version, result, note=None, today=None) -> ImprovementCheck:
    """Record what a due check found (``effective`` or ``not_effective``), keeping the figures the
    checker saw (``plan_figures`` with the window capped at the check's offset)."""
    plan = check.plan
    check_permission(may_check(actor, plan), actor, plan, "record_check")
    today = today or local_today()
    with locked_step(plan, "record_check", actor=actor, expected_version=expected_version,
                     detail={"check": check.id, "result": result, "day_offset": check.day_offset}):
        _must_be(plan, "measures_done")
        if check.result is not None:
            raise DomainError(_("This check was recorded already."), field="check")
        if check.revision != plan.revision:
            raise DomainError(_("This check belongs to measures since revised; it is no longer due."),
                              field="check")
        if check.due_on > today:
            raise DomainError(_("This check falls due on %(day)s; it cannot be recorded before.",
                                day=check.due_on.isoformat()), field="check")
        if result not in CHECK_RESULTS:
            raise DomainError(_("Say whether the measures were effective."), field="result")
        note = text(note, "note", _("Note"), required=result == "not_effective")
        check.figures = plan_figures(plan, today, cap_days=check.day_offset).as_dict()
        check.result, check.note = result, note
        check.checked_by_id, check.checked_at = actor.id, utcnow()
    return check


def close_plan(plan, *, actor, expected_version, note=None) -> ImprovementPlan:
    """Close the plan: only once a check of its current revision recorded the measures effective."""
    check_permission(may_manage(actor, plan), actor, plan, "close")
    with locked_step(plan, "close", actor=actor, expected_version=expected_version):
        _must_be(plan, "measures_done")
        if not found_effective(plan):
            raise DomainError(_("The plan cannot be closed until a check has recorded its effect as "
                                "effective; if a check found no effect, revise the measures."))
        text(note, "note", _("Note"), required=False)
        plan.state, plan.closed_at, plan.closed_by_id = "closed", utcnow(), actor.id
    return plan


def revise_plan(plan, *, actor, expected_version, measures, reason, due_on, today=None) -> ImprovementPlan:
    """After a check found no effect: new measures and due date, the reason on record; the plan is
    open again under the next revision, whose checks are scheduled when its measures are done.
    Checks of the old revision not recorded stay as history and are no longer due."""
    check_permission(may_manage(actor, plan), actor, plan, "revise")
    today = today or local_today()
    with locked_step(plan, "revise", actor=actor, expected_version=expected_version,
                     detail={"reason": (reason or "").strip()[:4000] or None,
                             "old_measures": plan.measures}):
        _must_be(plan, "measures_done")
        if latest_result(plan) != "not_effective":
            raise DomainError(_("Measures are revised after a check found them not effective."))
        measures = text(measures, "measures", _("Measures"))
        text(reason, "reason", _("Reason"))
        due_on = not_in_past(due_on, "due_on", today)
        plan.measures, plan.due_on = measures, due_on
        plan.revision += 1
        plan.state, plan.measures_done_on = "open", None
    tell(plan.responsible, "improvement_revised", plan,
         lambda: _("Improvement plan revised: %(title)s", title=plan.title),
         lambda: _("A check found the measures of “%(title)s” not effective; they were revised (due %(due)s). "
                   "Carry out the new measures and mark them done.", title=plan.title,
                   due=plan.due_on.isoformat()))
    return plan
