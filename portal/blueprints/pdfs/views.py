"""Questionnaire PDFs (DESIGN §7): blank forms to print, a contact's form with its QR
link, and the archive copy of a filled response."""
import re
import unicodedata
from urllib.parse import quote

from flask import Blueprint, abort, flash, make_response, redirect, request
from flask_login import current_user

from ...authz import access, get_invitation_or_404, get_response_or_404
from ...extensions import db
from ...models import TemplateVersion
from ...security import safe_next
from ...services import DomainError
from ...services.pdf_documents import print_invitation_form, render_blank_form, render_filled_response

bp = Blueprint("pdfs", __name__, url_prefix="/pdf")


def pdf_response(pdf):
    """``pdf`` (a PdfFile) shown inline, named for download, never cached."""
    response = make_response(pdf.data)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = (
        f'inline; filename="{ascii_filename(pdf.filename)}"; '
        f"filename*=UTF-8''{quote(pdf.filename, safe='')}")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def ascii_filename(name):
    """``name`` reduced to characters every browser accepts in a quoted filename."""
    stem, dot, ext = name.rpartition(".")
    stem = unicodedata.normalize("NFKD", stem if dot else name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._]+", "-", stem.replace("-", " ")).strip("-.") or "document"
    return f"{stem}.{ext}" if dot else stem


@bp.route("/template-versions/<int:version_id>/blank.pdf")
@access("quality", "pmo", "pm", "sales", "exec", "admin")
def blank_form(version_id):
    """A template version's blank form for paper distribution, addressed to nobody."""
    version = db.session.get(TemplateVersion, version_id) or abort(404)
    return pdf_response(render_blank_form(version))


@bp.route("/invitations/<int:invitation_id>/form.pdf", methods=["POST"])
@access("pm")
def invitation_form(invitation_id):
    """A contact's printed form carrying a freshly issued link as QR code (the old link dies)."""
    invitation = get_invitation_or_404(invitation_id, run=True)  # 403 unless you run its round
    try:
        pdf = print_invitation_form(invitation, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(safe_next(request.form.get("next")), 303)
    db.session.commit()
    return pdf_response(pdf)


@bp.route("/responses/<int:response_id>.pdf")
@access("pm", "sales", "quality", "pmo", "exec", "admin")
def response_pdf(response_id):
    """The archive copy of a filled response, for anyone who may see its project."""
    response = get_response_or_404(response_id)  # 403 unless its project is visible to you
    return pdf_response(render_filled_response(response))
