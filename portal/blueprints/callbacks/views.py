"""The callback desk (DESIGN §4.3), for the quality department: draw the quarter's sample, work
the queue (log each attempt in place, fill the callback form once reached) — drawn ticket calls
and key accounts' scheduled relationship calls (§4.9) alike — and read the quarter's callback
summary (page, PDF, XLSX). PMs and sales read their own projects' calls."""
from flask import Blueprint, abort, current_app, flash, request, url_for
from flask import Response as FlaskResponse
from flask_babel import get_locale, gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ...authz import access, deny
from ...extensions import db
from ...forms import int_param, page_param
from ...htmx import hx_redirect, is_partial, render
from ...models import CallbackTask
from ...navigation import nav_item
from ...services import DomainError
from ...services.answers import AnswersInvalid
from ...services.callbacks import queue, sampling, summary
from ...services.key_accounts.schedule import is_overdue
from ...services.pdf.callback_summary import render_callback_summary
from ...services.quarters import current_quarter, local_today, parse_quarter
from ...services.responses import AlreadySubmitted
from ...services.scope import can_view_project
from ..pdfs.views import pdf_response
from .forms import AttemptForm, DrawForm

bp = Blueprint("callbacks", __name__, cli_group=None)  # `flask sample-callbacks`
DESK = ("quality",)
READERS = ("quality", "pmo", "exec", "admin")
TASK_READERS = ("quality", "pmo", "exec", "admin", "pm", "sales")

nav_item(32, "callbacks.index", _l("Callbacks"), roles=READERS)


def _quarter_arg(name="quarter"):
    value = (request.values.get(name) or "").strip().upper()
    try:
        parse_quarter(value)
    except (DomainError, ValueError):
        return current_quarter()
    return value


@bp.route("/callbacks/")
@access(*READERS)
def index():
    """The quarter's sample per priority and the calls: an agent's own open calls first (the
    relationship calls due or missed, then the tickets, then the relationship calls ahead)."""
    quarter = _quarter_arg()
    mine = request.args.get("all") != "1" and current_user.has_role(*DESK)
    state = request.args.get("state") or "open"
    if state not in ("open", "reached", "failed", "all"):
        state = "open"
    today = local_today()
    results = queue.tasks_page(current_user, quarter=quarter, state=None if state == "all" else state,
                               mine=mine, page=page_param(request.args), per_page=current_app.config["PAGE_SIZE"],
                               today=today)
    return render("callbacks/index.html", "callbacks/_tasks.html", quarter=quarter, results=results, mine=mine,
                  state=state, sample=sampling.quarter_status(quarter), draw_form=DrawForm(quarter=quarter),
                  can_work=queue.can_work(current_user), quarters=summary.summary_quarters(),
                  overdue={t.id for t in results.items if is_overdue(t, today)})


@bp.route("/callbacks/draw", methods=["POST"])
@access(*DESK)
def draw():
    """Draw (or top up, or replace) the quarter's sample; the seed is recorded."""
    form = DrawForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return hx_redirect(url_for(".index", quarter=form.quarter.data or current_quarter()))
    try:
        result = sampling.draw(form.quarter.data.upper(), current_user, seed=form.seed.data)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return hx_redirect(url_for(".index", quarter=form.quarter.data.upper()))
    db.session.commit()
    added = sum(p.added for p in result.priorities)
    flash(_("%(n)d calls drawn for %(quarter)s (seed %(seed)s).", n=added, quarter=result.quarter,
            seed=result.seed) if added else
          _("The sample of %(quarter)s already meets every rate; nothing to draw.", quarter=result.quarter),
          "success")
    return hx_redirect(url_for(".index", quarter=result.quarter))


def get_task_or_404(task_id, *, work=False):
    """A call, 404 if missing; 403 for someone who may not see its project (or, to work it, not
    of the quality desk)."""
    task = _load_task(task_id) or abort(404)
    if work and not queue.can_work(current_user):
        deny("callback_task", task_id=task_id)
    if not (current_user.sees_all_projects or can_view_project(current_user, task.project)):
        deny("callback_task", task_id=task_id)
    return task


def _load_task(task_id):
    """The call with what its page shows (project, client, ticket or contact, attempts)."""
    return db.session.scalar(select(CallbackTask).where(CallbackTask.id == task_id)
                             .options(*queue.TASK_PAGE_LOADS).execution_options(populate_existing=True))


def _task_page(task, status=200, *, attempt_form=None, values=None, answer_errors=None, message=None):
    can_work = queue.can_work(current_user) and task.state == "open"
    versions = queue.callback_versions(str(get_locale() or "zh"))
    version = next((v for v in versions if v.id == int_param(request.values, "version")),
                   versions[0] if versions else None)
    awaiting_form = can_work and task.attempts and task.attempts[-1].outcome == "reached"
    return render("callbacks/task.html", "callbacks/_task.html", status, task=task, can_work=can_work,
                  attempt_form=attempt_form or AttemptForm(version=task.version),
                  awaiting_form=awaiting_form, versions=versions, version=version, values=values or {},
                  answer_errors=answer_errors or {}, message=message, overdue=is_overdue(task, local_today()))


@bp.route("/callbacks/tasks/<int:task_id>")
@access(*TASK_READERS)
def task(task_id):
    """One call: the ticket and the reporter's phone, or the key account and the contact to call;
    the attempts, and the form once reached."""
    return _task_page(get_task_or_404(task_id))


@bp.route("/callbacks/tasks/<int:task_id>/attempt", methods=["POST"])
@access(*DESK)
def attempt(task_id):
    """Log one attempt (reached, no answer, busy, wrong number, refused) in place."""
    task = get_task_or_404(task_id, work=True)
    form = AttemptForm()
    if not form.validate_on_submit():
        return _task_page(task, 422, attempt_form=form)
    try:
        queue.log_attempt(task, current_user, form.outcome.data, form.note.data,
                          expected_version=form.version.data)
    except queue.ChangedMeanwhile as error:
        db.session.rollback()
        return _task_page(_load_task(task_id), 409, message=error.message)
    except DomainError as error:
        db.session.rollback()
        form.show_error(error)
        return _task_page(_load_task(task_id), 422, attempt_form=form)
    db.session.commit()
    task = _load_task(task_id)
    if is_partial():  # a fresh, empty form for the next attempt
        return _task_page(task, attempt_form=AttemptForm(formdata=None, version=task.version))
    return hx_redirect(url_for(".task", task_id=task_id))


@bp.route("/callbacks/tasks/<int:task_id>/form", methods=["POST"])
@access(*DESK)
def record(task_id):
    """The callback record sheet of a reached call (channel phone; low scores open follow-ups)."""
    task = get_task_or_404(task_id, work=True)
    versions = queue.callback_versions(str(get_locale() or "zh"))
    version = next((v for v in versions if v.id == int_param(request.form, "version")), None)
    values = {k: v for k, v in request.form.items() if k.startswith("q_")}
    from ...forms import PortalForm
    if not PortalForm().validate_on_submit():
        return _task_page(task, 400, message=_("The form expired; reload the page."))
    try:
        response = queue.record_callback(task, current_user, values, version=version)
    except AnswersInvalid as error:
        db.session.rollback()
        return _task_page(_load_task(task_id), 422, values=values, answer_errors=error.errors,
                          message=error.message)
    except AlreadySubmitted:
        db.session.rollback()
        return _task_page(_load_task(task_id), 409,
                          message=_("This call's form was already recorded."))
    except DomainError as error:
        db.session.rollback()
        return _task_page(_load_task(task_id), 422, values=values, message=error.message)
    db.session.commit()
    if task.kind == "relationship":
        flash(_("The relationship call with %(client)s was recorded.", client=task.project.client.name), "success")
    else:
        flash(_("The callback of ticket %(id)s was recorded.", id=task.case.external_id), "success")
    return hx_redirect(url_for("responses.detail", response_id=response.id))


@bp.route("/callbacks/summary")
@access(*READERS)
def summary_page():
    """The quarter's callback summary: per priority against its rate, and every call."""
    quarter = _quarter_arg()
    return render("callbacks/summary.html", summary=summary.callback_summary(quarter),
                  quarters=summary.summary_quarters())


@bp.route("/callbacks/summary/<quarter>.pdf")
@access(*READERS)
def summary_pdf(quarter):
    return pdf_response(render_callback_summary(summary.callback_summary(_valid_quarter(quarter))))


@bp.route("/callbacks/summary/<quarter>.xlsx")
@access(*READERS)
def summary_xlsx(quarter):
    quarter = _valid_quarter(quarter)
    response = FlaskResponse(summary.callback_summary_xlsx(summary.callback_summary(quarter)),
                             mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="callback-summary-{quarter}.xlsx"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _valid_quarter(quarter):
    try:
        parse_quarter(quarter)
    except (DomainError, ValueError):
        abort(404)
    return quarter
