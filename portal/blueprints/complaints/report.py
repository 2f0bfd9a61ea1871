"""The complaints' monthly report (DESIGN §4.7.3): the share handled within each time limit,
per department, by channel and state, with the six months' trend; as a page and as a workbook."""
from flask import Response, abort, request
from flask_login import current_user

from ...authz import access
from ...htmx import render
from ...services import DomainError
from ...services import complaints as service
from ...services.complaints.report import STATE_GROUP_LABELS
from .views import bp

#: who reads the report: those who see every complaint
REPORT_READERS = ("quality", "pmo", "exec", "admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month():
    """(year, month) of ``?month=YYYY-MM``, last month when absent; DomainError if malformed."""
    given = request.args.get("month")
    if not given:
        return service.last_month()
    return service.parse_month(given)


@bp.route("/complaints/report")
@access(*REPORT_READERS)
def report():
    """The month's report (``?month=2026-11``, default last month); a bad month: 400 with the
    message beside the month picker."""
    try:
        year, month = _month()
    except DomainError as error:
        return render("complaints/report.html", status=400, report=None, month=request.args.get("month", ""),
                      error=error.message, state_group_labels=STATE_GROUP_LABELS)
    figures = service.monthly_report(year, month, user=current_user)
    return render("complaints/report.html", report=figures, month=figures.month, error=None,
                  state_group_labels=STATE_GROUP_LABELS)


@bp.route("/complaints/report.xlsx")
@access(*REPORT_READERS)
def report_xlsx():
    """The month's report as a workbook; 400 for a bad month."""
    try:
        year, month = _month()
    except DomainError:
        abort(400)
    figures = service.monthly_report(year, month, user=current_user)
    response = Response(service.monthly_report_xlsx(figures), mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="complaints-report-{figures.month}.xlsx"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
