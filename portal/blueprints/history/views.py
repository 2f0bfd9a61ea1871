"""The historical results import's pages (quality): upload a file of past quarters' results, see
what it did or why it did nothing, the imports and the imported quarters, and the template."""
from flask import Blueprint, abort, current_app, request, url_for
from flask import Response as FlaskResponse
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ...authz import access
from ...extensions import db
from ...forms import page_param
from ...htmx import hx_redirect, render
from ...jobs import effective_state
from ...models.rollup import HistoryImport
from ...navigation import nav_item
from ...services.history import import_history, queue_history_import
from ...services.history.format import COLUMNS, template_xlsx
from ...services.history.importer import HistoryOutcome, runs_inline
from ...services.history.results import history_imports_page, import_report, imported_quarters
from ...services.scoring import fmt_rate, fmt_score
from .forms import HistoryUploadForm

bp = Blueprint("history", __name__, url_prefix="/history")
IMPORTERS = ("quality",)
READERS = ("quality", "pmo", "exec")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

nav_item(37, "history.index", _l("History import"), roles=IMPORTERS)


@bp.route("/")
@access(*READERS)
def index():
    """The imported quarters (each labelled as imported) and every recorded import."""
    imports = history_imports_page(page=page_param(request.args), per_page=current_app.config["PAGE_SIZE"])
    return render("history/index.html", "history/_imports.html", imports=imports, quarters=imported_quarters(),
                  fmt_score=fmt_score, fmt_rate=fmt_rate)


@bp.route("/import", methods=["GET", "POST"])
@access(*IMPORTERS)
def upload():
    """Upload a file: a small one is imported at once and its outcome shown; a larger one runs as a job."""
    form = HistoryUploadForm()
    if request.method == "GET":
        return _import_page(form)
    if not form.validate_on_submit():
        return _import_page(form, status=422)
    upload = form.file.data
    data = upload.read()
    if not runs_inline(data):
        job = queue_history_import(data, upload.filename, current_user)
        db.session.commit()  # the job is handed to the worker now
        return hx_redirect(url_for(".job", job_id=job.id))
    try:
        outcome = import_history(data, upload.filename, current_user)
        db.session.commit()
    except IntegrityError:  # another import wrote the same results meanwhile
        db.session.rollback()
        form.file.errors = [*form.file.errors, _("Another import saved results meanwhile: import the file again.")]
        return _import_page(form, status=422)
    return _import_page(HistoryUploadForm(formdata=None), outcome=outcome, status=200 if outcome.ok else 422)


def _import_page(form, outcome=None, status=200):
    return render("history/import.html", "history/_import.html", status, form=form, outcome=outcome,
                  columns=COLUMNS)


@bp.route("/jobs/<int:job_id>")
@access(*IMPORTERS)
def job(job_id):
    """A larger file's import job: its progress while it runs (htmx polls), then its outcome."""
    from ..jobs.views import get_job_or_404
    found = get_job_or_404(job_id)  # 404 unless the user started it (or is an administrator)
    if found.kind != "import_history":
        abort(404)
    state = effective_state(found)
    outcome = HistoryOutcome.from_dict(found.result) if state == "done" and found.result else None
    return render("history/job.html", "history/_job.html", job=found, state=state, outcome=outcome)


@bp.route("/imports/<int:history_import>")
@access(*READERS)
def import_detail(history_import):
    """One recorded import: file, checksum, who, when, what it added and replaced, what it still holds."""
    record = db.session.get(HistoryImport, history_import) or abort(404)
    return render("history/import_detail.html", report=import_report(record), fmt_score=fmt_score,
                  fmt_rate=fmt_rate)


@bp.route("/template.xlsx")
@access(*IMPORTERS)
def template():
    """The template: the header row, two example rows, and a sheet documenting each column."""
    response = FlaskResponse(template_xlsx(), mimetype=XLSX)
    response.headers["Content-Disposition"] = 'attachment; filename="history-results-template.xlsx"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
