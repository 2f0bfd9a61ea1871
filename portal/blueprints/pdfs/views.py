"""Questionnaire PDFs (DESIGN §7): blank forms to print and a contact's form with its QR
link (the archive copy of a response lives with the responses); ``pdf_response`` serves any PDF."""
import re
import unicodedata
from urllib.parse import quote

from flask import Blueprint, abort, flash, make_response, redirect, request
from flask_login import current_user

from ...authz import access, get_invitation_or_404
from ...extensions import db
from ...models import TemplateVersion
from ...security import safe_next
from ...services import DomainError
from ...services.pdf.blank_form import print_invitation_form, render_blank_form

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
    """A contact's printed form carrying their link as QR code (the same link as every other copy)."""
    invitation = get_invitation_or_404(invitation_id, run=True)  # 403 unless you run its round
    try:
        pdf = print_invitation_form(invitation, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(safe_next(request.form.get("next")), 303)
    db.session.commit()
    return pdf_response(pdf)
