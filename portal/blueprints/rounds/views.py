"""PM quarterly rounds (DESIGN §4.1): open a round, follow it, send links and reminders,
copy them from the outbox, type in returned paper forms."""
from flask import Blueprint, current_app, flash, request, url_for
from flask_babel import get_locale, gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...authz import (access, can_run_rounds, deny, get_invitation_or_404, get_outbox_message_or_404,
                      get_project_or_404, get_round_or_404)
from ...extensions import db
from ...forms import int_param, page_param
from ...htmx import hx_redirect, is_partial, render
from ...navigation import nav_item
from ...services import DomainError
from ...services import invitation_messages as messages
from ...services import invitations, round_status, rounds
from ...services.quarters import current_quarter, local_today, quarter_bounds
from ...services.scope import project_scope
from ...services.uploads import read_scan
from .forms import OpenRoundForm, PaperForm, RoundFilterForm

bp = Blueprint("rounds", __name__)
#: who may follow rounds (object scope still applies); running them is the project's PM
ROUND_VIEWERS = ("pm", "quality", "pmo", "exec", "admin")
PROJECT_VIEWERS = ("pm", "sales", "quality", "pmo", "exec", "admin")
nav_item(25, "rounds.index", _l("Rounds"), roles=ROUND_VIEWERS)
nav_item(26, "rounds.outbox", _l("Outbox"), roles=("pm",), count=round_status.outbox_waiting)


@bp.route("/rounds/")
@access(*ROUND_VIEWERS)
def index():
    """Rounds of the projects you may see, filtered by quarter; htmx gets the list only."""
    scope = project_scope(current_user)
    form = RoundFilterForm.with_quarters(round_status.round_quarters(scope), request.args)
    filters = form.filters()
    page, summaries = round_status.rounds_page(scope, quarter=filters["quarter"], page=filters["page"],
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
    quarter = current_quarter()
    form = OpenRoundForm.for_project(versions, contacts, data={
        "quarter": quarter, "due_date": quarter_bounds(quarter)[1]})
    if form.validate_on_submit():
        picked = [c for c in contacts if c.id in set(form.contacts.data or ())]
        try:
            rnd = rounds.open_round(project, form.quarter.data, rounds.version_by_id(form.version.data),
                                    picked, form.due_date.data, current_user, today=local_today())
        except DomainError as error:
            form.show_error(error)
        else:
            db.session.commit()
            flash(_("The round is open. Send the invitations or copy each contact's link."), "success")
            return hx_redirect(url_for(".status", round_id=rnd.id))
    return render("rounds/new.html", "rounds/_form.html", status=422 if form.errors else 200,
                  form=form, project=project, contacts=contacts, versions=versions,
                  version_languages={v.id: rounds.languages_offered(v) for v in versions})


@bp.route("/rounds/<int:round_id>")
@access(*ROUND_VIEWERS)
def status(round_id):
    """Per contact: sent, opened, draft, submitted, overdue; htmx polls the table part."""
    rnd = get_round_or_404(round_id)  # 404 if missing, 403 if its project is not yours
    return render("rounds/status.html", "rounds/_status_table.html", rnd=rnd,
                  progress=round_status.round_status(rnd), can_run=can_run_rounds(current_user, rnd.project))


@bp.route("/rounds/<int:round_id>/invitations/send", methods=["POST"])
@access("pm")
def send_invitations(round_id):
    """E-mail (or put in the outbox) the invitation of every contact not sent one yet."""
    rnd = get_round_or_404(round_id, run=True)
    return _after_sending(rnd, lambda: messages.send_invitations(rnd, current_user))


@bp.route("/rounds/<int:round_id>/reminders/send", methods=["POST"])
@access("pm")
def send_reminders(round_id):
    """Remind the invited contacts who have not answered yet."""
    rnd = get_round_or_404(round_id, run=True)
    return _after_sending(rnd, lambda: messages.send_reminders(rnd, current_user))


def _after_sending(rnd, send):
    try:
        result = send()
    except DomainError as error:
        flash(str(error.message), "error")
    else:
        db.session.commit()  # e-mail goes out once this has committed
        sent, failed, queued = result.delivered()
        flash(_("%(sent)d e-mailed, %(outbox)d put in the outbox to copy, %(failed)d failed, "
                "%(queued)d still waiting to be e-mailed, %(skipped)d not due.", sent=sent,
                outbox=result.to_outbox, failed=failed, queued=queued, skipped=result.skipped),
              "error" if failed else "success")
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
    """Show one contact's link to copy: the same link every time, so copies already sent keep working."""
    invitation = get_invitation_or_404(invitation_id, run=True)
    return _link_page(invitation, lambda: invitations.current_link(invitation, by_user=current_user))


@bp.route("/invitations/<int:invitation_id>/link/new", methods=["POST"])
@access("pm")
def rotate_link(invitation_id):
    """Issue a new link for one contact; every copy of the old one stops working."""
    invitation = get_invitation_or_404(invitation_id, run=True)
    return _link_page(invitation, lambda: invitations.rotate_link(invitation, current_user), rotated=True)


def _link_page(invitation, get_link, rotated=False):
    try:
        link = get_link()
    except DomainError as error:
        db.session.rollback()
        return render("rounds/link.html", "rounds/_link.html", status=422, invitation=invitation,
                      error=error.message)
    db.session.commit()
    return render("rounds/link.html", "rounds/_link.html", invitation=invitation, link=link,
                  rotated=rotated)


@bp.route("/rounds/outbox")
@access("pm")
def outbox():
    """Messages of your rounds, newest first: status, and the text to copy when not e-mailed."""
    round_id = int_param(request.args, "round")
    page = round_status.outbox_page(current_user, round_id, page=page_param(request.args),
                                    per_page=current_app.config["PAGE_SIZE"])
    return render("rounds/outbox.html", "rounds/_outbox_list.html", pages=page, round_id=round_id)


@bp.route("/outbox/<int:message_id>/copy", methods=["POST"])
@access("pm")
def copy_message(message_id):
    """The held message with the contact's link, to copy into your own mail or chat."""
    message = get_outbox_message_or_404(message_id)  # 404 if missing, 403 if not your round
    try:
        text = messages.copy_with_link(message, current_user)
    except DomainError as error:
        return _copy_refused(message, error)
    db.session.commit()
    return render("rounds/copy.html", "rounds/_copy.html", message=message, text=text)


@bp.route("/outbox/<int:message_id>/sent", methods=["POST"])
@access("pm")
def mark_sent(message_id):
    """You copied the message and sent it yourself: it counts as sent."""
    message = get_outbox_message_or_404(message_id)  # 404 if missing, 403 if not your round
    try:
        messages.mark_message_sent(message, current_user)
    except DomainError as error:
        return _copy_refused(message, error)
    db.session.commit()
    if not is_partial():
        return hx_redirect(url_for(".outbox"))
    return render("rounds/outbox.html", "rounds/_outbox_message.html", m=message)


def _copy_refused(message, error):
    db.session.rollback()
    return render("rounds/copy.html", "rounds/_copy.html", status=422, message=message, error=error.message)


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
            return hx_redirect(url_for("responses.detail", response_id=response.id))
    elif request.method == "POST":
        status = 422
    return render("rounds/paper.html", "rounds/_paper_form.html", status=status, form=form,
                  invitation=invitation, version=invitation.version, values=values,
                  answer_errors=answer_errors)
