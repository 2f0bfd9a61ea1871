"""Sign in, sign out, language switch."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ...authz import access
from ...extensions import db, limiter
from ...security import safe_next
from ...services.accounts import authenticate, revoke_sessions
from ...services.audit import record_event
from .forms import LanguageForm, LoginForm

bp = Blueprint("auth", __name__)


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@access(public=True)
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Sign in; the session is renewed and `next` only ever points at this site."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            target = safe_next(form.next.data)
            lang = session.get("lang")
            session.clear()  # new session at login: nothing carried over from before
            if lang:
                session["lang"] = lang
            login_user(user)
            session.permanent = True
            db.session.commit()
            return redirect(target, 303)
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
    record_event("logout", user, user=user)
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
