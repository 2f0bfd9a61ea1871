"""The client's service report of a key account (DESIGN §4.9, §7) as a PDF download."""
from flask import abort, request

from ...authz import access
from ...services.key_accounts.report import service_report
from ...services.pdf.key_account_report import render_service_report
from ...services.quarters import current_quarter, parse_quarter
from ..pdfs.views import pdf_response
from .views import bp, get_account_or_404


def _quarter_arg():
    """``?quarter=2026Q4``; none: the current quarter; anything else is refused (400) rather than
    sending the client the report of a quarter nobody asked for."""
    value = (request.args.get("quarter") or "").strip().upper()
    if not value:
        return current_quarter()
    try:
        parse_quarter(value)
    except ValueError:
        abort(400)
    return value


@bp.route("/<int:key_account_id>/report.pdf")
@access("quality", "pmo", "exec", "admin", "pm", "sales")
def report_pdf(key_account_id):
    """The quarter's service report for the client, in the account's report language."""
    account = get_account_or_404(key_account_id)  # 404 if missing, 403 unless wide or on its team
    return pdf_response(render_service_report(service_report(account, _quarter_arg())))
