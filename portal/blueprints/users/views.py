"""User administration (admin only): list, create, edit, enable/disable, reset password."""
from flask import Blueprint, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...authz import access
from ...extensions import db
from ...htmx import hx_redirect, is_partial, render
from ...models import User
from ...navigation import nav_item
from ...services import DomainError
from ...services.users_admin import (create_account, reset_password, search_users, set_account_active,
                                     update_account)
from .forms import PasswordForm, UserCreateForm, UserEditForm, UserFilterForm

bp = Blueprint("users", __name__, url_prefix="/users")
nav_item(90, "users.index", _l("Users"), roles=("admin",))


@bp.route("/")
@access("admin")
def index():
    """Users, searched by name and filtered by role and status; htmx gets the results only."""
    form = UserFilterForm(formdata=request.args)
    results = search_users(**form.filters(), per_page=current_app.config["PAGE_SIZE"])
    return render("users/index.html", "users/_results.html", form=form, results=results)


@bp.route("/new", methods=["GET", "POST"])
@access("admin")
def create():
    """Create an account with an initial password."""
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = create_account(**form.values())
        except DomainError as error:
            form.show_error(error)
        else:
            db.session.commit()
            flash(_("User %(name)s was created.", name=user.username), "success")
            return hx_redirect(url_for(".index"))
    return render("users/new.html", "users/_form.html", status=422 if form.errors else 200, form=form)


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@access("admin")
def edit(user_id):
    """Change display name, e-mail, roles and language; you cannot drop your own admin role."""
    user = db.get_or_404(User, user_id)
    form = UserEditForm(obj=user)
    if form.validate_on_submit():
        try:
            update_account(current_user, user, **form.values())
        except DomainError as error:
            form.show_error(error)
        else:
            db.session.commit()
            flash(_("User %(name)s was saved.", name=user.username), "success")
            return hx_redirect(url_for(".index"))
    return _edit_page(user, "users/_form.html", form=form, status=422 if form.errors else 200)


@bp.route("/<int:user_id>/disable", methods=["POST"])
@access("admin")
def disable(user_id):
    """Disable an account; the user's sessions end at once. Not your own."""
    return _set_active(db.get_or_404(User, user_id), False)


@bp.route("/<int:user_id>/enable", methods=["POST"])
@access("admin")
def enable(user_id):
    """Let a disabled user sign in again."""
    return _set_active(db.get_or_404(User, user_id), True)


@bp.route("/<int:user_id>/password", methods=["POST"])
@access("admin")
def password(user_id):
    """Set a new password for a user; their sessions end."""
    user = db.get_or_404(User, user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            reset_password(current_user, user, form.password.data)
        except DomainError as error:
            form.show_error(error)
        else:
            db.session.commit()
            return _done(user, _("The password of %(name)s was reset.", name=user.username), "users/_password.html")
    return _edit_page(user, "users/_password.html", password_form=form, status=422)


def _set_active(user, active):
    try:
        set_account_active(current_user, user, active)
    except DomainError as error:
        return _edit_page(user, "users/_status.html", status_error=error.message, status=422)
    db.session.commit()
    message = _("%(name)s is enabled.", name=user.username) if active else _(
        "%(name)s is disabled and signed out everywhere.", name=user.username)
    return _done(user, message, "users/_status.html")


def _done(user, message, partial):
    """After an action on the edit page: htmx gets the refreshed box, a plain form a redirect."""
    if is_partial():
        return _edit_page(user, partial, done=message)
    flash(message, "success")
    return hx_redirect(url_for(".edit", user_id=user.id))


def _edit_page(user, partial, form=None, password_form=None, status_error=None, done=None, status=200):
    """The edit page (profile form, status box, password box); htmx gets ``partial`` only."""
    return render("users/edit.html", partial, status=status, user=user,
                  form=form or UserEditForm(formdata=None, obj=user),
                  password_form=password_form or PasswordForm(formdata=None),
                  status_error=status_error, done=done)
