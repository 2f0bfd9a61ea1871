"""Settings (admin; the quality department for its own keys): every setting with its value and
explanation, each edited in place; the calendar's known years."""
from flask import Blueprint, abort, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...authz import access, deny
from ...extensions import db
from ...htmx import hx_redirect, is_partial, render
from ...navigation import nav_item
from ...services import DomainError
from ...services.quarters import local_today
from ...services.settings import (
    SPECS,
    all_settings,
    can_edit_setting,
    set_setting,
    user_choices,
)
from ...services.working_days import PACKAGE_YEARS, working_calendar
from .forms import setting_form, typed_value

EDITORS = ("admin", "quality")

bp = Blueprint("settings", __name__, url_prefix="/settings")
nav_item(95, "settings.index", _l("Settings"), roles=EDITORS)


@bp.route("")
@access(*EDITORS)
def index():
    """Every setting, its value and what it does; editable where you may change it."""
    values = all_settings()
    return render("settings/index.html", rows=[_row(key, values[key]) for key in SPECS])


@bp.route("/<key>", methods=["POST"])
@access(*EDITORS)
def edit(key):
    """Change one setting; htmx gets its row back (422 with the error beside the field)."""
    spec = SPECS.get(key) or abort(404)
    if not can_edit_setting(current_user, key):
        deny("setting", key=key)
    form = setting_form(spec)
    if form.validate_on_submit():
        try:
            value = set_setting(key, typed_value(form), actor=current_user)
        except DomainError as error:
            form.show_error(error)
        else:
            db.session.commit()
            message = _("%(setting)s was saved.", setting=spec.label)
            if is_partial():
                return render("settings/_setting.html", row=_row(key, value, done=message))
            flash(message, "success")
            return hx_redirect(url_for(".index", _anchor=_anchor(key)))
    values = all_settings()
    rows = [_row(k, values[k], form=form if k == key else None) for k in SPECS]
    return render("settings/index.html", "settings/_setting.html", status=422, rows=rows,
                  row=next(r for r in rows if r["key"] == key))


def _anchor(key):
    return "setting-" + key.replace(".", "-")


def _row(key, value, form=None, done=None):
    """What one setting's box shows: its spec, value, edit form (if yours to change), calendar status."""
    spec = SPECS[key]
    editable = can_edit_setting(current_user, key)
    row = {"key": key, "spec": spec, "value": value, "anchor": _anchor(key), "editable": editable,
           "form": (form or setting_form(spec, value, bind=False)) if editable else None, "done": done}
    if spec.kind == "user_ids":
        names = dict(user_choices(key))
        row["names"] = [names.get(i, f"#{i}") for i in value]
    if key == "calendar.overrides":
        row["calendar"] = _calendar_status()
    return row


def _calendar_status():
    """The years the working-day calendar knows, and the current or next year if it does not."""
    known = working_calendar().known_years()
    year = local_today().year
    return {"package_first": min(PACKAGE_YEARS), "package_last": max(PACKAGE_YEARS),
            "override_years": sorted(known - PACKAGE_YEARS),
            "unknown": [y for y in (year, year + 1) if y not in known]}
