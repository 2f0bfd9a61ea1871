"""The rollup's files (issue 13 §5): the XLSX workbook and the PM / sales score sheets, served at
once from the figures, and the PDF report, made by the job worker (it takes seconds) and fetched
from the job's page when done.

Each names its figures the same way: ``revision=2026Q3:2`` (a published revision's stored
figures, never recomputed) or ``period=2026Q4`` (any period text; ``with_pending=1`` counts the
forms not verified yet, as the preview does)."""
from urllib.parse import quote

from flask import Response, abort, request, url_for
from flask_login import current_user

from ...authz import access
from ...extensions import db
from ...htmx import hx_redirect
from ...services import DomainError
from ...services.quarters import parse_quarter
from ...services.rollup import current_rollup, parse_period
from ...services.rollup import publication as pub
from ...services.rollup.jobs import start_report_job
from ...services.rollup.score_sheets import WHO, score_sheet, score_sheet_pdf, score_sheet_xlsx
from ...services.rollup.workbook import rollup_workbook
from ..pdfs.views import ascii_filename, pdf_response
from .views import READERS, bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _revision_arg(text):
    """``2026Q3:2`` → that published revision, or 404."""
    quarter, _sep, number = (text or "").upper().partition(":")
    try:
        parse_quarter(quarter)
        number = int(number)
    except ValueError:
        abort(404)
    return pub.revision(quarter, number) or abort(404)


def _figures(args):
    """(report, revision or None, the figures' name for a file) from the request's arguments."""
    if args.get("revision"):
        rev = _revision_arg(args["revision"])
        return pub.figures_of(rev), rev, f"{rev.quarter}-r{rev.number}"
    try:
        period = parse_period(args.get("period") or "")
    except DomainError:
        abort(404)
    with_pending = args.get("with_pending") == "1"
    report = current_rollup(period, include_pending=with_pending)
    return report, None, period.key.replace("..", "_") + ("-with-pending" if with_pending else "")


def _attachment(data, mimetype, filename):
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{ascii_filename(filename)}"; filename*=UTF-8\'\'{quote(filename, safe="")}')
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/report.xlsx")
@access(*READERS)
def report_xlsx():
    """The workbook: the report's tables, then every counted answer with its raw and normalised value."""
    report, _rev, name = _figures(request.args)
    return _attachment(rollup_workbook(report), XLSX, f"satisfaction-report-{name}.xlsx")


@bp.route("/score-sheet/<who>.<fmt>")
@access(*READERS)
def score_sheet_file(who, fmt):
    """The PM or sales score sheet for performance reviews, as PDF or XLSX."""
    if who not in WHO or fmt not in ("pdf", "xlsx"):
        abort(404)
    report, _rev, name = _figures(request.args)
    sheet = score_sheet(report, who)
    if fmt == "pdf":
        response = pdf_response(score_sheet_pdf(sheet))
        response.headers["Content-Disposition"] = response.headers["Content-Disposition"].replace(
            "inline", "attachment", 1)
        return response
    return _attachment(score_sheet_xlsx(sheet), XLSX, f"score-sheet-{who}-{name}.xlsx")


@bp.route("/report-pdf", methods=["POST"])
@access(*READERS)
def report_pdf():
    """Queue the PDF report of the named figures; the job's page shows its progress and the file."""
    if request.form.get("revision"):
        job = start_report_job(current_user, revision_id=_revision_arg(request.form["revision"]).id)
    else:
        try:
            job = start_report_job(current_user, period=request.form.get("period") or "",
                                   include_pending=request.form.get("with_pending") == "1")
        except DomainError:
            abort(404)
    db.session.commit()
    return hx_redirect(url_for("jobs.detail", job_id=job.id))
