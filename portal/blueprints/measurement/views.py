"""The measurement plan's pages (quality edits; PMO, exec and admin read): the years with their
newest version, a year's version in force and its history, each version with what it changed,
and the form that saves the next version."""
from flask import Blueprint, abort, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...authz import access
from ...extensions import db
from ...htmx import hx_redirect, render
from ...models import PRIORITIES, TEMPLATE_KINDS
from ...navigation import nav_item
from ...services import DomainError
from ...services.measurement_plans import (
    current_plan,
    latest_plan,
    plan_changes,
    plan_content,
    plan_defaults,
    plan_version,
    plan_versions,
    plan_years,
    previous_version,
    rate_as_percent,
    save_plan,
)
from ...services.quarters import MAX_YEAR, MIN_YEAR, local_today
from .forms import MeasurementPlanForm, frequency_field, owner_field, rate_field

EDITORS = ("quality",)
READERS = ("quality", "pmo", "exec", "admin")

bp = Blueprint("measurement", __name__, url_prefix="/measurement-plans")
nav_item(38, "measurement.index", _l("Measurement plan"), roles=EDITORS)


def _year_or_404(year):
    if not MIN_YEAR <= year <= MAX_YEAR:
        abort(404)
    return year


def get_version_or_404(year, number):
    """A version of the year's plan, 404 if missing (every reader reads every version)."""
    return plan_version(_year_or_404(year), number) or abort(404)


def percent(rate):
    """0.2 → '20%' (a rate as the plan's readers read it)."""
    return "" if rate is None else f"{rate_as_percent(rate)}%"


def _render(page, partial=None, status=200, **context):
    return render(page, partial, status=status, kinds=TEMPLATE_KINDS, priorities=PRIORITIES, percent=percent,
                  can_edit=current_user.has_role(*EDITORS), **context)


@bp.route("/")
@access(*READERS)
def index():
    """Each year that has a plan with its newest version; quality starts this or next year's."""
    rows = plan_years()
    this_year = local_today().year
    planned = {row.year for row in rows}
    to_start = [y for y in (this_year, this_year + 1) if y not in planned and y <= MAX_YEAR]
    return _render("measurement/index.html", rows=rows, to_start=to_start)


@bp.route("/<int:year>")
@access(*READERS)
def year(year):
    """The version in force for the year and every version before it."""
    _year_or_404(year)
    return _render("measurement/year.html", year=year, plan=current_plan(year), versions=plan_versions(year))


@bp.route("/<int:year>/versions/<int:number>")
@access(*READERS)
def version(year, number):
    """One version as it was saved, with what it changed from the one before."""
    plan = get_version_or_404(year, number)
    return _render("measurement/version.html", **_compare_context(plan))


@bp.route("/<int:year>/versions/<int:number>/compare")
@access(*READERS)
def compare(year, number):
    """A version beside its predecessor: the fields it changed (htmx: the changes box alone)."""
    plan = get_version_or_404(year, number)
    return _render("measurement/compare.html", "measurement/_changes.html", **_compare_context(plan))


@bp.route("/<int:year>/edit", methods=["GET", "POST"])
@access(*EDITORS)
def edit(year):
    """The form for the year's next version, filled from the newest one (or the defaults);
    saving content unchanged makes no version."""
    _year_or_404(year)
    latest = latest_plan(year)
    form = MeasurementPlanForm()
    if form.validate_on_submit():
        try:
            plan = save_plan(year, form.plan_data(), actor=current_user)
        except DomainError as error:
            form.show_error(error)
        else:
            db.session.commit()
            if latest is not None and plan.id == latest.id:
                flash(_("Nothing was changed: version %(n)d stays in force.", n=plan.version), "info")
            else:
                flash(_("Version %(n)d of the %(year)d measurement plan was saved.", n=plan.version, year=year),
                      "success")
            return hx_redirect(url_for(".year", year=year))
    elif not form.is_submitted():
        form = MeasurementPlanForm.from_plan(plan_content(latest) if latest else plan_defaults(year))
    return _render("measurement/edit.html", "measurement/_form.html",
                   status=422 if form.errors or form.form_errors else 200, year=year, latest=latest, form=form,
                   fields={"frequency": frequency_field, "owner": owner_field, "rate": rate_field})


def _compare_context(plan):
    previous = previous_version(plan)
    return {"year": plan.year, "plan": plan, "previous": previous, "changes": plan_changes(previous, plan),
            "in_force": current_plan(plan.year)}
