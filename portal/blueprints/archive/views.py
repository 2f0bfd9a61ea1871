"""The archive screens (DESIGN §4.6): quarters with their forms by archive state, PMO's hand-over
of a published quarter and the archive's receipt, a quarter's records with their flags (the
stored PDF downloaded with its checksum checked, legal holds placed and lifted in place), and
disposal: the chosen eligible forms, a confirmation with their count and dates, the batch with
its tombstones. The archive role works here; PMO hands over and holds; quality and admins read."""
from flask import Blueprint, abort, make_response, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...authz import access
from ...extensions import db
from ...forms import page_param
from ...htmx import hx_redirect, render
from ...models import ArchiveHandover, Disposal, Response
from ...navigation import home_section, nav_item
from ...services import DomainError
from ...services.archive import copies, disposal, handover, holds, overview
from ...services.figures_cache import cached
from ...services.quarters import parse_quarter
from ..pdfs.views import ascii_filename

bp = Blueprint("archive", __name__, url_prefix="/archive", cli_group=None)  # `flask archive-report`
READERS = ("archive", "pmo", "quality", "admin")
HOLDERS = ("archive", "pmo")

nav_item(80, "archive.index", _l("Archive"), roles=READERS)


def _quarter_or_404(quarter):
    quarter = (quarter or "").upper()
    try:
        parse_quarter(quarter)
    except ValueError:
        abort(404)
    return quarter


def _index(status=200, errors=None):
    return render("archive/index.html", status=status, quarters=overview.quarters(),
                  report=overview.archive_report(), disposals=disposal.disposals(10), errors=errors or {},
                  retention_years=handover.retention_years(),
                  may_hand_over=handover.may_hand_over(current_user), may_receive=handover.may_receive(current_user))


@bp.route("/")
@access(*READERS)
def index():
    return _index()


@bp.route("/<quarter>/hand-over", methods=["POST"])
@access("pmo")
def hand_over(quarter):
    """PMO hands the published quarter's forms to the archive; their PDFs are rendered by a job."""
    try:
        handover.hand_over(_quarter_or_404(quarter), actor=current_user)
    except DomainError as error:
        db.session.rollback()
        return _index(422, {"quarter": error.message})
    db.session.commit()
    return hx_redirect(url_for(".index"))


@bp.route("/handovers/<int:handover_id>/receive", methods=["POST"])
@access("archive")
def receive(handover_id):
    item = db.session.get(ArchiveHandover, handover_id) or abort(404)
    try:
        handover.confirm_receipt(item, actor=current_user, note=request.form.get("note"))
    except DomainError as error:
        db.session.rollback()
        return _index(422, {"quarter": error.message})
    db.session.commit()
    return hx_redirect(url_for(".index"))


@bp.route("/<quarter>")
@access(*READERS)
def quarter_page(quarter):
    """A quarter's forms with their flags (filter ``flag``), its hand-overs and its tombstones."""
    quarter = _quarter_or_404(quarter)
    flag = request.args.get("flag") if request.args.get("flag") in overview.FLAGS else None
    page = overview.records(quarter, flag=flag, page=page_param(request.args))
    return render("archive/quarter.html", quarter=quarter, flag=flag, records=page, flags=overview.FLAGS,
                  counts=next(iter(overview.quarters(quarter=quarter)), None),
                  tombstones=disposal.tombstones(quarter), flags_of=overview.flags_of,
                  may_hold=holds.may_hold(current_user), may_dispose=disposal.may_dispose(current_user),
                  row_errors={})


@bp.route("/records/<int:response_id>/pdf")
@access(*READERS)
def record_pdf(response_id):
    """The stored archive copy, served only when its checksum is the one recorded (else 409, audited)."""
    response = db.session.get(Response, response_id) or abort(404)
    try:
        data = copies.read_copy(response, actor=current_user)
    except copies.CopyDamaged as error:
        db.session.commit()  # the audit event of the damaged copy
        return render("errors/error.html", status=409, message=error.message)
    except DomainError as error:
        return render("errors/error.html", status=404, message=error.message)
    name = f"archive-{response.id}-{response.quarter}.pdf"
    served = make_response(data)
    served.mimetype = "application/pdf"
    served.headers["Content-Disposition"] = f'attachment; filename="{ascii_filename(name)}"'
    served.headers["Cache-Control"] = "private, no-store"
    served.headers["X-Checksum-SHA256"] = response.archive_pdf_sha256
    return served


def _row(response, status=200, error=None):
    return render("archive/_record_row.html", status=status, r=response, flags_of=overview.flags_of,
                  may_hold=holds.may_hold(current_user), may_dispose=disposal.may_dispose(current_user),
                  row_error=error)


@bp.route("/records/<int:response_id>/hold", methods=["POST"])
@access(*HOLDERS)
def hold(response_id):
    """Place (``action=place``) or lift (``action=lift``) a legal hold, with its reason; htmx gets the row."""
    response = db.session.get(Response, response_id) or abort(404)
    try:
        if request.form.get("action") == "lift":
            holds.lift_hold(response, actor=current_user, reason=request.form.get("reason"))
        else:
            holds.place_hold(response, actor=current_user, reason=request.form.get("reason"))
    except DomainError as error:
        db.session.rollback()
        return _row(response, 422, error.message)
    db.session.commit()
    if request.headers.get("HX-Request") != "true":
        return hx_redirect(url_for(".quarter_page", quarter=response.quarter))
    return _row(response)


def _chosen():
    return [i for i in request.form.getlist("ids") if i.isdigit()]


@bp.route("/dispose/confirm", methods=["POST"])
@access("archive")
def confirm_disposal():
    """What the chosen forms' disposal would remove: the count, the oldest and newest dates."""
    back = request.form.get("quarter") or ""
    try:
        batch, _responses = disposal.prepare(_chosen())
    except DomainError as error:
        return render("archive/confirm.html", status=422, batch=None, error=error.message, back=back)
    return render("archive/confirm.html", batch=batch, error=None, back=back, errors={})


@bp.route("/dispose", methods=["POST"])
@access("archive")
def dispose():
    """Dispose of the confirmed batch (a reason required), then remove its files and scrub."""
    back = request.form.get("quarter") or ""
    try:
        done = disposal.dispose(_chosen(), actor=current_user, reason=request.form.get("reason"))
    except DomainError as error:
        db.session.rollback()
        try:
            batch = disposal.prepare(_chosen())[0]
        except DomainError:
            batch = None
        return render("archive/confirm.html", status=422, batch=batch, back=back,
                      error=None if error.field == "reason" else error.message, errors={error.field: error.message})
    db.session.commit()
    disposal.remove_files(done)
    disposal.sweep_orphan_copies()  # what an earlier disposal, killed after its commit, left
    disposal.scrub()
    return hx_redirect(url_for(".disposal_page", disposal_id=done.id))


@bp.route("/disposals/<int:disposal_id>")
@access(*READERS)
def disposal_page(disposal_id):
    """A disposal batch: who, when, why, and its tombstones."""
    item = db.session.get(Disposal, disposal_id) or abort(404)
    return render("archive/disposal.html", disposal=item)


@home_section(80, "archive/_home.html", roles=("archive", "pmo"))
def _home(user):
    """The archive's to-do on the home page: hand-overs to receive and forms past their date (the
    archive role); published quarters with forms not handed over yet (PMO)."""
    roles = user.has_role("archive"), user.has_role("pmo")
    shown = cached(("archive-home", *roles), lambda: overview.home_counts(archive_role=roles[0], pmo_role=roles[1]))
    return shown if any(shown.values()) else None
