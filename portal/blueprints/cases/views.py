"""Ticket import pages (quality, admin): upload a ticket export, map its columns with a preview,
run the import as a background job, and read every import's outcome and errors."""
from flask import Blueprint, abort, current_app, flash, request, session, url_for
from flask import Response as FlaskResponse
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...authz import access
from ...extensions import db
from ...forms import page_param
from ...htmx import hx_redirect, render
from ...jobs import start_job
from ...models import PRIORITIES
from ...navigation import nav_item
from ...services import DomainError
from ...services.cases import catalog
from ...services.quarters import QUARTER_RE
from ...services.cases.mapping import (FIELDS, FIELD_LABELS, REQUIRED, check_mapping, guess_mapping,
                                       mapping_by_name, save_mapping, saved_mappings)
from ...services.cases.reading import FileRefused, read_table
from ...seed.examples import example_csv, example_xlsx
from .forms import MappingForm, UploadForm

bp = Blueprint("cases", __name__, cli_group=None)  # `flask import-cases`
IMPORTERS = ("quality", "admin")
READERS = ("quality", "admin", "pmo", "exec")
PENDING = "pending_case_imports"  # session: stored file name -> the name it was uploaded with
PREVIEW_ROWS = 10

nav_item(40, "cases.index", _l("Tickets"), roles=READERS)


@bp.route("/cases/")
@access(*READERS)
def index():
    """The imported tickets, by quarter and priority, searchable by ticket id or project."""
    page = page_param(request.args)
    quarter = request.args.get("quarter") if QUARTER_RE.fullmatch(request.args.get("quarter") or "") else None
    priority = request.args.get("priority") if request.args.get("priority") in PRIORITIES else None
    q = (request.args.get("q") or "").replace("\x00", "").strip()[:64] or None  # PostgreSQL stores no NUL
    results = catalog.cases_page(quarter=quarter, priority=priority, search=q, page=page,
                                 per_page=current_app.config["PAGE_SIZE"])
    return render("cases/index.html", "cases/_list.html", results=results, quarters=catalog.case_quarters(),
                  quarter=quarter, priority=priority, q=q or "")


@bp.route("/cases/import", methods=["GET", "POST"])
@access(*IMPORTERS)
def upload():
    """Step 1: choose a ticket export (CSV or XLSX); its headers and first rows lead to step 2."""
    form = UploadForm()
    form.mapping_name.choices = [("", _l("Recognise the columns"))] + [(m.name, m.name) for m in saved_mappings()]
    if request.method == "POST" and form.validate_on_submit():
        upload = request.files.get("file")
        if not upload or not upload.filename:
            form.file.errors = [*form.file.errors, _("Choose a file.")]
        else:
            data = upload.read()
            try:
                table = read_table(data, upload.filename)
            except FileRefused as error:
                form.file.errors = [*form.file.errors, error.message]
            else:
                stored = catalog.store_pending(data)
                session.setdefault(PENDING, {})[stored] = upload.filename[:255]
                session.modified = True
                saved = mapping_by_name(form.mapping_name.data) if form.mapping_name.data else None
                return _mapping_step(stored, upload.filename, table, saved.columns if saved else None)
        return render("cases/upload.html", "cases/_upload.html", 422, form=form, recent=catalog.recent_imports())
    status = 422 if request.method == "POST" else 200
    return render("cases/upload.html", "cases/_upload.html", status, form=form, recent=catalog.recent_imports())


def _pending_or_none(stored):
    return (session.get(PENDING) or {}).get(stored)


def _mapping_step(stored, filename, table, columns=None, form=None, status=200):
    """Step 2: one select per field (pre-filled from the headers or a saved mapping), the first rows
    as the import would read them, the sheet for a workbook."""
    mapping = {f: (columns or {}).get(f) for f in FIELDS} if columns else guess_mapping(table.headers)
    mapping = {f: (h if h in table.headers else None) for f, h in mapping.items()}
    if form is None:
        form = MappingForm.for_headers(table.headers, mapping, stored=stored, sheet=table.sheet)
    preview = catalog.preview(table, mapping, PREVIEW_ROWS)
    return render("cases/mapping.html", "cases/_mapping.html", status, form=form, table=table,
                  filename=filename, stored=stored, preview=preview, fields=FIELDS, labels=FIELD_LABELS,
                  required=REQUIRED, mapping=mapping)


@bp.route("/cases/import/mapping")
@access(*IMPORTERS)
def mapping_step():
    """Step 2 again for another sheet of the same workbook (htmx swaps the step)."""
    stored = request.args.get("file", "")
    filename = _pending_or_none(stored)
    if filename is None:
        flash(_("That upload is no longer available; choose the file again."), "error")
        return hx_redirect(url_for(".upload"))
    data = catalog.read_pending(stored)
    if data is None:
        flash(_("That upload is no longer available; choose the file again."), "error")
        return hx_redirect(url_for(".upload"))
    try:
        table = read_table(data, filename, sheet=request.args.get("sheet") or None)
    except FileRefused as error:
        flash(error.message, "error")
        return hx_redirect(url_for(".upload"))
    return _mapping_step(stored, filename, table)


@bp.route("/cases/import/start", methods=["POST"])
@access(*IMPORTERS)
def start():
    """Step 3: check the mapping, save it by name if asked, and run the import as a job."""
    stored = request.form.get("stored", "")
    filename = _pending_or_none(stored)
    data = catalog.read_pending(stored) if filename is not None else None
    if data is None:
        flash(_("That upload is no longer available; choose the file again."), "error")
        return hx_redirect(url_for(".upload"))
    table = read_table(data, filename, sheet=request.form.get("sheet") or None)
    form = MappingForm.for_headers(table.headers, {}, stored=stored, sheet=table.sheet, formdata=request.form)
    if not form.validate():
        return _mapping_step(stored, filename, table, form=form, status=422)
    mapping = form.mapping()
    try:
        check_mapping(mapping, table.headers)
        if form.save_as.data:
            save_mapping(form.save_as.data.strip(), mapping, current_user)
    except DomainError as error:
        db.session.rollback()
        form.show_error(error)
        return _mapping_step(stored, filename, table, columns=mapping, form=form, status=422)
    job = start_job("import_cases", current_user, stored_name=stored, filename=filename, mapping=mapping,
                    sheet=table.sheet, user_id=current_user.id)
    db.session.commit()  # the job is handed to the worker now
    session.get(PENDING, {}).pop(stored, None)
    session.modified = True
    return hx_redirect(url_for("jobs.detail", job_id=job.id))


@bp.route("/cases/imports")
@access(*IMPORTERS)
def imports():
    """Every import: file, checksum, who, when, rows read/added/updated/unchanged/rejected."""
    results = catalog.imports_page(page=page_param(request.args), per_page=current_app.config["PAGE_SIZE"])
    return render("cases/imports.html", "cases/_imports.html", results=results)


@bp.route("/cases/imports/<int:import_id>")
@access(*IMPORTERS)
def import_detail(import_id):
    """One import's outcome, with its errors by row and column."""
    return render("cases/import_detail.html", imp=_import_or_404(import_id))


@bp.route("/cases/imports/<int:import_id>/errors.csv")
@access(*IMPORTERS)
def import_errors(import_id):
    """The import's errors as CSV for Excel (UTF-8 with BOM, formulas neutralised)."""
    from ...services.cases.importer import errors_csv
    imp = _import_or_404(import_id)
    return _download(errors_csv(imp), f"import-{imp.id}-errors.csv", "text/csv; charset=utf-8")


@bp.route("/cases/examples/<any(csv, xlsx):kind>")
@access(*IMPORTERS)
def example(kind):
    """An example export to try the import with (GB18030 CSV as Chinese Excel writes it, or XLSX)."""
    if kind == "csv":
        return _download(example_csv(), "tickets-example-gb18030.csv", "text/csv; charset=gb18030")
    return _download(example_xlsx(), "tickets-example.xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _import_or_404(import_id):
    from ...models import CaseImport
    return db.session.get(CaseImport, import_id) or abort(404)


def _download(data, name, mimetype):
    response = FlaskResponse(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
