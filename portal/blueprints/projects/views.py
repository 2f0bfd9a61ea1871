"""Projects: list, page, create/edit (admin, PMO) and milestones kept inline (admin, PMO, the project's PM).
PM and sales see only their own projects."""
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...authz import access, can_edit_milestones, can_manage_master_data, deny, get_project_or_404
from ...extensions import db
from ...htmx import hx_redirect, is_partial, render
from ...models import Milestone
from ...navigation import nav_item, panels_for
from ...services import DomainError
from ...services.projects import (create_project, mark_milestone_reached, save_milestone, search_projects,
                                  update_project)
from .forms import MilestoneForm, ProjectFilterForm, ProjectForm, ReachedForm

PROJECT_ROLES = ("pm", "sales", "quality", "pmo", "exec", "admin")
MILESTONE_BOX = "projects/_milestones.html"
bp = Blueprint("projects", __name__, url_prefix="/projects")
nav_item(20, "projects.index", _l("Projects"), roles=PROJECT_ROLES)


@bp.route("/")
@access(*PROJECT_ROLES)
def index():
    """Projects you may see, searched by code/name/client and filtered; htmx gets the results only."""
    form = ProjectFilterForm.for_user(current_user, request.args)
    results = search_projects(current_user, **form.filters(), per_page=current_app.config["PAGE_SIZE"])
    return render("projects/index.html", "projects/_results.html", form=form, results=results,
                  can_manage=can_manage_master_data(current_user))


@bp.route("/<int:project_id>")
@access(*PROJECT_ROLES)
def detail(project_id):
    """The project page: facts, milestones and the panels features register."""
    return _project_page(get_project_or_404(project_id), partial=None)  # 404 missing, 403 not yours


@bp.route("/new", methods=["GET", "POST"])
@access("admin", "pmo")
def create():
    """Create a project: unique code, a PM, optionally a sales owner, end not before start."""
    form = ProjectForm.for_project()
    if form.validate_on_submit():
        try:
            project = create_project(**form.values())
        except DomainError as error:
            form.show_error(error)
        else:
            return _saved(_("Project %(code)s was created.", code=project.code), project)
    return render("projects/form.html", "projects/_form.html", status=422 if form.errors else 200,
                  form=form, project=None)


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
@access("admin", "pmo")
def edit(project_id):
    """Change a project's facts."""
    project = get_project_or_404(project_id, manage=True)
    form = ProjectForm.for_project(project)
    if form.validate_on_submit():
        try:
            update_project(project, **form.values())
        except DomainError as error:
            form.show_error(error)
        else:
            return _saved(_("Project %(code)s was saved.", code=project.code), project)
    return render("projects/form.html", "projects/_form.html", status=422 if form.errors else 200,
                  form=form, project=project)


@bp.route("/<int:project_id>/milestones", methods=["POST"])
@access("admin", "pmo", "pm")
def milestone_create(project_id):
    """Add a milestone; htmx gets the refreshed milestones box."""
    project = _milestone_project(project_id)
    form = MilestoneForm(prefix="ms")
    if form.validate_on_submit():
        try:
            save_milestone(project, **form.values())
        except DomainError as error:
            form.show_error(error)
        else:
            return _milestone_saved(project)
    return _project_page(project, ms_form=form, status=422)


@bp.route("/<int:project_id>/milestones/<int:milestone_id>/edit", methods=["GET", "POST"])
@access("admin", "pmo", "pm")
def milestone_edit(project_id, milestone_id):
    """Edit a milestone in its row (GET shows the row as a form)."""
    project = _milestone_project(project_id)
    milestone = _milestone_of(project, milestone_id)
    form = MilestoneForm(prefix="ms", obj=milestone)
    if form.validate_on_submit():
        try:
            save_milestone(project, milestone, **form.values())
        except DomainError as error:
            form.show_error(error)
        else:
            return _milestone_saved(project)
    return _project_page(project, ms_form=form, editing=milestone, status=422 if form.errors else 200)


@bp.route("/<int:project_id>/milestones/<int:milestone_id>/reached", methods=["POST"])
@access("admin", "pmo", "pm")
def milestone_reached(project_id, milestone_id):
    """Mark a milestone reached (today unless a date is given)."""
    project = _milestone_project(project_id)
    milestone = _milestone_of(project, milestone_id)
    form = ReachedForm()
    if not form.validate_on_submit():
        return _project_page(project, status=422, reached_error=form.reached_date.errors)
    mark_milestone_reached(milestone, form.reached_date.data)
    return _milestone_saved(project)


def _milestone_project(project_id):
    """The project, 404 if missing, 403 unless you may keep its milestones."""
    project = get_project_or_404(project_id)
    if not can_edit_milestones(current_user, project):
        deny("milestones", project_id=project_id)
    return project


def _milestone_of(project, milestone_id):
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None or milestone.project_id != project.id:
        abort(404)
    return milestone


def _saved(message, project):
    db.session.commit()
    flash(message, "success")
    return hx_redirect(url_for(".detail", project_id=project.id))


def _milestone_saved(project):
    db.session.commit()
    if is_partial():
        return _project_page(project)
    flash(_("Milestones saved."), "success")
    return redirect(url_for(".detail", project_id=project.id, _anchor="milestones"), 303)


def _project_page(project, partial=MILESTONE_BOX, ms_form=None, editing=None, status=200, reached_error=None):
    """One context for the project page and its milestones box (what htmx milestone requests get)."""
    context = dict(project=project, editing=editing, reached_error=reached_error,
                   ms_form=ms_form or MilestoneForm(prefix="ms", formdata=None),
                   can_manage=can_manage_master_data(current_user),
                   can_edit_milestones=can_edit_milestones(current_user, project))
    if not (partial and is_partial()):
        context["panels"] = panels_for(current_user, project)
    return render("projects/detail.html", partial, status=status, **context)
