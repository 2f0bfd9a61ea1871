"""Complaint pages (DESIGN §4.7): the complaints you may see with both timers, staff intake, one
complaint with its clocks, evidence and timeline and a form for each step you may take now, and
turning a survey answer into a complaint. Who takes which step is the service's table."""
from dataclasses import dataclass
from math import ceil

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from ...authz import access, deny, get_response_or_404
from ...extensions import db
from ...forms import page_param
from ...htmx import hx_redirect, is_partial, render
from ...models import (
    Client,
    Complaint,
    ComplaintAttachment,
    ComplaintSurvey,
    Contact,
    Department,
    DepartmentMember,
    Project,
)
from ...models.base import utcnow
from ...navigation import nav_item
from ...services import DomainError
from ...services import complaints as service
from ...services.answers import AnswersInvalid
from ...services.complaints.clock import WorkingHours, clock_limits
from ...services.responses import AlreadySubmitted
from ...services.scope import project_scope, visible_clients
from ...services.settings import setting_choices
from ...services.uploads import scan_path
from ...services.working_days import CalendarUnknown
from ..responses.views import COMPLAINT_DESK
from ..survey.forms import ConfirmForm
from .forms import ComplaintFilterForm, ComplaintForm, step_form

bp = Blueprint("complaints", __name__, cli_group=None)  # `flask complaint-timers`
#: staff: everyone but the archive role reads the complaints complaint_scope gives them, and registers
STAFF = ("pm", "sales", "quality", "pmo", "exec", "admin")
#: who turns a survey answer into a complaint (the response page shows them the button)
DESK = COMPLAINT_DESK
PER_PAGE = 50

nav_item(36, "complaints.index", _l("Complaints"), roles=STAFF)


def get_complaint_or_404(complaint_id):
    """The complaint, 404 if missing, 403 unless you may see it (``can_view``)."""
    complaint = db.session.get(Complaint, complaint_id) or abort(404)
    if not service.can_view(current_user, complaint):
        deny("complaint", complaint_id=complaint_id)
    return complaint


def _settings():
    """One reading of the working hours and the limits for all the clocks of a page: (hours, limits)."""
    try:
        hours = WorkingHours()
    except CalendarUnknown:
        hours = None
    return hours, clock_limits()


def _clocks(complaint, now, settings):
    hours, limits = settings
    return service.clocks(complaint, now, hours, limits=limits)


# --- the list ----------------------------------------------------------------------------------

@dataclass
class ListPage:
    """A page of rows in the shape the pager macro wants."""
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self):
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages

    @property
    def prev_num(self):
        return self.page - 1

    @property
    def next_num(self):
        return self.page + 1


def _is_overdue(clocks):
    return any(c.state == "breached" for c in clocks)


def _list_query(user, values):
    query = select(Complaint).where(service.complaint_scope(user))
    state = values.get("state")
    if state == "open" or values.get("overdue") == "1":
        query = query.where(Complaint.state.in_(service.OPEN_STATES))
    if state and state != "open":
        query = query.where(Complaint.state == state)
    if values.get("department_id"):
        query = query.where(Complaint.department_id == values["department_id"])
    return query


def _rows_of(complaints, now, settings):
    return [(c, _clocks(c, now, settings)) for c in complaints]


def complaints_page(user, values, page=1, per_page=PER_PAGE, now=None):
    """The complaints ``user`` may see, newest first, each with its two clocks. A fixed number of
    statements: the count, the page (with its client, project, contact, owner and department
    joined) and its events in one more; the overdue filter reads the open ones, then pages."""
    now = now or utcnow()
    settings = _settings()
    query = _list_query(user, values)
    eager = (joinedload(Complaint.client), joinedload(Complaint.project), joinedload(Complaint.contact),
             joinedload(Complaint.owner), joinedload(Complaint.department), selectinload(Complaint.events))
    ordered = query.options(*eager).order_by(Complaint.created_at.desc(), Complaint.id.desc())
    if values.get("overdue") == "1":
        rows = [row for row in _rows_of(db.session.scalars(ordered).unique(), now, settings) if _is_overdue(row[1])]
        total = len(rows)
        return ListPage(rows[(page - 1) * per_page: page * per_page], page, per_page, total)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(ordered.limit(per_page).offset((page - 1) * per_page)).unique().all()
    return ListPage(_rows_of(items, now, settings), page, per_page, total)


def _departments_of_filter():
    return db.session.scalars(select(Department).order_by(Department.name)).all()


@bp.route("/complaints/")
@access(*STAFF)
def index():
    """The complaints you may see, by state, department and overdue; htmx gets the table."""
    form = ComplaintFilterForm(request.args)
    form.department_id.choices = [("", str(_l("All departments")))] + [
        (d.id, d.name) for d in _departments_of_filter()]
    values = form.filters()
    results = complaints_page(current_user, values, page=page_param(request.args),
                              per_page=current_app.config["PAGE_SIZE"])
    return render("complaints/index.html", "complaints/_results.html", form=form, results=results,
                  can_register=True)


# --- intake ------------------------------------------------------------------------------------

def _intake_choices(user, client_id):
    clients = db.session.scalars(select(Client).where(visible_clients(user)).order_by(Client.name)).all()
    if client_id not in {c.id for c in clients}:
        client_id = None
    contacts = projects = []
    if client_id is not None:
        contacts = db.session.scalars(select(Contact).where(Contact.client_id == client_id)
                                      .order_by(Contact.name)).all()
        projects = db.session.scalars(select(Project).where(Project.client_id == client_id, project_scope(user))
                                      .order_by(Project.code)).all()
    return clients, contacts, projects


def _chosen_client(source):
    try:
        value = int(source.get("client_id") or 0)
    except (TypeError, ValueError):
        return None
    return value if 0 < value <= 2_147_483_647 else None


@bp.route("/complaints/new", methods=["GET", "POST"])
@access(*STAFF)
def new():
    """Register a complaint received by phone, e-mail, chat, letter, in person...: the complainant,
    client and project, category, description and evidence; then its page."""
    posted = request.method == "POST"
    refresh = not posted and is_partial()  # the client changed: its contacts and projects
    client_id = _chosen_client(request.form if posted else request.args)
    form = ComplaintForm(formdata=request.form if posted else (request.args if refresh else None))
    form.fill(*_intake_choices(current_user, client_id))
    if not posted:
        form.client_id.data = client_id
        return render("complaints/new.html", "complaints/_new_form.html", form=form)
    if form.validate():
        try:
            evidence = []
            upload = request.files.get("evidence")
            if upload is not None and upload.filename:
                evidence.append(service.read_evidence(upload.stream, upload.filename,
                                                      current_app.config["UPLOAD_MAX_BYTES"]))
            complaint = service.register_complaint(
                channel=form.channel.data, description=form.description.data, by_user=current_user,
                contact=form.contact_id.data, complainant_name=form.complainant_name.data,
                complainant_phone=form.complainant_phone.data, complainant_email=form.complainant_email.data,
                client=form.client_id.data, project=form.project_id.data, direction=form.direction.data,
                problem_type=form.problem_type.data, major=form.major.data, evidence=evidence)
        except DomainError as error:
            db.session.rollback()
            form.show_error(_field_of(error))
        else:
            db.session.commit()
            flash(_("Complaint %(ref)s was registered.", ref=complaint.reference), "success")
            if service.can_view(current_user, complaint):
                return hx_redirect(url_for(".detail", complaint_id=complaint.id))
            return hx_redirect(url_for(".index"))
    return render("complaints/new.html", "complaints/_new_form.html", status=422, form=form)


_FORM_FIELDS = {"contact": "contact_id", "client": "client_id", "project": "project_id"}


def _field_of(error):
    """The service names model fields (contact, project); the form's are contact_id, project_id."""
    if error.field in _FORM_FIELDS:
        error.field = _FORM_FIELDS[error.field]
    return error


# --- one complaint -----------------------------------------------------------------------------

#: the steps by who takes them, each group behind its own URL so ``@access`` names its roles
DESK_STEPS = ("accept", "judge_invalid", "assign", "reopen")              # the quality desk
HANDLER_STEPS = ("record_contact", "wait_for_complainant", "complainant_answered", "mark_complex",
                 "investigate", "propose_remedy", "notify_client", "close")  # owner, head (or the desk)


def step_url(complaint, action):
    if action in DESK_STEPS:
        return url_for("complaints.desk_step", complaint_id=complaint.id, desk_step=action)
    if action in HANDLER_STEPS:
        return url_for("complaints.handler_step", complaint_id=complaint.id, handler_step=action)
    return url_for("complaints.approve", complaint_id=complaint.id, approver_step=action)


def _assignable_departments():
    return db.session.scalars(
        select(Department).where(Department.active.is_(True)).order_by(Department.name)
        .options(joinedload(Department.head),
                 selectinload(Department.memberships).joinedload(DepartmentMember.user))).unique().all()


def _box(complaint, status=200, *, failed=None, message=None):
    """The complaint's box (facts, clocks, evidence, timeline, forms for the allowed steps);
    ``failed``: the bound form that did not go through, shown with its errors."""
    allowed = service.allowed_actions(current_user, complaint)
    departments = _assignable_departments() if "assign" in allowed else ()
    forms = {action: step_form(action, complaint, departments=departments) for action in allowed}
    if failed is not None:
        forms[failed[0]] = failed[1]
    locale = str(get_locale() or "zh")
    return render("complaints/detail.html", "complaints/_box.html", status=status, c=complaint,
                  clocks=_clocks(complaint, utcnow(), _settings()), forms=forms, message=message,
                  step_url=step_url, needs_exec=service.needs_exec(complaint), may_call=service.may_call,
                  directions=dict(setting_choices("problems.directions", locale)),
                  problem_types=dict(setting_choices("problems.types", locale)))


@bp.route("/complaints/<int:complaint_id>")
@access(*STAFF)
def detail(complaint_id):
    """One complaint: the facts, both clocks, the evidence, the timeline and the steps you may take."""
    return _box(get_complaint_or_404(complaint_id))  # 404 if missing, 403 if not yours to see


@bp.route(f"/complaints/<int:complaint_id>/<any({', '.join(DESK_STEPS)}):desk_step>", methods=["POST"])
@access("quality")
def desk_step(complaint_id, desk_step):
    """The quality desk's steps: accept, judge invalid, assign to a department and owner, reopen."""
    return _step(complaint_id, desk_step)


@bp.route(f"/complaints/<int:complaint_id>/<any({', '.join(HANDLER_STEPS)}):handler_step>",
          methods=["POST"])
@access(*STAFF)
def handler_step(complaint_id, handler_step):
    """The handling steps of the owner or the department's head (contact, pauses and the complex
    notice, client told and closing the quality desk too): any staff member may be either, so
    the complaint decides (``may_act``)."""
    return _step(complaint_id, handler_step)


APPROVER_STEPS = ("approve", "send_back")


@bp.route(f"/complaints/<int:complaint_id>/<any({', '.join(APPROVER_STEPS)}):approver_step>",
          methods=["POST"])
@access(*STAFF)
def approve(complaint_id, approver_step):
    """An executive, or the department's head up to the approval amount, approves the proposed
    remedy or sends it back to the handler with the reason."""
    return _step(complaint_id, approver_step)


def _step(complaint_id, action):
    """Take one step; 422 with the errors beside the fields, 409 if it changed meanwhile."""
    complaint = get_complaint_or_404(complaint_id)  # 404 if missing, 403 if not yours to see
    if not service.may_act(current_user, complaint, action):
        deny("complaint_step", complaint_id=complaint_id, action=action)
    departments = _assignable_departments() if action == "assign" else ()
    form = step_form(action, complaint, request.form, departments=departments)
    if not form.validate():
        return _box(complaint, 422, failed=(action, form))
    try:
        service.apply(complaint, action, actor=current_user, expected_version=form.version.data,
                      **form.values())
    except service.ChangedMeanwhile as error:
        db.session.rollback()
        return _box(db.session.get(Complaint, complaint_id), 409, message=error.message)
    except DomainError as error:
        db.session.rollback()
        form.show_error(error)
        return _box(db.session.get(Complaint, complaint_id), 422, failed=(action, form))
    db.session.commit()
    if is_partial():
        return _box(complaint)
    return hx_redirect(url_for(".detail", complaint_id=complaint_id))


@bp.route("/complaints/attachments/<int:evidence_id>")
@access(*STAFF)
def download_evidence(evidence_id):
    """An evidence file as a download (never rendered inline), for whoever may see its complaint."""
    attachment = db.session.get(ComplaintAttachment, evidence_id) or abort(404)
    if not service.can_view(current_user, attachment.complaint):
        deny("complaint_evidence", evidence_id=evidence_id)
    path = scan_path(attachment) or abort(404)
    response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.original_name, max_age=0, conditional=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- the check on the handling, by the desk's call ------------------------------------------------

def _call_page(check, status=200, values=None, errors=None):
    return render("complaints/check_call.html", "complaints/check_call.html", status=status, check=check,
                  c=check.complaint, version=check.template_version, values=values or {}, errors=errors or {})


@bp.route("/complaints/checks/<int:complaint_check_id>/call", methods=["GET", "POST"])
@access("quality")
def check_call(complaint_check_id):
    """The quality desk calls the complainant of a closed complaint and types in the check's answers."""
    check_id = complaint_check_id
    check = db.session.get(ComplaintSurvey, check_id) or abort(404)
    get_complaint_or_404(check.complaint_id)
    if not service.may_call(current_user, check):
        abort(404)  # a link check is the complainant's to answer
    if check.answered:
        flash(_("The answers of this check are in already."), "info")
        return redirect(url_for(".detail", complaint_id=check.complaint_id), 303)
    if request.method == "GET":
        return _call_page(check)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.record_check_call(check, current_user, request.form)
    except AnswersInvalid as error:
        db.session.rollback()
        return _call_page(db.session.get(ComplaintSurvey, check_id), 422, request.form, error.errors)
    except AlreadySubmitted:
        db.session.rollback()
        flash(_("The answers of this check are in already."), "info")
        return redirect(url_for(".detail", complaint_id=check.complaint_id), 303)
    db.session.commit()
    flash(_("The answers of the check were recorded."), "success")
    return hx_redirect(url_for(".detail", complaint_id=check.complaint_id))


# --- from a survey answer ----------------------------------------------------------------------

@bp.route("/responses/<int:response_id>/complaint", methods=["POST"])
@access(*DESK)
def from_response(response_id):
    """One click: the response's comment or low scores become a complaint linked to it (a second
    click opens the same complaint)."""
    response = get_response_or_404(response_id)  # 404 if missing, 403 if its project is not yours
    existing = service.complaint_of_response(response)
    try:
        complaint = existing or service.complaint_from_response(response, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("responses.detail", response_id=response_id), 303)
    db.session.commit()
    if existing is None:
        flash(_("Complaint %(ref)s was registered.", ref=complaint.reference), "success")
    return redirect(url_for(".detail", complaint_id=complaint.id), 303)
