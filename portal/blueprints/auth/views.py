"""Sign in, sign out, language switch."""
import time
from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from ...authz import access
from ...extensions import db, limiter
from ...security import safe_next
from ...services import throttle
from ...services.accounts import authenticate, revoke_sessions
from ...services.audit import record_event
from .forms import LanguageForm, LoginForm

bp = Blueprint("auth", __name__)

#: signed, HttpOnly, sent to /login only: the accounts that signed in from this browser
DEVICE_COOKIE = "portal_device"


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _device_lifetime():
    return timedelta(days=current_app.config["LOGIN_DEVICE_DAYS"])


def _this_device():
    """The Device this browser's cookie stands for, or None (no cookie, forged or too old)."""
    return throttle.read_device(request.cookies.get(DEVICE_COOKIE), current_app.config["SECRET_KEY"],
                                _device_lifetime())


def _remember_device(response, device, user):
    """From now on this browser is known to ``user``: exempt from lockouts others cause."""
    device = (device or throttle.Device()).remembering(user)
    response.set_cookie(DEVICE_COOKIE, throttle.sign_device(device, current_app.config["SECRET_KEY"]),
                        max_age=int(_device_lifetime().total_seconds()), path=url_for("auth.login"),
                        secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Lax")
    return response


def _refused(form, message, seconds):
    """429, with the message beside the password field."""
    form.password.errors = [*form.password.errors, message]
    return render_template("auth/login.html", form=form), 429, {"Retry-After": str(max(1, int(seconds)))}


def _too_many_failures(form, decision):
    minutes = decision.wait_minutes()
    return _refused(form, ngettext("Too many failed attempts, try again in %(num)d minute.",
                                   "Too many failed attempts, try again in %(num)d minutes.", minutes),
                    minutes * 60)


@bp.errorhandler(429)
def _flooded(error):
    """The coarse per-address flood guard (Flask-Limiter) also answers at the password field."""
    db.session.rollback()
    limit = limiter.current_limit
    seconds = limit.reset_at - time.time() if limit is not None else 60
    return _refused(LoginForm(), _("Too many attempts. Please wait a minute and try again."), seconds)


@bp.route("/login", methods=["GET", "POST"])
@access(public=True)
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Sign in; the session is renewed and `next` only ever points at this site."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        device = _this_device()
        try:
            user = authenticate(form.username.data, form.password.data,
                                address=request.remote_addr, device=device)
        except throttle.TooManyFailures as refused:
            db.session.commit()  # the refusal is audited
            return _too_many_failures(form, refused.decision)
        if user is not None:
            target = safe_next(form.next.data)
            lang = session.get("lang")
            session.clear()  # new session at login: nothing carried over from before
            if lang:
                session["lang"] = lang
            login_user(user)
            session.permanent = True
            db.session.commit()
            return _remember_device(redirect(target, 303), device, user)
        db.session.commit()
        form.password.errors.append(_("Wrong user name or password, or the account is disabled."))
        return render_template("auth/login.html", form=form), 422
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@access()
def logout():
    """Sign out everywhere: the user's session token rotates, so copied cookies die too."""
    user = current_user._get_current_object()
    revoke_sessions(user)
    record_event("logout", user, actor=user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"), 303)


@bp.route("/language", methods=["POST"])
@access(public=True)
def set_language():
    """Pick the UI language; kept on the user when signed in."""
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data in current_app.config["LANGUAGES"]:
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            current_user.locale = form.lang.data
            db.session.commit()
    return redirect(safe_next(form.next.data), 303)
