"""The client's questionnaire (DESIGN §4.1.3): no account, one single-use link.

``/s/<token>`` trades the token for a short survey session and redirects, so the
token leaves the address bar (and never reaches a Referer: these responses send
``Referrer-Policy: no-referrer``). Every kind of bad link gets one identical page.
Every view is rate limited per address, failed lookups included.
"""
import time
from datetime import timezone
from functools import wraps

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_wtf.csrf import CSRFError

from ...authz import access
from ...database import writes_on_get
from ...extensions import db, limiter
from ...htmx import is_partial, render
from ...models import Invitation
from ...services import survey, throttle
from .forms import ConfirmForm

bp = Blueprint("survey", __name__)

SESSION_KEY = "survey"        # {"id": invitation id, "until": unix time}
DONE_KEY = "survey_done"      # invitation id submitted from this browser (thank-you page)


def _survey_limit():
    return current_app.config["SURVEY_RATE_LIMIT"]


@bp.after_request
def _no_referrer(response):
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.errorhandler(429)
def _too_many_requests(error):
    db.session.rollback()
    return render_template("survey/message.html", reason="rate_limited"), 429


@bp.errorhandler(CSRFError)
def _form_expired(error):
    db.session.rollback()
    return render_template("survey/message.html", reason="expired"), 400


# --- helpers ---------------------------------------------------------------

def _link_invalid():
    """One page, one status for every bad link: unknown, used, expired, opted out, closed."""
    return render_template("survey/message.html", reason="invalid"), 404


def _follow_template_language(invitation):
    """The whole page speaks the questionnaire's language (DESIGN §8)."""
    request.forced_locale = invitation.version.language
    refresh()


def _already_submitted(invitation_id):
    session.pop(SESSION_KEY, None)
    session[DONE_KEY] = invitation_id
    invitation = db.session.get(Invitation, invitation_id)
    _follow_template_language(invitation)
    return render_template("survey/message.html", reason="already_submitted", invitation=invitation), 409


def _no_survey_session():
    done = session.get(DONE_KEY)
    if isinstance(done, int) and db.session.get(Invitation, done) is not None:
        return _already_submitted(done)
    return _link_invalid()


def survey_session(view):
    """Give ``view`` the invitation this browser's survey session is for, re-checked now."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        state = session.get(SESSION_KEY)
        if not isinstance(state, dict) or not isinstance(state.get("until"), (int, float)) \
                or state["until"] <= time.time():
            session.pop(SESSION_KEY, None)
            return _no_survey_session()
        try:
            invitation = survey.invitation_for_session(state.get("id"))
        except survey.AlreadySubmitted:
            return _already_submitted(state["id"])
        except survey.LinkInvalid:
            session.pop(SESSION_KEY, None)
            return _link_invalid()
        _follow_template_language(invitation)
        return view(invitation, *args, **kwargs)
    return wrapper


def _form_page(invitation, values, errors=None, status=200):
    """The questionnaire page, or only its form for htmx. One context for both."""
    version = invitation.version
    return render("survey/form.html", "survey/_form.html", status=status,
                  invitation=invitation, version=version, round=invitation.round,
                  project=invitation.round.project, client=invitation.round.project.client,
                  values=values, errors=errors or {}, saved_at=invitation.draft_saved_at,
                  just_saved=False, form=ConfirmForm())


def _answers_invalid(invitation, errors):
    """422 with each message beside its question; htmx swaps the whole form in place."""
    response = _form_page(invitation, request.form, errors, status=422)
    if is_partial():
        response.headers["HX-Retarget"] = "#survey-form"
        response.headers["HX-Reswap"] = "outerHTML"
    return response


# --- views -----------------------------------------------------------------

@bp.route("/s/<token>")
@access(public=True)
@limiter.limit(_survey_limit)
@writes_on_get
def open_link(token):
    """Trade the link's token for a survey session and drop it from the address bar."""
    try:
        invitation = survey.find_valid_invitation(token, address=request.remote_addr)
    except throttle.TooManyFailures as refused:  # this address guessed too often, even a good link waits
        return _too_many_requests(refused)
    if invitation is None:
        db.session.commit()  # the failed lookup counts against this address
        return _link_invalid()
    survey.open_invitation(invitation)
    until = survey.session_until(invitation, current_app.config["SURVEY_SESSION_MINUTES"])
    db.session.commit()
    session[SESSION_KEY] = {"id": invitation.id,
                            "until": int(until.replace(tzinfo=timezone.utc).timestamp())}
    session.pop(DONE_KEY, None)
    return redirect(url_for(".form"), 303)


@bp.route("/survey")
@access(public=True)
@limiter.limit(_survey_limit)
@survey_session
def form(invitation):
    """The questionnaire, with the saved draft filled in."""
    return _form_page(invitation, invitation.draft or {})


def _draft_saved(invitation, saved_at):
    """The status line; if the form shows messages of a refused draft, the answers without them too
    (out of band, as typed)."""
    if not request.form.get("errors_shown"):
        return render("survey/_draft_status.html", saved_at=saved_at, just_saved=True)
    return render("survey/_form.html", refresh_answers=True, version=invitation.version,
                  values=request.form, errors={}, saved_at=saved_at, just_saved=True)


@bp.route("/survey/draft", methods=["POST"])
@access(public=True)
@limiter.limit(_survey_limit)
@survey_session
def save_draft(invitation):
    """Keep the answers so far: htmx gets the status line (errors cleared), a plain form a redirect back."""
    try:
        saved_at = survey.save_draft(invitation, request.form)
    except survey.AnswersInvalid as exc:
        return _answers_invalid(invitation, exc.errors)
    db.session.commit()
    if is_partial():
        return _draft_saved(invitation, saved_at)
    flash(_("Draft saved. You can come back to it with the link from your invitation."), "success")
    return redirect(url_for(".form"), 303)


@bp.route("/survey/submit", methods=["POST"])
@access(public=True)
@limiter.limit(_survey_limit)
@survey_session
def submit(invitation):
    """Submit once; a second submit, a replay or a double click gets 'already submitted'."""
    invitation_id = invitation.id
    try:
        survey.submit_online(invitation, request.form, client_ip=request.remote_addr,
                             user_agent=request.user_agent.string)
    except survey.AnswersInvalid as exc:
        return _answers_invalid(invitation, exc.errors)
    except survey.AlreadySubmitted:
        db.session.rollback()
        return _already_submitted(invitation_id)
    except survey.LinkInvalid:
        db.session.rollback()
        session.pop(SESSION_KEY, None)
        return _link_invalid()
    db.session.commit()
    session.pop(SESSION_KEY, None)
    session[DONE_KEY] = invitation_id
    return redirect(url_for(".thanks"), 303)


@bp.route("/survey/thanks")
@access(public=True)
@limiter.limit(_survey_limit)
def thanks():
    """Thank-you page for the questionnaire just submitted from this browser."""
    done = session.get(DONE_KEY)
    invitation = db.session.get(Invitation, done) if isinstance(done, int) else None
    if invitation is None:
        return _link_invalid()
    _follow_template_language(invitation)
    return render_template("survey/message.html", reason="thanks", invitation=invitation)


@bp.route("/survey/language", methods=["POST"])
@access(public=True)
@limiter.limit(_survey_limit)
@survey_session
def choose_language(invitation):
    """Read the questionnaire in another of its languages (answers so far are kept)."""
    form = ConfirmForm()
    if form.validate_on_submit():
        if any(k.startswith("q_") and v for k, v in request.form.items()):
            try:  # keep what was typed so far; answers that are not valid yet stay behind
                survey.save_draft(invitation, request.form)
            except survey.AnswersInvalid:
                pass
        survey.choose_language(invitation, request.form.get("lang"))
        db.session.commit()
    return redirect(url_for(".form"), 303)


@bp.route("/survey/opt-out", methods=["GET", "POST"])
@access(public=True)
@limiter.limit(_survey_limit)
@survey_session
def opt_out(invitation):
    """Confirm, then stop all questionnaires to this contact."""
    form = ConfirmForm()
    if form.validate_on_submit():
        survey.opt_out(invitation)
        db.session.commit()
        session.pop(SESSION_KEY, None)
        return render_template("survey/message.html", reason="opted_out", invitation=invitation)
    return render_template("survey/opt_out.html", invitation=invitation, form=form)
