"""PM quarterly rounds (DESIGN §4.1): open a round, follow it, send links and reminders,
type in returned paper forms; response pages and scans."""
from flask import Blueprint, abort, current_app, flash, request, send_file, url_for
from flask_babel import get_locale, gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ...authz import (access, can_run_rounds, deny, get_attachment_or_404, get_invitation_or_404,
                      get_outbox_message_or_404, get_project_or_404, get_response_or_404,
                      get_round_or_404, project_scope)
from ...extensions import db
from ...htmx import hx_redirect, render
from ...models import Invitation, OutboxMessage, Project, SurveyRound
from ...navigation import nav_item
from ...services import DomainError
from ...services import mailer, rounds
from ...services.quarters import quarter_bounds
from ...services.uploads import download_name, read_scan, scan_path
from .forms import OpenRoundForm, PaperForm, RoundFilterForm

bp = Blueprint("rounds", __name__)
#: who may follow rounds (object scope still applies); running them is the project's PM
ROUND_VIEWERS = ("pm", "quality", "pmo", "exec", "admin")
PROJECT_VIEWERS = ("pm", "sales", "quality", "pmo", "exec", "admin")
nav_item(25, "rounds.index", _l("Rounds"), roles=ROUND_VIEWERS)


@bp.route("/rounds/")
@access(*ROUND_VIEWERS)
def index():
    """Rounds of the projects you may see, filtered by quarter; htmx gets the list only."""
    scope = project_scope(current_user)
    form = RoundFilterForm.with_quarters(rounds.round_quarters(scope), request.args)
    filters = form.filters()
    page, summaries = rounds.rounds_page(scope, quarter=filters["quarter"], page=filters["page"],
                                         per_page=current_app.config["PAGE_SIZE"])
    return render("rounds/index.html", "rounds/_list.html", form=form, pages=page, summaries=summaries)


@bp.route("/projects/<int:project_id>/rounds/new", methods=["GET", "POST"])
@access("pm")
def new(project_id):
    """Open a round for one of your projects: quarter, questionnaire, contacts, due date."""
    project = get_project_or_404(project_id)  # 404 if missing, 403 if not yours
    if not can_run_rounds(current_user, project):
        deny("project", project_id=project_id)
    contacts = rounds.contacts_for_round_form(project)
    versions = rounds.selectable_versions(prefer_language=str(get_locale()))
    quarter = rounds.current_quarter()
    form = OpenRoundForm.for_project(versions, contacts, data={
        "quarter": quarter, "due_date": quarter_bounds(quarter)[1]})
    if form.validate_on_submit():
        picked = [c for c in contacts if c.id in set(form.contacts.data or ())]
        try:
            rnd = rounds.open_round(project, form.quarter.data, rounds.version_by_id(form.version.data),
                                    picked, form.due_date.data, current_user, today=rounds.local_today())
        except DomainError as error:
            form.show_error(error)
        else:
            db.session.commit()
            flash(_("The round is open. Send the invitations or copy each contact's link."), "success")
            return hx_redirect(url_for(".status", round_id=rnd.id))
    return render("rounds/new.html", "rounds/_form.html", status=422 if form.errors else 200,
                  form=form, project=project, contacts=contacts, versions=versions)


@bp.route("/rounds/<int:round_id>")
@access(*ROUND_VIEWERS)
def status(round_id):
    """Per contact: sent, opened, draft, submitted, overdue; htmx polls the table part."""
    rnd = get_round_or_404(round_id)  # 404 if missing, 403 if its project is not yours
    return render("rounds/status.html", "rounds/_status_table.html", rnd=rnd,
                  progress=rounds.round_status(rnd), can_run=can_run_rounds(current_user, rnd.project))


@bp.route("/rounds/<int:round_id>/invitations/send", methods=["POST"])
@access("pm")
def send_invitations(round_id):
    """E-mail (or put in the outbox) the invitation of every contact not sent one yet."""
    rnd = get_round_or_404(round_id, run=True)
    return _after_sending(rnd, lambda: mailer.send_invitations(rnd, current_user))


@bp.route("/rounds/<int:round_id>/reminders/send", methods=["POST"])
@access("pm")
def send_reminders(round_id):
    """Remind the invited contacts who have not answered yet."""
    rnd = get_round_or_404(round_id, run=True)
    return _after_sending(rnd, lambda: mailer.send_reminders(rnd, current_user))


def _after_sending(rnd, send):
    try:
        result = send()
    except DomainError as error:
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(_("%(sent)d e-mailed, %(queued)d put in the outbox to copy, %(failed)d failed, "
                "%(skipped)d not due.", sent=result.sent, queued=result.queued, failed=result.failed,
                skipped=result.skipped), "error" if result.failed else "success")
    return hx_redirect(url_for(".status", round_id=rnd.id))


@bp.route("/rounds/<int:round_id>/close", methods=["POST"])
@access("pm")
def close(round_id):
    """Close the round: its links stop working and no more answers are taken."""
    rnd = get_round_or_404(round_id, run=True)
    rounds.close_round(rnd, current_user)
    db.session.commit()
    flash(_("The round is closed."), "success")
    return hx_redirect(url_for(".status", round_id=rnd.id))


@bp.route("/invitations/<int:invitation_id>/link", methods=["POST"])
@access("pm")
def show_link(invitation_id):
    """Issue a fresh link for one contact and show it once; earlier links of theirs stop working."""
    invitation = get_invitation_or_404(invitation_id, run=True)
    try:
        token = rounds.reissue_link(invitation, by_user=current_user, reason="copy")
    except DomainError as error:
        return render("rounds/link.html", "rounds/_link.html", status=422, invitation=invitation,
                      error=error.message)
    db.session.commit()
    return render("rounds/link.html", "rounds/_link.html", invitation=invitation,
                  link=rounds.survey_link(token))


@bp.route("/rounds/outbox")
@access("pm")
def outbox():
    """Messages of your rounds, newest first: status, and the text to copy when not e-mailed."""
    stmt = (select(OutboxMessage).join(Invitation, Invitation.id == OutboxMessage.invitation_id)
            .join(SurveyRound, SurveyRound.id == Invitation.round_id)
            .join(Project, Project.id == SurveyRound.project_id)
            .where(Project.pm_id == current_user.id)
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()))
    round_id = request.args.get("round", type=int)
    if round_id:
        stmt = stmt.where(SurveyRound.id == round_id)
    page = db.paginate(stmt, page=request.args.get("page", 1, type=int),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render("rounds/outbox.html", "rounds/_outbox_list.html", pages=page, round_id=round_id)


@bp.route("/outbox/<int:message_id>/copy", methods=["POST"])
@access("pm")
def copy_message(message_id):
    """The held message with a freshly issued link, to copy into your own mail or chat."""
    message = get_outbox_message_or_404(message_id)  # 404 if missing, 403 if not your round
    try:
        text = mailer.copy_with_link(message, current_user)
    except DomainError as error:
        return render("rounds/copy.html", "rounds/_copy.html", status=422, message=message,
                      error=error.message)
    db.session.commit()
    return render("rounds/copy.html", "rounds/_copy.html", message=message, text=text)


@bp.route("/invitations/<int:invitation_id>/paper", methods=["GET", "POST"])
@access("pm")
def paper_entry(invitation_id):
    """Type in a returned paper form for one contact (channel 'paper'), with its scan if any."""
    invitation = get_invitation_or_404(invitation_id, run=True)  # 404 missing, 403 not your project
    form = PaperForm()
    values, answer_errors, status = {}, {}, 200
    if invitation.response is not None:
        form.form_errors.append(_("This contact's questionnaire has already been submitted."))
        status = 409 if request.method == "POST" else 200
    elif form.validate_on_submit():
        values = {k: v for k, v in request.form.items() if k.startswith("q_")}
        try:
            upload = request.files.get("scan")
            scan = (read_scan(upload.stream, upload.filename, current_app.config["UPLOAD_MAX_BYTES"])
                    if upload and upload.filename else None)
            response = rounds.enter_paper_response(invitation, values, current_user, scan=scan)
        except rounds.AnswersInvalid as error:
            answer_errors, status = error.errors, 422
            form.form_errors.append(error.message)
        except rounds.AlreadySubmitted:
            form.form_errors.append(_("This contact's questionnaire has already been submitted."))
            status = 409
        except DomainError as error:
            form.show_error(error)
            status = 422
        else:
            db.session.commit()
            flash(_("The paper form of %(name)s was recorded.", name=invitation.contact.name), "success")
            return hx_redirect(url_for(".response_detail", response_id=response.id))
    elif request.method == "POST":
        status = 422
    return render("rounds/paper.html", "rounds/_paper_form.html", status=status, form=form,
                  invitation=invitation, version=invitation.round.template_version, values=values,
                  answer_errors=answer_errors)


@bp.route("/responses/<int:response_id>")
@access(*PROJECT_VIEWERS)
def response_detail(response_id):
    """One filled form: channel, who entered it and when, verification, answers, comment, scans."""
    response = get_response_or_404(response_id)  # 404 if missing, 403 if its project is not yours
    return render("rounds/response.html", rows=rounds.answer_rows(response), response=response,
                  can_download=current_user.has_role(*ROUND_VIEWERS))


@bp.route("/attachments/<int:attachment_id>")
@access(*ROUND_VIEWERS)
def download_scan(attachment_id):
    """The stored scan as a download (never rendered inline)."""
    attachment = get_attachment_or_404(attachment_id)  # 404 if missing, 403 if not your project
    path = scan_path(attachment) or abort(404)
    response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                         download_name=download_name(attachment), max_age=0, conditional=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
