"""Improvement plan pages (DESIGN §4.8): the plans you may see with their checks, a new plan
(prefilled from a follow-up or complaint), one plan with its items, checks, figures before and
after, timeline and a form for each step you may take now. Who takes which step is the service's."""
from flask import Blueprint, abort, flash, g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from ...authz import access, deny
from ...extensions import db
from ...forms import MAX_INT, int_param, page_param
from ...htmx import hx_redirect, render
from ...models import (
    Complaint,
    Department,
    DepartmentMember,
    FollowUp,
    ImprovementCheck,
    ImprovementPlan,
    ImprovementPlanItem,
)
from ...navigation import nav_item
from ...services import DomainError
from ...services import improvement as service
from ...services.audit import record_event
from ...services.quarters import local_today
from .forms import PlanFilterForm, PlanForm, step_form
from .labels import CAUSE_GROUP_LABELS, CHECK_RESULT_LABELS, PLAN_STATE_LABELS, ROOT_CAUSE_LABELS, STEP_LABELS

bp = Blueprint("improvement", __name__, url_prefix="/improvement", cli_group=None)  # `flask improvement-checks`
#: who may reach the pages at all; the plan decides the rest (a department's head or members hold any role)
STAFF = ("pm", "sales", "quality", "pmo", "exec", "admin")
PER_PAGE = 50


def _nav_visible(user):
    """Beyond the wide roles: whoever heads or belongs to a department (one statement)."""
    return service.in_a_department(user)


def _nav_count(user):
    """The checks due, for those who record them (quality, PMO); the home page's list is reused."""
    if not service.may_check(user):
        return 0
    cached = g.get("improvement_checks_due")
    return len(cached) if cached is not None else service.due_checks_count(user)


nav_item(37, "improvement.index", _l("Improvement plans"), roles=service.rules.WIDE, count=_nav_count,
         also=_nav_visible)


@bp.app_context_processor
def _panel_helpers():
    """For the follow-up and complaint pages: ``improvement_panel(followup=..)`` gives the
    context of ``_macros/improvement.html``'s ``plans_panel`` (only when called)."""
    return {"improvement_panel": improvement_panel}


def improvement_panel(followup=None, complaint=None):
    """The plans an item is in that the signed-in user may see, and the link to group it into a
    new plan if they may create one: ``{"plans": [...], "new_url": url or None}``."""
    plans = service.plans_of_item(followup=followup, complaint=complaint, user=current_user)
    new_url = None
    if service.may_create(current_user):
        args = {"followup": followup.id} if followup is not None else {"complaint": complaint.id}
        new_url = url_for("improvement.new", **args)
    return {"plans": plans, "new_url": new_url}


def get_plan_or_404(plan_id):
    """The plan, 404 if missing or not yours to see (its existence is not told; the refusal is audited)."""
    plan = db.session.get(ImprovementPlan, plan_id)
    if plan is None:
        abort(404)
    if not service.can_view(current_user, plan):
        db.session.rollback()
        record_event("access_denied", detail={"reason": "improvement_plan", "plan_id": plan_id,
                                               "path": request.path, "method": request.method})
        db.session.commit()
        abort(404)
    return plan


def _labels():
    return dict(plan_state_labels=PLAN_STATE_LABELS, root_cause_labels=ROOT_CAUSE_LABELS,
                cause_group_labels=CAUSE_GROUP_LABELS, check_result_labels=CHECK_RESULT_LABELS,
                step_labels=STEP_LABELS)


# --- the list ----------------------------------------------------------------------------------

@bp.route("/")
@access(*STAFF)
def index():
    """The plans you may see, by state, department and checks due, with the checks due; htmx gets the table."""
    form = PlanFilterForm(request.args)
    form.department_id.choices = [("", str(_l("All departments")))] + [
        (d.id, d.name) for d in db.session.scalars(select(Department).order_by(Department.name))]
    values = form.filters()
    filters = service.PlanFilters(state=values.get("state"), department_id=values.get("department_id"),
                                  check_due=values.get("check_due") == "1")
    today = local_today()
    results = service.plans_page(current_user, filters, page=page_param(request.args), per_page=PER_PAGE,
                                 today=today)
    return render("improvement/index.html", "improvement/_results.html", form=form, results=results,
                  counts=service.plan_counts(current_user, today),
                  due=service.due_checks(current_user, today, limit=20),
                  may_create=service.may_create(current_user), today=today, **_labels())


# --- a new plan --------------------------------------------------------------------------------

def _departments_for(user):
    """The active departments ``user`` may open a plan for (all for quality/PMO; a head: theirs)."""
    query = (select(Department).where(Department.active.is_(True)).order_by(Department.name)
             .options(joinedload(Department.head),
                      selectinload(Department.memberships).joinedload(DepartmentMember.user)))
    if not user.has_role(*service.rules.MANAGERS):
        query = query.where(Department.head_id == user.id)
    return db.session.scalars(query).unique().all()


def _items_of(form):
    """The form's follow-up numbers and complaint references as (kind, object-or-id) items; an
    unknown reference is a field error (the service checks visibility and other plans)."""
    items = []
    for ref in form.refs("followups"):
        number = int(ref) if ref.isdigit() and int(ref) <= MAX_INT else None
        if number is None:
            raise DomainError(_("“%(ref)s” is not a follow-up number.", ref=ref), field="followups")
        items.append(("followup", number))
    for ref in form.refs("complaints"):
        items.append(("complaint", _complaint_ref(ref, "complaints")))
    return items


def _complaint_ref(ref, field):
    ref = (ref or "").strip()
    condition = Complaint.reference == ref.upper()
    if ref.isdigit() and int(ref) <= MAX_INT:
        condition = or_(condition, Complaint.id == int(ref))
    complaint = db.session.scalars(select(Complaint).where(condition).limit(1)).first()
    if complaint is None:
        raise DomainError(_("There is no complaint “%(ref)s”.", ref=ref), field=field)
    return complaint


#: the service's item fields, as the new-plan form names them
_NEW_FIELDS = {"items": "followups", "item": "followups", "followup": "followups", "complaint": "complaints"}


@bp.route("/new", methods=["GET", "POST"])
@access(*STAFF)
def new():
    """Group follow-ups and complaints into a new plan (``?followup=ID&complaint=ID`` prefill them)."""
    if not service.may_create(current_user):
        deny("improvement_create")
    departments = _departments_for(current_user)
    posted = request.method == "POST"
    form = PlanForm(formdata=request.form if posted else None)
    form.fill_plan(departments)
    if not posted:
        followup, complaint = int_param(request.args, "followup"), int_param(request.args, "complaint")
        form.followups.data = str(followup) if followup else ""
        if complaint:
            found = db.session.get(Complaint, complaint)
            form.complaints.data = found.reference if found is not None else str(complaint)
        if len(departments) == 1:
            form.department.data = departments[0].id
        return render("improvement/new.html", "improvement/_new_form.html", form=form)
    if form.validate():
        values = {k: v for k, v in form.values().items() if k not in ("followups", "complaints")}
        try:
            plan = service.create_plan(actor=current_user, items=_items_of(form), **values)
        except DomainError as error:
            db.session.rollback()
            error.field = _NEW_FIELDS.get(error.field, error.field)
            form.show_error(error)
        else:
            db.session.commit()
            flash(_("The improvement plan was created."), "success")
            return hx_redirect(url_for(".detail", plan_id=plan.id))
    return render("improvement/new.html", "improvement/_new_form.html", status=422, form=form)


# --- one plan ----------------------------------------------------------------------------------

def _load(plan_id):
    """The plan with everything its page shows, in a few statements."""
    db.session.scalars(select(ImprovementPlan).where(ImprovementPlan.id == plan_id).options(
        joinedload(ImprovementPlan.department), joinedload(ImprovementPlan.responsible),
        selectinload(ImprovementPlan.items).joinedload(ImprovementPlanItem.followup).joinedload(FollowUp.project),
        selectinload(ImprovementPlan.items).joinedload(ImprovementPlanItem.complaint),
        selectinload(ImprovementPlan.checks).joinedload(ImprovementCheck.checked_by))).unique().all()
    return get_plan_or_404(plan_id)


def step_url(plan, step):
    return url_for(f"improvement.{step}", plan_id=plan.id)


def _box(plan, status=200, *, failed=None, message=None):
    """The plan's box (facts, items, checks, figures, timeline, a form per allowed step);
    ``failed``: (step, the bound form that did not go through), shown with its errors."""
    today = local_today()
    steps = service.allowed_steps(current_user, plan)
    due = [c for c in service.current_checks(plan) if service.is_due(c, today)]
    if "record_check" in steps and not due:
        steps.remove("record_check")
    if "revise" in steps and service.latest_result(plan) != "not_effective":
        steps.remove("revise")
    departments = _departments_for(current_user) if "edit" in steps else ()
    forms = {step: step_form(step, plan, departments=departments, due=due) for step in steps}
    if failed is not None:
        forms[failed[0]] = failed[1]
    return render("improvement/detail.html", "improvement/_box.html", status=status, plan=plan, forms=forms,
                  message=message, step_url=step_url, today=today, due_ids={c.id for c in due},
                  figures=service.plan_figures(plan, today), timeline=service.timeline_of(plan), **_labels())


@bp.route("/<int:plan_id>")
@access(*STAFF)
def detail(plan_id):
    """One plan: facts, items, checks with their due dates and results, figures, timeline, your steps."""
    return _box(_load(plan_id))  # 404 if missing or not yours to see


def _step(plan_id, step, call):
    """Take one step; 422 with the errors beside the fields, 409 if it changed meanwhile."""
    plan = _load(plan_id)  # 404 if missing or not yours to see
    if not service.may_take(current_user, plan, step):
        deny("improvement_step", plan_id=plan_id, step=step)
    today = local_today()
    due = [c for c in service.current_checks(plan) if service.is_due(c, today)]
    departments = _departments_for(current_user) if step == "edit" else ()
    form = step_form(step, plan, request.form, departments=departments, due=due)
    if not form.validate():
        return _box(plan, 422, failed=(step, form))
    try:
        call(plan, form, version=form.version.data, values=form.values(), today=today)
    except service.ChangedMeanwhile as error:
        db.session.rollback()
        return _box(_load(plan_id), 409, message=error.message)
    except DomainError as error:
        db.session.rollback()
        form.show_error(error)
        return _box(_load(plan_id), 422, failed=(step, form))
    db.session.commit()
    flash(_("Saved: %(step)s.", step=STEP_LABELS[step]), "success")
    return hx_redirect(url_for(".detail", plan_id=plan_id))


@bp.route("/<int:plan_id>/edit", methods=["POST"])
@access(*STAFF)
def edit(plan_id):
    """Change the plan while its measures are under way (quality, PMO, the department's head)."""
    return _step(plan_id, "edit", lambda plan, form, version, values, today: service.edit_plan(
        plan, actor=current_user, expected_version=version, today=today, **values))


@bp.route("/<int:plan_id>/items", methods=["POST"])
@access(*STAFF)
def add_item(plan_id):
    """Group one more follow-up (by number) or complaint (by reference or number) into the plan."""
    def call(plan, form, version, values, today):
        followup, complaint = (values.get("followup") or "").strip(), (values.get("complaint") or "").strip()
        if bool(followup) == bool(complaint):
            raise DomainError(_("Name one follow-up or one complaint."), field="followup")
        if followup:
            if not followup.isdigit() or int(followup) > MAX_INT:
                raise DomainError(_("“%(ref)s” is not a follow-up number.", ref=followup), field="followup")
            return service.add_item(plan, actor=current_user, expected_version=version, followup=int(followup))
        return service.add_item(plan, actor=current_user, expected_version=version,
                                complaint=_complaint_ref(complaint, "complaint"))
    return _step(plan_id, "add_item", call)


@bp.route("/<int:plan_id>/items/remove", methods=["POST"])
@access(*STAFF)
def remove_item(plan_id):
    """Take an item out of the plan while its measures are under way."""
    def call(plan, form, version, values, today):
        item = int_param({"item": values.get("item")}, "item")
        return service.remove_item(plan, item, actor=current_user, expected_version=version)
    return _step(plan_id, "remove_item", call)


@bp.route("/<int:plan_id>/measures-done", methods=["POST"])
@access(*STAFF)
def mark_measures_done(plan_id):
    """The responsible person (or the head, quality, PMO) says the measures are done: checks are scheduled."""
    return _step(plan_id, "mark_measures_done", lambda plan, form, version, values, today: service.mark_measures_done(
        plan, actor=current_user, expected_version=version, on=values.get("on"), today=today))


@bp.route("/<int:plan_id>/check", methods=["POST"])
@access(*service.rules.CHECKERS)
def record_check(plan_id):
    """Quality (or PMO) records what a due check found, with the figures seen."""
    def call(plan, form, version, values, today):
        check = next((c for c in plan.checks if c.id == values.get("check")), None)
        if check is None:
            raise DomainError(_("Choose a check that is due."), field="check")
        return service.record_check(check, actor=current_user, expected_version=version,
                                    result=values.get("result"), note=values.get("note"), today=today)
    return _step(plan_id, "record_check", call)


@bp.route("/<int:plan_id>/close", methods=["POST"])
@access(*STAFF)
def close(plan_id):
    """Close the plan, once a check of its current revision found the measures effective."""
    return _step(plan_id, "close", lambda plan, form, version, values, today: service.close_plan(
        plan, actor=current_user, expected_version=version, note=values.get("note")))


@bp.route("/<int:plan_id>/revise", methods=["POST"])
@access(*STAFF)
def revise(plan_id):
    """After a check found no effect: new measures, the reason and a new due date (a new revision)."""
    return _step(plan_id, "revise", lambda plan, form, version, values, today: service.revise_plan(
        plan, actor=current_user, expected_version=version, today=today, **values))
