"""The public complaint form (DESIGN §4.7.1): a client complains without an account, and the
complaint lands in the quality desk's intake queue (channel ``web_form``, no staff member).

CSRF on the form; rate limited per address (pages, and complaints registered); bounded sizes, a
request past MAX_CONTENT_LENGTH gets a page of its own; nothing is written when anything is
refused. A one-time key in the form makes a double submit register one complaint. Nothing is
readable back: the thank-you page shows this browser the reference once, and no page looks a
complaint up by its reference."""
import hashlib
import json

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import select, text

from ...authz import access
from ...extensions import db, limiter
from ...models import AuditEvent
from ...services import DomainError
from ...services import complaints as service
from ...services.audit import record_event
from .forms import ACCEPT, MAX_FILES, TEXT_MAX, PublicComplaintForm

bp = Blueprint("complaint_form", __name__)

DONE_KEY = "complaint_registered"   # the reference, shown once on the thank-you page
#: audit action tying a form's submission key (hashed) to the complaint it registered
SUBMITTED = "complaint_form_submitted"
SUBMISSION = "ComplaintFormSubmission"
_PAGES = ("complaint_form.public_form", "complaint_form.thanks")


def _page_limit():
    return current_app.config["COMPLAINT_FORM_PAGE_RATE_LIMIT"]


def _registration_limit():
    return current_app.config["COMPLAINT_FORM_RATE_LIMIT"]


def _registered(response):
    """Only a complaint actually registered counts against COMPLAINT_FORM_RATE_LIMIT."""
    return bool(g.get("complaint_registered"))


def _message(reason, status):
    return render_template("complaint_form/message.html", reason=reason), status


@bp.after_request
def _private(response):
    if request.endpoint in _PAGES:
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"  # Back gets a fresh form (and key), not this one
    return response


@bp.errorhandler(CSRFError)
def _form_expired(error):
    db.session.rollback()
    if request.endpoint in _PAGES:
        return _message("expired", 400)
    return render_template("survey/message.html", reason="expired"), 400


@bp.errorhandler(413)
def _too_large(error):
    db.session.rollback()
    if request.endpoint in _PAGES:
        return _message("too_large", 413)
    return render_template("errors/error.html", status=413), 413


@bp.errorhandler(429)
def _too_many(error):
    db.session.rollback()
    if request.endpoint in _PAGES:
        return _message("rate_limited", 429)
    return render_template("survey/message.html", reason="rate_limited"), 429


# --- the form ------------------------------------------------------------------------------------

def _form_page(form, status=200, files_dropped=False):
    return render_template("complaint_form/form.html", form=form, max_files=MAX_FILES, accept=ACCEPT, text_max=TEXT_MAX,
                           max_mb=current_app.config["UPLOAD_MAX_BYTES"] / 1048576,
                           max_total_mb=current_app.config["MAX_CONTENT_LENGTH"] / 1048576,
                           files_dropped=files_dropped), status


def _uploads():
    return [f for f in request.files.getlist("evidence") if f and f.filename]


def _read_evidence(uploads):
    """Every chosen file checked as the staff intake does; DomainError on ``evidence``."""
    if len(uploads) > MAX_FILES:
        raise DomainError(_("Attach at most %(n)d files.", n=MAX_FILES), field="evidence")
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    return [service.read_evidence(f.stream, f.filename, limit, field="evidence") for f in uploads]


def _digest(key):
    return hashlib.sha256(f"complaint-form:{key}".encode()).hexdigest()


def _registered_before(digest):
    """The reference a submission with this key registered, or None. Until this transaction ends,
    another submission with the same key waits here (PostgreSQL: an advisory lock; SQLite: a
    POST's transaction holds the write lock from its start), so a double submit sees the first."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": int.from_bytes(bytes.fromhex(digest[:16]), "big", signed=True)})
    detail = db.session.scalar(select(AuditEvent.detail).where(
        AuditEvent.action == SUBMITTED, AuditEvent.object_type == SUBMISSION,
        AuditEvent.object_id == digest).limit(1))
    return json.loads(detail)["reference"] if detail else None


def _register(form, evidence, digest):
    complaint = service.register_complaint(
        channel="web_form", by_user=None, description=form.complaint_text(),
        complainant_name=form.complainant_name.data, complainant_phone=form.complainant_phone.data,
        complainant_email=form.complainant_email.data, evidence=evidence, language=str(get_locale() or "zh"))
    record_event(SUBMITTED, object_type=SUBMISSION, object_id=digest,
                 detail={"complaint": complaint.id, "reference": complaint.reference})
    return complaint.reference


def _thank(reference):
    session[DONE_KEY] = reference
    return redirect(url_for(".thanks"), 303)


@bp.route("/complaint", methods=["GET", "POST"])
@access(public=True)
@limiter.limit(_page_limit, scope="page")
@limiter.limit(_registration_limit, methods=["POST"], scope="registered", deduct_when=_registered)
def public_form():
    """The form; a valid submission registers one complaint (once per form) and thanks."""
    if request.method == "GET":
        return _form_page(PublicComplaintForm().issue_key())
    form = PublicComplaintForm()
    uploads = _uploads()
    if not form.validate():
        return _form_page(form, 422, files_dropped=bool(uploads))
    if form.website.data:  # the honeypot: a robot, thanked and ignored
        return redirect(url_for(".thanks"), 303)
    digest = _digest(form.submission_key.data)
    reference = _registered_before(digest)
    if reference is not None:  # sent twice: the first one stands
        db.session.rollback()
        return _thank(reference)
    try:
        reference = _register(form, _read_evidence(uploads), digest)
    except DomainError as error:
        db.session.rollback()
        form.show_error(error)
        return _form_page(form, 422, files_dropped=bool(uploads))
    db.session.commit()
    g.complaint_registered = True
    return _thank(reference)


@bp.route("/complaint/thanks")
@access(public=True)
@limiter.limit(_page_limit, scope="page")
def thanks():
    """The reference of the complaint just sent from this browser, shown once."""
    reference = session.pop(DONE_KEY, None)
    if not isinstance(reference, str):
        return redirect(url_for(".public_form"), 303)
    return render_template("complaint_form/thanks.html", reference=reference)
