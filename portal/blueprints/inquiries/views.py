"""Sales inquiry pages: the list (for sales: what is due), recording one with its form, one
inquiry with its people and form, its PDF, and the executives' acknowledgement of a major problem."""
import secrets

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import get_locale, gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...authz import access, deny, get_inquiry_or_404, get_project_or_404
from ...extensions import db
from ...forms import int_param, page_param
from ...htmx import hx_redirect, render
from ...navigation import nav_item
from ...services import DomainError, major_problems
from ...services import sales_inquiries as service
from ...services.answers import AnswersInvalid
from ...services.pdf.sales_visit import render_sales_visit
from ...services.quarters import local_today
from ...services.scope import records_inquiries
from ..pdfs.views import pdf_response
from .forms import AcknowledgeForm, InquiryForm

bp = Blueprint("inquiries", __name__)
#: who reads inquiries (object scope applies: sales and PM only their own projects)
READERS = ("sales", "pm", "quality", "pmo", "exec", "admin")

nav_item(30, "inquiries.index", _l("Sales inquiries"), roles=("sales", "quality", "pmo", "exec"),
         count=lambda user: major_problems.awaiting_count() if user.has_role("exec") else 0)


@bp.route("/inquiries")
@access(*READERS)
def index():
    """The inquiries you may see, newest first; a sales owner sees first what is due."""
    page = page_param(request.args)
    project_id = int_param(request.args, "project")
    results = service.inquiries_page(current_user, project_id=project_id, page=page,
                                     per_page=current_app.config["PAGE_SIZE"])
    overview = service.sales_overview(current_user) if current_user.has_role("sales") else None
    return render("inquiries/index.html", "inquiries/_list.html", results=results, overview=overview,
                  awaiting=major_problems.awaiting_acknowledgement() if current_user.has_role("exec") else [])


def _version():
    """The sales_visit version the form asks: the one chosen (query or form), else the first in
    the user's language."""
    versions = service.inquiry_versions(str(get_locale() or "zh"))
    wanted = int_param(request.values, "version")
    chosen = next((v for v in versions if v.id == wanted), versions[0] if versions else None)
    return versions, chosen


@bp.route("/projects/<int:project_id>/inquiries/new", methods=["GET", "POST"])
@access("sales")
def new(project_id):
    """Record an inquiry with the client and the sales_visit form (the project's sales owner)."""
    project = get_project_or_404(project_id)  # 404 if missing, 403 if not yours
    if not records_inquiries(current_user, project):
        deny("inquiry_record", project_id=project_id)
    triggers = service.triggers_of(project)
    form = InquiryForm().fill(triggers, service.contacts_for_inquiry(project))
    versions, version = _version()
    values, answer_errors, status = {}, {}, 200
    if request.method == "GET":
        form.submission_key.data = secrets.token_urlsafe(24)
        form.inquired_on.data = local_today()
        form.trigger.data = triggers[0].key if triggers else None
        form.version.data = version.id if version else ""
    elif form.validate_on_submit():
        values = {k: v for k, v in request.form.items() if k.startswith("q_")}
        try:
            inquiry = service.record_inquiry(project, current_user, form.inquiry_input(), values,
                                             version=version)
        except service.AlreadyRecorded as done:
            db.session.rollback()
            if done.inquiry.sales_id != current_user.id:
                abort(409)
            flash(_("This inquiry was already recorded."), "info")
            return redirect(url_for(".detail", inquiry_id=done.inquiry.id), 303)
        except service.InquiryInvalid as error:
            db.session.rollback()
            form.show_errors(error.errors)
            form.form_errors.append(error.message)
            status = 422
        except AnswersInvalid as error:
            db.session.rollback()
            answer_errors, status = error.errors, 422
            form.form_errors.append(error.message)
        except DomainError as error:
            db.session.rollback()
            form.show_error(error)
            status = 422
        else:
            db.session.commit()
            flash(_("The inquiry at %(client)s was recorded.", client=project.client.name), "success")
            if inquiry.major_problem:
                flash(_("The major problem was sent to senior management."), "info")
            return hx_redirect(url_for(".detail", inquiry_id=inquiry.id))
    else:
        status = 422
    return render("inquiries/new.html", "inquiries/_form.html", status=status, form=form, project=project,
                  triggers=triggers, versions=versions, version=version, values=values,
                  answer_errors=answer_errors)


def _detail(inquiry, status=200, form=None):
    from ...services.followups import can_view, followup_of
    from ...services.responses import answer_rows
    followup = followup_of(inquiry.response) if inquiry.response else None
    may_ack = inquiry.awaiting_acknowledgement and major_problems.may_acknowledge(current_user)
    return render("inquiries/detail.html", "inquiries/_acknowledge.html", status=status, inquiry=inquiry,
                  rows=answer_rows(inquiry.response) if inquiry.response else [],
                  followup=followup if followup is not None and can_view(current_user, followup) else None,
                  ack_form=form or (AcknowledgeForm() if may_ack else None))


@bp.route("/inquiries/<int:inquiry_id>")
@access(*READERS)
def detail(inquiry_id):
    """One inquiry: when and how, whom the sales owner met, the form, the major problem."""
    return _detail(get_inquiry_or_404(inquiry_id))  # 404 if missing, 403 if its project is not yours


@bp.route("/inquiries/<int:inquiry_id>/acknowledge", methods=["POST"])
@access("exec")
def acknowledge(inquiry_id):
    """An executive acknowledges the major problem with a note (on the record)."""
    inquiry = get_inquiry_or_404(inquiry_id)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        return _detail(inquiry, 422, form)
    try:
        major_problems.acknowledge(inquiry, current_user, form.note.data)
    except DomainError as error:
        db.session.rollback()
        form.show_error(error)
        return _detail(db.session.get(type(inquiry), inquiry_id), 422, form)
    db.session.commit()
    flash(_("You acknowledged the major problem."), "success")
    return hx_redirect(url_for(".detail", inquiry_id=inquiry_id))


@bp.route("/pdf/inquiries/<int:inquiry_id>.pdf")
@access(*READERS)
def pdf(inquiry_id):
    """The sales visit record (DESIGN §7), for anyone who may see the project."""
    return pdf_response(render_sales_visit(get_inquiry_or_404(inquiry_id)))
