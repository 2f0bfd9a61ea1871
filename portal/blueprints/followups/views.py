"""Follow-up pages (DESIGN §4.4): the list, one follow-up with its timeline and a form for each
step the signed-in user may take now. Who takes which step is the service's table."""
from flask import Blueprint, abort, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...authz import access, deny
from ...extensions import db
from ...forms import page_param
from ...htmx import hx_redirect, is_partial, render
from ...models import FollowUp
from ...navigation import home_section, nav_item
from ...services import DomainError
from ...services import followups as service
from ...services.departments import department_choices, in_a_department
from ...services.figures_cache import cached
from ...services.quarters import local_today
from ...services.settings import setting_choices
from .forms import FollowUpFilterForm, PmoHomeFilterForm, step_form

bp = Blueprint("followups", __name__, cli_group=None)  # `flask notify-overdue`
#: who reads follow-ups (PM: their own; the others all of them); besides them, a department's head
#: and members read those routed to it, whatever their role (``service.followup_scope`` decides)
READERS = ("pm", "pmo", "quality", "exec")
WIDE = ("pmo", "quality", "exec")
PER_PAGE = 50

nav_item(35, "followups.index", _l("Follow-ups"), roles=READERS, also=in_a_department)


def get_followup_or_404(followup_id):
    """The follow-up, 404 if missing, 403 unless you may see it (a PM: only their own)."""
    followup = db.session.get(FollowUp, followup_id) or abort(404)
    if not service.can_view(current_user, followup):
        deny("followup", followup_id=followup_id)
    return followup


@bp.route("/followups")
@access()
def index():
    """The follow-ups you may see, filtered by state, project, PM, department and overdue; htmx
    gets the table. A department's members find its queue here (filtered to it)."""
    form = FollowUpFilterForm(request.args)
    form.owner_id.choices = [("", str(_l("All project managers")))] + [
        (u.id, u.display_name) for u in service.owners_visible_to(current_user)]
    mine = department_choices(current_user)
    listed = department_choices() if current_user.has_role(*WIDE) else mine
    form.department_id.choices = [("", str(_l("All departments")))] + (
        [("mine", str(_l("My departments' queue")))] if mine else []) + [(str(d.id), d.name) for d in listed]
    values = form.filters()
    department = values.get("department_id")
    filters = service.FollowUpFilters(
        state=values.get("state"), project_id=values.get("project_id"), owner_id=values.get("owner_id"),
        department_id=int(department) if department not in (None, "mine") else None,
        my_departments=department == "mine",
        overdue=values.get("overdue") == "1", reopened_often=values.get("reopened") == "2")
    page = page_param(request.args)
    today = local_today()
    results = service.followups_page(current_user, filters, page=page, per_page=PER_PAGE, today=today)
    return render("followups/index.html", "followups/_results.html", form=form, results=results,
                  today=today, is_overdue=service.is_overdue)


def _box(followup, status=200, *, failed=None, message=None):
    """The follow-up's box (facts, timeline, forms for the allowed steps); ``failed``: the bound
    form that did not go through, shown with its errors."""
    forms = {action: step_form(action, followup) for action in service.allowed_actions(current_user, followup)}
    if failed is not None:
        forms[failed[0]] = failed[1]
    today = local_today()
    return render("followups/detail.html", "followups/_box.html", status=status, f=followup, forms=forms,
                  overdue=service.is_overdue(followup, today),
                  message=message, step_url=step_url,
                  directions=dict(setting_choices("problems.directions", str(get_locale() or "zh"))),
                  problem_types=dict(setting_choices("problems.types", str(get_locale() or "zh"))))


@bp.route("/followups/<int:followup_id>")
@access()
def detail(followup_id):
    """One follow-up: what triggered it, its timeline, and the steps you may take now."""
    followup = get_followup_or_404(followup_id)  # 404 if missing, 403 if not yours
    return _box(followup)


#: the steps of each actor, each behind its own URL so ``@access`` names the role that takes it
PM_STEPS = ("classify", "record_contact", "record_cause_and_actions", "escalate", "resolve")
PMO_STEPS = ("verify", "reopen")


def step_url(followup, action):
    if action in PM_STEPS:
        return url_for("followups.pm_step", followup_id=followup.id, pm_step=action)
    if action in PMO_STEPS:
        return url_for("followups.pmo_step", followup_id=followup.id, pmo_step=action)
    if action == "route":
        return url_for("followups.route", followup_id=followup.id)
    return url_for("followups.answer", followup_id=followup.id)


@bp.route(f"/followups/<int:followup_id>/<any({', '.join(PM_STEPS)}):pm_step>", methods=["POST"])
@access("pm")
def pm_step(followup_id, pm_step):
    """The owning PM's steps: classify, contact, cause and actions, escalate, resolve."""
    return _step(followup_id, pm_step)


@bp.route("/followups/<int:followup_id>/route", methods=["POST"])
@access("pm", "pmo")
def route(followup_id):
    """The owning PM or PMO routes the follow-up to a department for action (the PM keeps it)."""
    return _step(followup_id, "route")


@bp.route("/followups/<int:followup_id>/answer", methods=["POST"])
@access("exec")
def answer(followup_id):
    """The executive it was escalated to answers on the record."""
    return _step(followup_id, "answer_escalation")


@bp.route(f"/followups/<int:followup_id>/<any({', '.join(PMO_STEPS)}):pmo_step>", methods=["POST"])
@access("pmo")
def pmo_step(followup_id, pmo_step):
    """PMO verifies a resolved follow-up (closed) or reopens it."""
    return _step(followup_id, pmo_step)


def _step(followup_id, action):
    """Take one step; 422 with the errors beside the fields, 409 if it changed meanwhile."""
    followup = get_followup_or_404(followup_id)  # 404 if missing, 403 if not yours
    if not service.may_act(current_user, followup, action):
        deny("followup_step", followup_id=followup_id, action=action)
    form = step_form(action, followup, request.form)
    if not form.validate():
        return _box(followup, 422, failed=(action, form))
    try:
        service.apply(followup, action, actor=current_user, expected_version=form.version.data,
                      **form.values())
    except service.ChangedMeanwhile as error:
        db.session.rollback()
        return _box(db.session.get(FollowUp, followup_id), 409, message=error.message)
    except DomainError as error:
        db.session.rollback()
        form.show_error(error)
        return _box(db.session.get(FollowUp, followup_id), 422, failed=(action, form))
    db.session.commit()
    if is_partial():
        return _box(followup)
    return hx_redirect(url_for(".detail", followup_id=followup_id))


# --- home sections -----------------------------------------------------------------------------

@home_section(18, "followups/_home.html")
def home_followups(user):
    """What waits in the loop: a PM's open/overdue/reopened, PMO's overdue/escalated/to verify
    (filterable by project and PM), an executive's escalations awaiting an answer, a department's
    queue (the active follow-ups routed to it)."""
    counts = cached(("followups-home", user.id, local_today().isoformat()), lambda: service.home_counts(user))
    if not counts:
        return None
    context = {"counts": counts}
    if user.has_role("pmo"):
        context["pmo_filter"] = _pmo_filter_form(request.args)
    return context


def _pmo_filter_form(args):
    form = PmoHomeFilterForm(args)
    projects, owners = cached(("followups-pmo-filter", current_user.id), _pmo_filter_choices)
    form.project_id.choices = [("", str(_l("All projects"))), *projects]
    form.owner_id.choices = [("", str(_l("All project managers"))), *owners]
    return form


def _pmo_filter_choices():
    """(projects, PMs) to filter the PMO home's counts by, as (id, label) pairs."""
    return (tuple((p.id, f"{p.code} {p.name}") for p in service.projects_visible_to(current_user)),
            tuple((u.id, u.display_name) for u in service.owners_visible_to(current_user)))


@bp.route("/followups/pmo-summary")
@access("pmo")
def pmo_summary():
    """The PMO home's counts for one project and/or one PM (htmx swaps them in place)."""
    form = _pmo_filter_form(request.args)
    values = form.filters()
    counts = service.home_counts(current_user, project_id=values.get("project_id"),
                                 owner_id=values.get("owner_id"))
    return render("followups/pmo_summary.html", "followups/_pmo_counts.html", counts=counts["pmo"],
                  filters={k: v for k, v in values.items() if k in ("project_id", "owner_id") and v})
