"""Making a plan: create it with its items, edit it while its measures are under way, add and
remove follow-ups and complaints; which plans an item is in."""
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import (
    DIMENSIONS,
    ROOT_CAUSES,
    Complaint,
    Department,
    FollowUp,
    ImprovementPlan,
    ImprovementPlanItem,
    User,
)
from .. import DomainError
from .. import complaints as complaint_service
from .. import followups as followup_service
from ..audit import record_event
from ..quarters import local_today
from .rules import may_create, may_manage, plan_scope
from .steps import TITLE_MAX, check_permission, locked_step, not_in_past, tell, text


# --- the plan's fields ---------------------------------------------------------------------------

def _department(value):
    if not isinstance(value, Department):
        value = db.session.get(Department, value) if value else None
    if value is None or not value.active:
        raise DomainError(_("Choose a department."), field="department")
    return value


def _responsible(value, department):
    if not isinstance(value, User):
        value = db.session.get(User, value) if value else None
    member_ids = {m.user_id for m in department.memberships} | {department.head_id}
    if value is None or not value.active or value.id not in member_ids:
        raise DomainError(_("Choose the responsible person among the department's head and members."),
                          field="responsible")
    return value


def _fields(values, today, *, keep_due_on=None):
    """The checked plan fields from ``values`` (the keywords of create_plan/edit_plan)."""
    root_cause = values.get("root_cause")
    if root_cause not in ROOT_CAUSES:
        raise DomainError(_("Choose the root-cause category."), field="root_cause")
    dimension = values.get("dimension") or None
    if dimension is not None and dimension not in DIMENSIONS:
        raise DomainError(_("Choose a dimension from the list."), field="dimension")
    department = _department(values.get("department"))
    due_on = values.get("due_on")
    if not (keep_due_on is not None and due_on == keep_due_on):  # an unchanged due date may have passed
        due_on = not_in_past(due_on, "due_on", today)
    return dict(
        title=text(values.get("title"), "title", _("Title"), limit=TITLE_MAX),
        goal=text(values.get("goal"), "goal", _("Goal")),
        measures=text(values.get("measures"), "measures", _("Measures")),
        root_cause=root_cause, dimension=dimension, department=department,
        responsible=_responsible(values.get("responsible"), department), due_on=due_on)


# --- items ---------------------------------------------------------------------------------------

def _open_plan_of(followup=None, complaint=None, *, other_than=None):
    """The plan (not closed) the item is in already, if any."""
    column = (ImprovementPlanItem.followup_id == followup.id if followup is not None
              else ImprovementPlanItem.complaint_id == complaint.id)
    query = (select(ImprovementPlan).join(ImprovementPlanItem, ImprovementPlanItem.plan_id == ImprovementPlan.id)
             .where(column, ImprovementPlan.state != "closed"))
    if other_than is not None and other_than.id is not None:
        query = query.where(ImprovementPlan.id != other_than.id)
    return db.session.scalars(query.limit(1)).first()


def _load_item(actor, followup=None, complaint=None):
    """The follow-up or complaint (an object or an id) ``actor`` may see; DomainError otherwise."""
    if (followup is None) == (complaint is None):
        raise DomainError(_("Name one follow-up or one complaint."), field="item")
    if followup is not None:
        if not isinstance(followup, FollowUp):
            followup = db.session.get(FollowUp, followup)
        if followup is None or not followup_service.can_view(actor, followup):
            raise DomainError(_("There is no such follow-up that you may see."), field="followup")
        return followup, None
    if not isinstance(complaint, Complaint):
        complaint = db.session.get(Complaint, complaint)
    if complaint is None or not complaint_service.can_view(actor, complaint):
        raise DomainError(_("There is no such complaint that you may see."), field="complaint")
    return None, complaint


def _item_label(followup, complaint):
    return (_("follow-up #%(id)d", id=followup.id) if followup is not None
            else _("complaint %(ref)s", ref=complaint.reference))


def _new_item(plan, actor, followup=None, complaint=None):
    """A new item of ``plan``; a refusal names the field ``followup`` or ``complaint``."""
    followup, complaint = _load_item(actor, followup, complaint)
    field = "followup" if followup is not None else "complaint"
    if any((followup is not None and i.followup_id == followup.id)
           or (complaint is not None and i.complaint_id == complaint.id) for i in plan.items):
        raise DomainError(_("%(item)s is in this plan already.", item=_item_label(followup, complaint)),
                          field=field)
    other = _open_plan_of(followup, complaint, other_than=plan)
    if other is not None:
        raise DomainError(_("%(item)s is in the improvement plan “%(title)s” already; an item may be in "
                            "one plan at a time until that plan is closed.",
                            item=_item_label(followup, complaint), title=other.title), field=field)
    return ImprovementPlanItem(followup=followup, complaint=complaint, added_by_id=actor.id)


def _item_detail(item):
    return {"followup": item.followup_id or (item.followup.id if item.followup else None),
            "complaint": item.complaint_id or (item.complaint.id if item.complaint else None)}


# --- the steps -----------------------------------------------------------------------------------

def _tell_assigned(plan, actor):
    if plan.responsible_id != actor.id:
        tell(plan.responsible, "improvement_assigned", plan,
             lambda: _("Improvement plan assigned to you: %(title)s", title=plan.title),
             lambda: _("%(who)s made you responsible for the improvement plan “%(title)s” (due %(due)s); "
                       "carry out its measures and mark them done.",
                       who=actor.display_name, title=plan.title, due=plan.due_on.isoformat()))


def create_plan(*, actor, items=(), today=None, **values) -> ImprovementPlan:
    """A new open plan: ``title``, ``goal``, ``measures``, ``root_cause`` (ROOT_CAUSES), optional
    ``dimension`` (DIMENSIONS), ``department`` (active), ``responsible`` (its head or a member),
    ``due_on`` (not in the past) and ``items``: at least one follow-up or complaint, each a
    ``FollowUp``/``Complaint`` (or ``("followup"|"complaint", id)``) that ``actor`` may see and
    that is in no other plan not closed. PermissionError if ``actor`` may not create it."""
    today = today or local_today()
    fields = _fields(values, today)
    check_permission(may_create(actor, fields["department"]), actor, None, "create")
    plan = ImprovementPlan(state="open", revision=0, created_by_id=actor.id, **fields)
    plan.items = []
    for item in items:
        kind, obj = _kind_of(item)
        plan.items.append(_new_item(plan, actor, **{kind: obj}))
    if not plan.items:
        raise DomainError(_("Group at least one follow-up or complaint into the plan."), field="items")
    db.session.add(plan)
    db.session.flush()
    record_event("improvement_create", plan, actor=actor,
                 detail={"to": "open", "items": [_item_detail(i) for i in plan.items],
                         "department": plan.department_id, "responsible": plan.responsible_id,
                         "version": plan.version})
    _tell_assigned(plan, actor)
    return plan


def _kind_of(item):
    if isinstance(item, FollowUp):
        return "followup", item
    if isinstance(item, Complaint):
        return "complaint", item
    kind, obj = item
    if kind not in ("followup", "complaint"):
        raise DomainError(_("Name one follow-up or one complaint."), field="items")
    return kind, obj


def _must_be_open(plan):
    if plan.state != "open":
        raise DomainError(_("This is possible only while the plan's measures are under way."))


def edit_plan(plan, *, actor, expected_version, today=None, **values) -> ImprovementPlan:
    """Change the plan's fields (as ``create_plan``) while it is open; a due date kept unchanged
    may lie in the past. The new responsible person is told."""
    check_permission(may_manage(actor, plan), actor, plan, "edit")
    today = today or local_today()
    before = {"responsible": plan.responsible_id, "department": plan.department_id}
    with locked_step(plan, "edit", actor=actor, expected_version=expected_version):
        _must_be_open(plan)
        fields = _fields(values, today, keep_due_on=plan.due_on)
        if fields["department"].id != plan.department_id:
            check_permission(may_create(actor, fields["department"]), actor, plan, "move")
        for name, value in fields.items():
            setattr(plan, name, value)
        plan.department_id, plan.responsible_id = fields["department"].id, fields["responsible"].id
    if plan.responsible_id != before["responsible"]:
        _tell_assigned(plan, actor)
    return plan


def add_item(plan, *, actor, expected_version, followup=None, complaint=None) -> ImprovementPlanItem:
    """Group one more follow-up or complaint into the open plan."""
    check_permission(may_manage(actor, plan), actor, plan, "add_item")
    with locked_step(plan, "add_item", actor=actor, expected_version=expected_version):
        _must_be_open(plan)
        item = _new_item(plan, actor, followup, complaint)
        plan.items.append(item)
    db.session.flush()
    return item


def remove_item(plan, item, *, actor, expected_version) -> ImprovementPlan:
    """Take an item out of the open plan (not its last one: a plan groups something)."""
    check_permission(may_manage(actor, plan), actor, plan, "remove_item")
    if not isinstance(item, ImprovementPlanItem):
        item = db.session.get(ImprovementPlanItem, item) if item else None
    with locked_step(plan, "remove_item", actor=actor, expected_version=expected_version,
                     detail=_item_detail(item) if item is not None and item.plan_id == plan.id else None):
        _must_be_open(plan)
        if item is None or item.plan_id != plan.id:
            raise DomainError(_("This item is not in the plan."), field="item")
        if len(plan.items) <= 1:
            raise DomainError(_("A plan keeps at least one item; add another before removing this one."),
                              field="item")
        plan.items.remove(item)
    return plan


def plans_of_item(followup=None, complaint=None, *, user=None) -> list:
    """The plans a follow-up or a complaint is grouped into, newest first (only those ``user`` may
    see, when given), with department and responsible loaded."""
    if (followup is None) == (complaint is None):
        raise ValueError("name one follow-up or one complaint")
    column = (ImprovementPlanItem.followup_id == _id(followup) if followup is not None
              else ImprovementPlanItem.complaint_id == _id(complaint))
    query = (select(ImprovementPlan).join(ImprovementPlanItem, ImprovementPlanItem.plan_id == ImprovementPlan.id)
             .where(column).options(joinedload(ImprovementPlan.department), joinedload(ImprovementPlan.responsible))
             .order_by(ImprovementPlan.created_at.desc(), ImprovementPlan.id.desc()))
    if user is not None:
        query = query.where(plan_scope(user))
    return db.session.scalars(query).unique().all()


def _id(obj):
    return obj if isinstance(obj, int) else obj.id

