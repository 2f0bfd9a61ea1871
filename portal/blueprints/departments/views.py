"""Departments: the administrator keeps them (name, head, active, members), edited in place;
quality, PMO and executives read every one; a head or member reads their own."""
from flask import Blueprint, abort, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...authz import access, deny
from ...extensions import db
from ...htmx import hx_redirect, is_partial, render
from ...models import Department
from ...navigation import nav_item
from ...services import DomainError
from ...services.departments import (
    assignable_users,
    create_department,
    departments,
    departments_of,
    is_member,
    set_members,
    update_department,
    users_by_id,
)
from .forms import DepartmentForm, MembersForm

WIDE_READERS = ("admin", "quality", "pmo", "exec")
#: pm and sales read the departments they head or belong to
READERS = (*WIDE_READERS, "pm", "sales")

bp = Blueprint("departments", __name__, url_prefix="/departments")
nav_item(55, "departments.index", _l("Departments"), roles=WIDE_READERS)


def get_department_or_404(department_id):
    """A department, 404 if missing, 403 unless you read every one or head/belong to it."""
    dept = db.session.get(Department, department_id)
    if dept is None:
        abort(404)
    if not current_user.has_role(*WIDE_READERS) and not is_member(current_user, dept):
        deny("department", department_id=department_id)
    return dept


def _is_admin():
    return current_user.has_role("admin")


@bp.route("/")
@access(*READERS)
def index():
    """Every department (yours only, for a PM or sales), with head and member count; admin adds."""
    if current_user.has_role(*WIDE_READERS):
        rows = departments(active_only=False)
    else:
        rows = departments_of(current_user)
    form = DepartmentForm(formdata=None).set_users(assignable_users()) if _is_admin() else None
    return render("departments/index.html", rows=rows, form=form, can_manage=_is_admin())


@bp.route("/new", methods=["GET", "POST"])
@access("admin")
def create():
    """Create a department (name unique, head optional); members are chosen on its page."""
    form = DepartmentForm().set_users(assignable_users())
    if form.validate_on_submit():
        try:
            dept = create_department(form.name.data, head=_user(form.head.data), actor=current_user)
        except DomainError as error:
            form.show_error(error)
        else:
            db.session.commit()
            flash(_("Department %(name)s was created.", name=dept.name), "success")
            return hx_redirect(url_for(".detail", department_id=dept.id))
    return render("departments/new.html", "departments/_new_form.html",
                  status=422 if form.errors or form.form_errors else 200, form=form)


@bp.route("/<int:department_id>")
@access(*READERS)
def detail(department_id):
    """A department's head and members; the administrator edits both in place."""
    dept = get_department_or_404(department_id)
    return _detail_page(dept)


@bp.route("/<int:department_id>/edit", methods=["POST"])
@access("admin")
def edit(department_id):
    """Rename, change the head, (de)activate; htmx gets the box back (422 with errors beside fields)."""
    dept = get_department_or_404(department_id)
    users = assignable_users(dept)
    form = DepartmentForm().set_users(users)
    if form.validate_on_submit():
        try:
            update_department(dept, name=form.name.data, head=_user(form.head.data),
                              active=form.active.data, actor=current_user)
        except DomainError as error:
            form.show_error(error)
        else:
            return _saved(dept, "departments/_profile.html", _("Department %(name)s was saved.", name=dept.name))
    return _detail_page(dept, "departments/_profile.html", profile_form=form, status=422)


@bp.route("/<int:department_id>/members", methods=["POST"])
@access("admin")
def members(department_id):
    """Replace the listed members with the ticked users; htmx gets the box back."""
    dept = get_department_or_404(department_id)
    form = MembersForm().set_users(assignable_users(dept))
    if form.validate_on_submit():
        try:
            set_members(dept, users_by_id(form.members.data or []), actor=current_user)
        except DomainError as error:
            form.show_error(error)
        else:
            return _saved(dept, "departments/_members.html", _("The members were saved."))
    return _detail_page(dept, "departments/_members.html", members_form=form, status=422)


def _user(user_id):
    """The chosen user or None; an id that names nobody is refused by the form's choices first."""
    found = users_by_id([user_id])
    return found[0] if found else None


def _saved(dept, partial, message):
    db.session.commit()
    if is_partial():
        return _detail_page(dept, partial, done=message)
    flash(message, "success")
    return hx_redirect(url_for(".detail", department_id=dept.id))


def _detail_page(dept, partial=None, *, profile_form=None, members_form=None, done=None, status=200):
    """The department page (or one of its boxes for htmx): forms only for the administrator."""
    context = {"dept": dept, "can_manage": _is_admin(), "done": done, "profile_form": None, "members_form": None}
    if _is_admin():
        users = assignable_users(dept)
        if profile_form is None:
            profile_form = DepartmentForm(formdata=None, name=dept.name, head=dept.head_id,
                                          active=dept.active).set_users(users)
        if members_form is None:
            members_form = MembersForm(formdata=None, members=[m.user_id for m in dept.memberships])
            members_form.set_users(users)
        context.update(profile_form=profile_form, members_form=members_form)
    return render("departments/detail.html", partial, status=status, **context)
