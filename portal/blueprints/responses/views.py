"""Filled forms, whatever channel brought them in (DESIGN §2): the response page, its
archive PDF and its scans. Anyone who may see the response's project may read it; the quality
department corrects a staff-entered form's answers (issue 13 §1)."""
from flask import Blueprint, abort, flash, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ...authz import access, get_attachment_or_404, get_response_or_404
from ...extensions import db
from ...forms import DataForm
from ...htmx import hx_redirect, render
from ...services import DomainError, verification
from ...services.answers import AnswersInvalid, answers_as_form_data
from ...services.pdf.filled_response import render_filled_response
from ...services.complaints import can_view as can_view_complaint
from ...services.complaints import complaint_of_response
from ...services.followups import can_view, followup_of
from ...services.responses import answer_rows
from ...services.sales_inquiries import inquiry_of_response
from ...services.uploads import download_name, scan_path
from ...services.verification.decisions import REASON_MAX
from ..pdfs.views import pdf_response

bp = Blueprint("responses", __name__)
#: who reads responses (object scope still applies: PM and sales only their own projects)
RESPONSE_READERS = ("pm", "sales", "quality", "pmo", "exec", "admin")
#: who may download the scans of paper forms
SCAN_READERS = ("pm", "quality", "pmo", "exec", "admin")
#: who turns a response into a complaint (the complaints blueprint's route)
COMPLAINT_DESK = ("quality", "pmo", "admin")


@bp.route("/responses/<int:response_id>")
@access(*RESPONSE_READERS)
def detail(response_id):
    """One filled form: channel, who entered it and when, verification, answers, comment, scans."""
    response = get_response_or_404(response_id)  # 404 if missing, 403 if its project is not yours
    followup = followup_of(response)
    return render_template("responses/detail.html", rows=answer_rows(response), response=response,
                           inquiry=inquiry_of_response(response),
                           can_download=current_user.has_role(*SCAN_READERS),
                           followup=followup if followup is not None and can_view(current_user, followup) else None,
                           complaint=_complaint_of(response),
                           can_make_complaint=current_user.has_role(*COMPLAINT_DESK),
                           can_correct=verification.may_correct(current_user, response),
                           corrections=verification.corrections_of(response) if response.edit_count else [])


class CorrectionForm(DataForm):
    """The CSRF token and the reason; the answers are read by services.answers, as at entry."""
    reason = TextAreaField(_l("Why the answers are corrected"),
                           validators=[DataRequired(_l("Say why the answers are corrected.")),
                                       Length(max=REASON_MAX)])


@bp.route("/responses/<int:response_id>/correct", methods=["GET", "POST"])
@access("quality")
def correct(response_id):
    """Correct the answers of a form staff typed in (a typing mistake), with the reason; the form
    is then verified again. A form the client filled in has no such page (404), nor an archived one."""
    response = get_response_or_404(response_id)  # 404 if missing
    if not verification.correctable(response):
        abort(404)
    form = CorrectionForm()
    values, answer_errors, status = answers_as_form_data(response), {}, 200
    if request.method == "POST":
        values, status = {k: v for k, v in request.form.items() if k.startswith("q_")}, 422
    if form.validate_on_submit():
        try:
            verification.correct_answers(response, values, actor=current_user, reason=form.reason.data)
        except AnswersInvalid as error:
            answer_errors = error.errors
            form.form_errors.append(error.message)
        except DomainError as error:
            form.show_error(error)
        else:
            published = verification.published_revision(response.quarter)
            db.session.commit()
            flash(_("The answers were corrected; the form is to be verified again."), "success")
            if published:
                flash(_("%(quarter)s is already published: re-publish it with this correction as the reason.",
                        quarter=response.quarter), "info")
            return hx_redirect(url_for(".detail", response_id=response.id))
        db.session.rollback()
    return render("responses/correct.html", "responses/_correct_form.html", status=status, form=form,
                  response=response, version=response.template_version, values=values,
                  answer_errors=answer_errors)


def _complaint_of(response):
    """The complaint this response was turned into, when the signed-in user may see it."""
    complaint = complaint_of_response(response)
    return complaint if complaint is not None and can_view_complaint(current_user, complaint) else None


@bp.route("/pdf/responses/<int:response_id>.pdf")
@access(*RESPONSE_READERS)
def pdf(response_id):
    """The archive copy of a filled response, for anyone who may see its project."""
    response = get_response_or_404(response_id)  # 403 unless its project is visible to you
    return pdf_response(render_filled_response(response))


@bp.route("/attachments/<int:attachment_id>")
@access(*SCAN_READERS)
def download_scan(attachment_id):
    """The stored scan as a download (never rendered inline)."""
    attachment = get_attachment_or_404(attachment_id)  # 404 if missing, 403 if not your project
    path = scan_path(attachment) or abort(404)
    response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                         download_name=download_name(attachment), max_age=0, conditional=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
