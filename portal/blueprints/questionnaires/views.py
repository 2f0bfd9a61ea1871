"""Questionnaire templates: the quality department keeps them; the other roles read and preview.

Edits on a frozen version land in a new version; the page then moves to it (HX-Redirect).
"""
from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ...authz import access
from ...extensions import db
from ...htmx import hx_redirect, is_partial, render
from ...models import Question, Scale, Template, TemplateVersion
from ...navigation import nav_item
from ...services import DomainError
from ...services import questionnaires as svc
from .forms import (ArchiveForm, DetailsForm, MoveForm, QuestionForm, TemplateFilterForm,
                    TemplateForm)

bp = Blueprint("questionnaires", __name__, url_prefix="/questionnaires")

READERS = ("quality", "pmo", "pm", "sales", "exec")
EDITORS = ("quality",)
ADD_PREFIX = "new"  # the add form's fields are named new-code, new-text...; a row's q<id>-code...
nav_item(40, "questionnaires.index", _l("Questionnaires"), roles=READERS)


# --- loading and context ----------------------------------------------------------------------

def _version_or_404(version_id):
    return db.session.get(TemplateVersion, version_id) or abort(404)


def _question_or_404(version, question_id):
    question = db.session.get(Question, question_id)
    if question is None or question.version_id != version.id:
        abort(404)
    return question


def row_prefix(question):
    return f"q{question.id}"


def _scales():
    return db.session.scalars(select(Scale).order_by(Scale.id)).all()


def _editor_context(version, *, add_form=None, details_form=None, editing=None, edit_form=None):
    """One context for the editor page and each of its partials."""
    scales = _scales()
    template = version.template
    return {
        "version": version, "template": template, "state": svc.version_state(version),
        "add_form": add_form or QuestionForm(scales=scales, prefix=ADD_PREFIX, formdata=None),
        "details_form": details_form or DetailsForm(formdata=None, data={
            "name": template.name, "title": version.title, "intro": version.intro or ""}),
        "editing": editing, "edit_form": edit_form,
    }


def _after_change(result, version, partial, **partial_context):
    """Commit, then answer: a new version moves the page to it; else the partial (htmx) or a redirect."""
    db.session.commit()
    if result.new_version:
        flash(_("Version %(new)d was created from version %(old)d, which has been answered or issued "
                "and stays unchanged. Your change is in version %(new)d.",
                new=result.version.number, old=version.number), "success")
        return hx_redirect(url_for(".edit_version", version_id=result.version.id))
    if is_partial():
        return render(partial, partial, **_editor_context(result.version), **partial_context)
    anchor = f"#q-{result.question.id}" if result.question is not None else ""
    return hx_redirect(url_for(".edit_version", version_id=result.version.id) + anchor)


def _not_current(version, error):
    db.session.rollback()
    flash(error.message, "error")
    return hx_redirect(url_for(".edit_version", version_id=svc.current_version(version.template).id))


# --- list, create, preview --------------------------------------------------------------------

@bp.route("/")
@access(*READERS)
def index():
    """Templates by kind and language with their current version and whether it is frozen."""
    filter_form = TemplateFilterForm(formdata=request.args)
    filters = filter_form.filters()
    rows = svc.template_overview(filters["kind"], filters["language"], bool(filters["archived"]))
    return render("questionnaires/index.html", "questionnaires/_list.html", rows=rows, filters=filter_form,
                  can_edit=current_user.has_role(*EDITORS), archive_form=ArchiveForm(formdata=None))


@bp.route("/new", methods=["GET", "POST"])
@access(*EDITORS)
def create():
    """A new template with an empty version 1; its questions are added in the editor."""
    form = TemplateForm()
    if form.validate_on_submit():
        try:
            template = svc.create_template(**form.values(), user=current_user)
        except DomainError as error:
            form.show_error(error)
        else:
            db.session.commit()
            return hx_redirect(url_for(".edit_version", version_id=template.versions[-1].id))
    status = 422 if form.errors or form.form_errors else 200
    return render("questionnaires/new.html", "questionnaires/_create_form.html", status=status, form=form)


@bp.route("/versions/<int:version_id>/preview")
@access(*READERS)
def preview(version_id):
    """The form exactly as the client sees it, in the template's language, inputs disabled."""
    version = _version_or_404(version_id)
    return render("questionnaires/preview.html", version=version, state=svc.version_state(version))


@bp.route("/templates/<int:template_id>/archive", methods=["POST"])
@access(*EDITORS)
def archive(template_id):
    """Archive (offer for no new round) or restore a template."""
    template = db.session.get(Template, template_id) or abort(404)
    form = ArchiveForm()
    if not form.validate_on_submit():
        abort(400)
    svc.set_template_archived(template, form.archived.data == "1")
    db.session.commit()
    return hx_redirect(url_for(".index"))


# --- the version editor -----------------------------------------------------------------------

@bp.route("/versions/<int:version_id>")
@access(*EDITORS)
def edit_version(version_id):
    """A version's details and questions; older versions are shown read-only."""
    version = _version_or_404(version_id)
    return render("questionnaires/version.html", "questionnaires/_editor.html",
                  **_editor_context(version))


@bp.route("/versions/<int:version_id>", methods=["POST"])
@access(*EDITORS)
def update_details(version_id):
    """Template name, version title and introduction."""
    version = _version_or_404(version_id)
    form = DetailsForm()
    if form.validate_on_submit():
        try:
            result = svc.edit_details(version, **form.values(), user=current_user)
        except svc.NotCurrentVersion as error:
            return _not_current(version, error)
        except DomainError as error:
            form.show_error(error)
        else:
            return _after_change(result, version, "questionnaires/_details_form.html", saved=True)
    return render("questionnaires/version.html", "questionnaires/_details_form.html", status=422,
                  **_editor_context(version, details_form=form))


@bp.route("/versions/<int:version_id>/questions", methods=["POST"])
@access(*EDITORS)
def add_question(version_id):
    """Append a question; the editor comes back with the new row and an empty form."""
    version = _version_or_404(version_id)
    form = QuestionForm(scales=_scales(), prefix=ADD_PREFIX)
    if form.validate_on_submit():
        try:
            result = svc.add_question(version, **form.values(), user=current_user)
        except svc.NotCurrentVersion as error:
            return _not_current(version, error)
        except DomainError as error:
            form.show_error(error)
        else:
            return _after_change(result, version, "questionnaires/_editor.html")
    return render("questionnaires/version.html", "questionnaires/_editor.html", status=422,
                  **_editor_context(version, add_form=form))


@bp.route("/versions/<int:version_id>/questions/<int:question_id>")
@access(*EDITORS)
def question_row(version_id, question_id):
    """One question as a row (htmx: cancelling an edit)."""
    version = _version_or_404(version_id)
    question = _question_or_404(version, question_id)
    return render("questionnaires/version.html", "questionnaires/_row.html", q=question,
                  **_editor_context(version))


@bp.route("/versions/<int:version_id>/questions/<int:question_id>/edit")
@access(*EDITORS)
def edit_question(version_id, question_id):
    """The question's row turned into its form, in place."""
    version = _version_or_404(version_id)
    question = _question_or_404(version, question_id)
    form = QuestionForm.from_question(question, _scales(), prefix=row_prefix(question))
    return render("questionnaires/version.html", "questionnaires/_row_form.html", q=question,
                  **_editor_context(version, editing=question.id, edit_form=form))


@bp.route("/versions/<int:version_id>/questions/<int:question_id>", methods=["POST"])
@access(*EDITORS)
def update_question(version_id, question_id):
    """Save the row's form; the row comes back (or the new version's page)."""
    version = _version_or_404(version_id)
    question = _question_or_404(version, question_id)
    form = QuestionForm(scales=_scales(), prefix=row_prefix(question))
    if form.validate_on_submit():
        try:
            result = svc.update_question(question, **form.values(), user=current_user)
        except svc.NotCurrentVersion as error:
            return _not_current(version, error)
        except DomainError as error:
            form.show_error(error)
        else:
            return _after_change(result, version, "questionnaires/_row.html", q=result.question)
    return render("questionnaires/version.html", "questionnaires/_row_form.html", status=422, q=question,
                  **_editor_context(version, editing=question.id, edit_form=form))


@bp.route("/versions/<int:version_id>/questions/<int:question_id>/delete", methods=["POST"])
@access(*EDITORS)
def delete_question(version_id, question_id):
    """Remove a question; the editor comes back renumbered."""
    version = _version_or_404(version_id)
    question = _question_or_404(version, question_id)
    try:
        result = svc.remove_question(question, user=current_user)
    except svc.NotCurrentVersion as error:
        return _not_current(version, error)
    return _after_change(result, version, "questionnaires/_editor.html")


@bp.route("/versions/<int:version_id>/questions/<int:question_id>/move", methods=["POST"])
@access(*EDITORS)
def move_question(version_id, question_id):
    """Move a question one place up or down."""
    version = _version_or_404(version_id)
    question = _question_or_404(version, question_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = svc.move_question(question, form.direction.data, user=current_user)
    except svc.NotCurrentVersion as error:
        return _not_current(version, error)
    return _after_change(result, version, "questionnaires/_editor.html")
