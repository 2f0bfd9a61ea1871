"""The yearly measurement plan (issue 13 §6): quality writes, for each year, the purpose and scope
of the satisfaction measurement, how often each survey kind runs and who owns it, and the callback
sampling rate of each priority. Versioned like questionnaire templates: every save that changes
something is a new version (1, 2, … within the year), older versions stay as they were, and a
quarterly report cites the version it measured against (``plan_for_quarter``).

Rates are shares in [0, 1] here; the form shows them as percentages. Functions flush, the caller
commits.
"""
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Optional

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..labels import ROLE_LABELS
from ..models import PRIORITIES, TEMPLATE_KINDS, MeasurementPlan
from ..models.base import utcnow
from . import DomainError
from .audit import record_change
from .callbacks.sampling import rates as callback_rates
from .quarters import MAX_YEAR, MIN_YEAR, parse_quarter

TEXT_MAX = 4000      # purpose, scope, note
ITEM_MAX = 200       # one survey kind's frequency or owner
#: rates are kept to four decimals (0.01 %)
RATE_DECIMALS = 4
#: the fields whose change makes a new version (the note only explains a change)
CONTENT_FIELDS = ("purpose", "scope", "frequencies", "sampling_rates", "owners")
#: a save losing the race for the next version number tries again this often
_ATTEMPTS = 3


@dataclass(frozen=True)
class PlanChange:
    """One difference between two versions: ``field`` is purpose, scope, frequency, owner or
    sampling_rate; ``key`` the survey kind or priority it concerns (None for purpose and scope)."""
    field: str
    key: Optional[str]
    before: object
    after: object


@dataclass(frozen=True)
class YearRow:
    year: int
    latest: MeasurementPlan


# --- reading ----------------------------------------------------------------------------------

def latest_plan(year) -> Optional[MeasurementPlan]:
    """The year's newest version, whenever it was saved."""
    return db.session.scalar(select(MeasurementPlan).where(MeasurementPlan.year == year)
                             .order_by(MeasurementPlan.version.desc()).limit(1))


def current_plan(year, at: Optional[datetime] = None) -> Optional[MeasurementPlan]:
    """The version of ``year`` in force at ``at`` (naive UTC; None: now): the newest one saved at
    or before it. None if the year had no plan yet."""
    at = at or utcnow()
    return db.session.scalar(
        select(MeasurementPlan).where(MeasurementPlan.year == year, MeasurementPlan.created_at <= at)
        .order_by(MeasurementPlan.version.desc()).limit(1))


def plan_for_quarter(quarter: str, at: Optional[datetime] = None) -> Optional[MeasurementPlan]:
    """The plan a quarter's report measures against: its year's version in force at ``at``.
    ValueError for a string that is not a quarter (``parse_quarter``)."""
    year, _q = parse_quarter(quarter)
    return current_plan(year, at)


def plan_versions(year) -> list[MeasurementPlan]:
    """Every version of the year, newest first."""
    return db.session.scalars(select(MeasurementPlan).where(MeasurementPlan.year == year)
                              .order_by(MeasurementPlan.version.desc())).all()


def plan_version(year, number) -> Optional[MeasurementPlan]:
    return db.session.scalar(select(MeasurementPlan).where(MeasurementPlan.year == year,
                                                           MeasurementPlan.version == number))


def previous_version(plan) -> Optional[MeasurementPlan]:
    """The version before ``plan`` in its year (None for version 1)."""
    return plan_version(plan.year, plan.version - 1) if plan.version > 1 else None


def plan_years() -> list[YearRow]:
    """Each year that has a plan with its newest version, newest year first (one statement)."""
    newest = (select(MeasurementPlan.year, func.max(MeasurementPlan.version).label("version"))
              .group_by(MeasurementPlan.year).subquery())
    plans = db.session.scalars(
        select(MeasurementPlan).join(newest, (MeasurementPlan.year == newest.c.year)
                                     & (MeasurementPlan.version == newest.c.version))
        .order_by(MeasurementPlan.year.desc())).all()
    return [YearRow(p.year, p) for p in plans]


def plan_changes(older, newer) -> list[PlanChange]:
    """What ``newer`` changed compared with ``older`` (``older`` None: everything is new), in the
    order the plan reads: purpose, scope, then per survey kind frequency and owner, then rates."""
    def value(plan, name, key=None):
        if plan is None:
            return None
        found = getattr(plan, name)
        return found if key is None else (found or {}).get(key)

    pairs = [("purpose", "purpose", None), ("scope", "scope", None)]
    for kind in TEMPLATE_KINDS:
        pairs += [("frequency", "frequencies", kind), ("owner", "owners", kind)]
    pairs += [("sampling_rate", "sampling_rates", p) for p in PRIORITIES]
    changes = []
    for label, name, key in pairs:
        before, after = value(older, name, key), value(newer, name, key)
        if before != after:
            changes.append(PlanChange(label, key, before, after))
    return changes


def plan_defaults(year) -> dict:
    """What a year's first version starts from: the texts of the newest earlier year's plan (or
    generic ones in the current language) and the callback desk's current rates (settings)."""
    earlier = db.session.scalar(select(MeasurementPlan).where(MeasurementPlan.year < year)
                                .order_by(MeasurementPlan.year.desc(), MeasurementPlan.version.desc())
                                .limit(1))
    rates = {p: float(r) for p, r in callback_rates().items()}
    if earlier is not None:
        return {"purpose": earlier.purpose, "scope": earlier.scope, "frequencies": dict(earlier.frequencies),
                "owners": dict(earlier.owners), "sampling_rates": rates, "note": None}
    return {
        "purpose": "", "scope": "",
        "frequencies": {"pm_quarterly": _("Once a quarter for every active project"),
                        "sales_visit": _("At project completion and at key milestones"),
                        "callback": _("Every quarter, a sample of the closed tickets by priority"),
                        "complaint_followup": _("When each complaint is closed")},
        "owners": {"pm_quarterly": str(ROLE_LABELS["pm"]), "sales_visit": str(ROLE_LABELS["sales"]),
                   "callback": str(ROLE_LABELS["quality"]), "complaint_followup": str(ROLE_LABELS["quality"])},
        "sampling_rates": rates, "note": None,
    }


def plan_content(plan) -> dict:
    """The fields of a version that make it what it is (the note aside), as plain data."""
    return {"purpose": plan.purpose, "scope": plan.scope, "frequencies": dict(plan.frequencies),
            "sampling_rates": dict(plan.sampling_rates), "owners": dict(plan.owners)}


# --- percentages (the form's unit) ------------------------------------------------------------

def rate_as_percent(rate) -> Optional[Decimal]:
    """0.2 → Decimal('20'), 0.125 → Decimal('12.5'): a rate as the percentage the form shows."""
    if rate is None:
        return None
    percent = Decimal(str(rate)) * 100
    return Decimal(format(percent.normalize(), "f"))


def percent_as_rate(percent) -> Optional[float]:
    """The form's percentage as a share: 20 → 0.2. None stays None; the range is checked on save."""
    if percent is None:
        return None
    try:
        return float(Decimal(str(percent)) / 100)
    except (InvalidOperation, ValueError):
        return math.nan


# --- saving -----------------------------------------------------------------------------------

def _check_year(year):
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise DomainError(_("The year must be between %(min)d and %(max)d.", min=MIN_YEAR, max=MAX_YEAR),
                          field="year")
    return year


def _text(value, field, limit, required=True):
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise DomainError(_("This field is required."), field=field)
    if len(text) > limit:
        raise DomainError(_("At most %(n)d characters.", n=limit), field=field)
    return text


def _rate(value, field):
    try:
        ok = not isinstance(value, bool) and value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        ok = False
    if not ok or not 0 <= float(value) <= 1:
        raise DomainError(_("A sampling rate is a percentage between 0 and 100."), field=field)
    return round(float(value), RATE_DECIMALS)


def _clean(data) -> tuple[dict, Optional[str]]:
    """The plan's content from ``data`` (every field checked, the first error raised) and its note."""
    frequencies, owners = data.get("frequencies") or {}, data.get("owners") or {}
    rates = data.get("sampling_rates") or {}
    content = {
        "purpose": _text(data.get("purpose"), "purpose", TEXT_MAX),
        "scope": _text(data.get("scope"), "scope", TEXT_MAX),
        "frequencies": {}, "owners": {}, "sampling_rates": {},
    }
    for kind in TEMPLATE_KINDS:
        content["frequencies"][kind] = _text(frequencies.get(kind), f"frequency_{kind}", ITEM_MAX)
        content["owners"][kind] = _text(owners.get(kind), f"owner_{kind}", ITEM_MAX)
    for priority in PRIORITIES:
        content["sampling_rates"][priority] = _rate(rates.get(priority), f"rate_{priority.lower()}")
    note = _text(data.get("note"), "note", TEXT_MAX, required=False) or None
    return content, note


def save_plan(year, data, actor) -> MeasurementPlan:
    """Save ``data`` (purpose, scope, frequencies and owners by survey kind, sampling_rates by
    priority as shares in [0, 1], an optional note) as the year's next version and audit it.
    Content identical to the newest version saves nothing and returns that version.
    DomainError naming the field (``rate_p3``, ``owner_callback``, …) for bad input."""
    year = _check_year(year)
    content, note = _clean(data)
    for _attempt in range(_ATTEMPTS):
        latest = latest_plan(year)
        if latest is not None and plan_content(latest) == content:
            return latest
        plan = MeasurementPlan(year=year, version=(latest.version if latest else 0) + 1, note=note,
                               created_by_id=actor.id if actor is not None else None,
                               created_at=utcnow(), **content)
        try:
            with db.session.begin_nested():  # another request took this number meanwhile: try the next
                db.session.add(plan)
                db.session.flush()
        except IntegrityError:
            continue
        before = {"version": latest.version, **plan_content(latest)} if latest is not None else None
        record_change("create", plan, before, {"version": plan.version, **content, "note": note},
                      actor=actor)
        return plan
    raise DomainError(_("Another version of this plan was saved meanwhile. Please try again."))
