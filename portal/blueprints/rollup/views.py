"""The quarterly rollup's pages (DESIGN §4.5): the close dashboard with its countdown and what is
missing, the preview (verified only, and with the pending forms), publishing a revision, a
published revision with its recipients' acknowledgements, two revisions side by side, the
report of any period (monthly, half-yearly, annual, a range). Quality publishes; PMO, executives
and admins read. The files are in downloads.py."""
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from ...authz import access
from ...extensions import db
from ...htmx import hx_redirect, render
from ...navigation import home_section, nav_item
from ...services import DomainError
from ...services.figures_cache import cached
from ...services.quarters import current_quarter, parse_quarter
from ...services.rollup import current_rollup, parse_period
from ...services.rollup import publication as pub
from ...services.rollup.close import close_status

bp = Blueprint("rollup", __name__, url_prefix="/rollup", cli_group=None)  # `flask rollup`, `flask monthly-report`
PUBLISHERS = ("quality",)
READERS = ("quality", "pmo", "exec", "admin")

nav_item(34, "rollup.index", _l("Quarter close"), roles=READERS)


def _quarter_or_404(quarter):
    try:
        parse_quarter(quarter)
    except ValueError:
        abort(404)
    return quarter


def _revision_or_404(quarter, number):
    rev = pub.revision(_quarter_or_404(quarter), number)
    if rev is None:
        abort(404)
    return rev


@bp.route("/")
@access(*READERS)
def index():
    return redirect(url_for(".quarter_page", quarter=request.args.get("quarter") or current_quarter()))


@bp.route("/<quarter>")
@access(*READERS)
def quarter_page(quarter):
    """The close dashboard: countdown, what is missing (as links), the preview, the revisions."""
    close = close_status(_quarter_or_404(quarter.upper()))
    return render("rollup/close.html", close=close, revisions=pub.revisions(close.quarter),
                  may_publish=pub.may_publish(current_user), errors={})


@bp.route("/<quarter>/preview")
@access(*READERS)
def preview(quarter):
    """The quarter's report as it would be published now (with_pending=1: counting the pending forms)."""
    with_pending = request.args.get("with_pending") == "1"
    quarter = _quarter_or_404(quarter.upper())
    report = current_rollup(quarter, include_pending=with_pending)
    return render("rollup/report.html", report=report, body=_body(report, ("preview", with_pending)),
                  revision=None, quarter=report.period.key,
                  with_pending=with_pending)


@bp.route("/<quarter>/publish", methods=["POST"])
@access(*PUBLISHERS)
def publish(quarter):
    quarter = _quarter_or_404(quarter.upper())
    try:
        rev = pub.publish(quarter, actor=current_user, reason=request.form.get("reason"))
    except DomainError as error:
        db.session.rollback()
        return _close_with_error(quarter, error)
    db.session.commit()
    return hx_redirect(url_for(".revision_page", quarter=quarter, number=rev.number))


def _close_with_error(quarter, error):
    """The close dashboard again, with why publishing was refused (422)."""
    return render("rollup/close.html", status=422, close=close_status(quarter), revisions=pub.revisions(quarter),
                  may_publish=True, errors={error.field or "form": error.message})


@bp.route("/<quarter>/revisions/<int:number>")
@access(*READERS)
def revision_page(quarter, number):
    """A published revision, rendered from its stored figures, with its recipients."""
    rev = _revision_or_404(quarter.upper(), number)
    mine = next((r for r in rev.recipients if r.user_id == current_user.id), None)
    report = pub.figures_of(rev)
    return render("rollup/report.html", report=report, body=_body(report, ("revision", rev.id)), revision=rev,
                  quarter=rev.quarter, mine=mine, with_pending=False, errors={})


@bp.route("/<quarter>/revisions/<int:number>/compare")
@access(*READERS)
def compare(quarter, number):
    """This revision beside the one before it (or beside a fresh rollup: ``against=now``)."""
    rev = _revision_or_404(quarter.upper(), number)
    if request.args.get("against") == "now":
        old, new = pub.figures_of(rev), current_rollup(rev.quarter)
        before, after = rev, None
    else:
        previous = pub.revision(rev.quarter, number - 1) or abort(404)
        old, new = pub.figures_of(previous), pub.figures_of(rev)
        before, after = previous, rev
    return render("rollup/compare.html", quarter=rev.quarter, before=before, after=after, old=old, new=new,
                  changes=pub.differences(old, new))


@bp.route("/<quarter>/revisions/<int:number>/acknowledge", methods=["POST"])
@access()
def acknowledge(quarter, number):
    """A recipient acknowledges the revision (with a note); anyone else is refused."""
    from ...authz import deny
    rev = _revision_or_404(quarter.upper(), number)
    if not any(r.user_id == current_user.id for r in rev.recipients):
        deny("not_recipient", revision=rev.id)
    try:
        pub.acknowledge(rev, actor=current_user, note=request.form.get("note"))
    except DomainError as error:
        db.session.rollback()
        mine = next((r for r in rev.recipients if r.user_id == current_user.id), None)
        return render("rollup/report.html", status=422, report=pub.figures_of(rev), revision=rev,
                      quarter=rev.quarter, mine=mine, with_pending=False,
                      errors={error.field or "form": error.message})
    db.session.commit()
    return hx_redirect(url_for(".revision_page", quarter=rev.quarter, number=rev.number))


@bp.route("/period")
@access(*READERS)
def period_page():
    """The report of any period: a month (the monthly feedback report), a half-year, a year, a range."""
    text = request.args.get("period") or ""
    report, error = None, None
    if text:
        try:
            report = current_rollup(parse_period(text))
        except DomainError as failed:
            error = failed.message
    body = _body(report, ("period",)) if report is not None else None
    return render("rollup/period.html", status=422 if error else 200, report=report, body=body, period=text,
                  error=error)


def _body(report, key):
    """The report's body as HTML (its tables and eleven charts: most of the page's time), kept
    with the figures it shows until the next write (services.figures_cache)."""
    return cached(("report-html", report.period.key, *key),
                  lambda: Markup(render_template("rollup/_report_body.html", report=report)))


@home_section(34, "rollup/_home_acknowledge.html")
def _to_acknowledge(user):
    waiting = pub.awaiting_acknowledgement(user)
    return {"waiting": waiting} if waiting else None
