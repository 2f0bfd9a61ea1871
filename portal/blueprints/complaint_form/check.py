"""The check on a closed complaint's handling, answered by the complainant through its link
(DESIGN §4.7.4). As with survey links: ``/k/<token>`` trades the token for a short session and
redirects it out of the address bar; every bad link gets one identical page; every view is rate
limited per address and failed lookups count against it."""
import time
from datetime import timedelta, timezone

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import refresh

from ...authz import access
from ...database import writes_on_get
from ...extensions import db, limiter
from ...htmx import hx_redirect, is_partial, render
from ...models import ComplaintSurvey
from ...models.base import utcnow
from ...services import complaints as service
from ...services import throttle
from ...services.answers import AnswersInvalid
from ...services.responses import AlreadySubmitted
from ..survey.forms import ConfirmForm
from .views import bp

SESSION_KEY = "complaint_check"        # {"id": check id, "until": unix time}
DONE_KEY = "complaint_check_done"      # check id answered from this browser


def _limit():
    return current_app.config["SURVEY_RATE_LIMIT"]


def _speak(check):
    """The page speaks the questionnaire's language."""
    request.forced_locale = check.template_version.language
    refresh()


def _message(reason, status, check=None):
    if check is not None:
        _speak(check)
    return render_template("complaint_form/check_message.html", reason=reason, check=check), status


def _invalid():
    return _message("invalid", 404)


def _done(check_id):
    session.pop(SESSION_KEY, None)
    session[DONE_KEY] = check_id
    return _message("already_submitted", 409, db.session.get(ComplaintSurvey, check_id))


def _page(check, values, errors=None, status=200):
    version = check.template_version
    _speak(check)
    response = render("complaint_form/check.html", "complaint_form/_check_form.html", status=status,
                      check=check, complaint=check.complaint, version=version, values=values,
                      errors=errors or {}, form=ConfirmForm())
    if is_partial() and status == 422:
        response.headers["HX-Retarget"] = "#check-form"
        response.headers["HX-Reswap"] = "outerHTML"
    return response


@bp.after_request
def _no_referrer(response):
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/k/<token>")
@access(public=True)
@limiter.limit(_limit)
@writes_on_get
def open_check(token):
    """Trade the link's token for a session and drop it from the address bar."""
    try:
        check = service.find_valid_check(token, address=request.remote_addr)
    except throttle.TooManyFailures:
        db.session.rollback()
        return _message("rate_limited", 429)
    if check is None:
        db.session.commit()  # the failed lookup counts against this address
        return _invalid()
    minutes = current_app.config["SURVEY_SESSION_MINUTES"]
    until = min(utcnow() + timedelta(minutes=minutes), check.expires_at)
    db.session.commit()
    session[SESSION_KEY] = {"id": check.id, "until": int(until.replace(tzinfo=timezone.utc).timestamp())}
    session.pop(DONE_KEY, None)
    return redirect(url_for(".check_form"), 303)


def _session_check():
    """The check this browser's session is for, re-checked now; or the page to show instead."""
    state = session.get(SESSION_KEY)
    if not isinstance(state, dict) or not isinstance(state.get("until"), (int, float)) \
            or state["until"] <= time.time():
        session.pop(SESSION_KEY, None)
        done = session.get(DONE_KEY)
        if isinstance(done, int) and db.session.get(ComplaintSurvey, done) is not None:
            return None, _done(done)
        return None, _invalid()
    try:
        return service.check_for_session(state.get("id")), None
    except AlreadySubmitted:
        return None, _done(state["id"])
    except service.CheckLinkInvalid:
        session.pop(SESSION_KEY, None)
        return None, _invalid()


@bp.route("/complaint-check")
@access(public=True)
@limiter.limit(_limit)
def check_form():
    check, page = _session_check()
    return page if check is None else _page(check, {})


@bp.route("/complaint-check", methods=["POST"])
@access(public=True)
@limiter.limit(_limit)
def submit_check():
    """Submit once; a replay or a double click gets 'already submitted'."""
    check, page = _session_check()
    if check is None:
        return page
    check_id = check.id
    try:
        service.submit_check_online(check_id, request.form, client_ip=request.remote_addr,
                                    user_agent=request.user_agent.string)
    except AnswersInvalid as exc:
        db.session.rollback()
        return _page(db.session.get(ComplaintSurvey, check_id), request.form, exc.errors, status=422)
    except AlreadySubmitted:
        db.session.rollback()
        return _done(check_id)
    except service.CheckLinkInvalid:
        db.session.rollback()
        session.pop(SESSION_KEY, None)
        return _invalid()
    db.session.commit()
    session.pop(SESSION_KEY, None)
    session[DONE_KEY] = check_id
    return hx_redirect(url_for(".check_thanks"))


@bp.route("/complaint-check/thanks")
@access(public=True)
@limiter.limit(_limit)
def check_thanks():
    done = session.get(DONE_KEY)
    check = db.session.get(ComplaintSurvey, done) if isinstance(done, int) else None
    if check is None:
        return _invalid()
    return _message("thanks", 200, check)
