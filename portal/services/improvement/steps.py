"""What every step on a plan shares: the version check, the flush that the version column
guards, the audit event, and telling a person in their own language."""
from contextlib import contextmanager
from datetime import date

from flask_babel import gettext as _
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from ...extensions import db
from .. import DomainError
from ..audit import record_event
from ..notifications import in_language_of, notify

TEXT_MAX = 4000
TITLE_MAX = 200


class ChangedMeanwhile(DomainError):
    """Someone else changed the plan since the actor loaded it: reload and try again."""


def link_of(plan) -> str:
    return f"/improvement/{plan.id}"


def changed_meanwhile():
    return ChangedMeanwhile(_("This improvement plan was changed meanwhile; reload it and try again."))


def check_version(plan, expected_version):
    try:
        seen = int(expected_version)
    except (TypeError, ValueError):
        seen = None
    if seen != plan.version:
        raise changed_meanwhile()


def check_permission(allowed, actor, plan, step):
    if not allowed:
        raise PermissionError(f"{actor!r} may not {step} improvement plan {getattr(plan, 'id', None)}")


@contextmanager
def locked_step(plan, action, *, actor, expected_version, detail=None):
    """Run a step's changes under the optimistic lock: refuse a stale ``expected_version``, bump the
    version (even when only items or checks change), flush, then audit ``improvement_<action>``."""
    check_version(plan, expected_version)
    before = plan.state
    with db.session.no_autoflush:
        yield
        flag_modified(plan, "state")
    try:
        db.session.flush()  # UPDATE ... WHERE version = the one we read: 0 rows if it moved on
    except StaleDataError:
        db.session.rollback()
        raise changed_meanwhile() from None
    record_event(f"improvement_{action}", plan, actor=actor,
                 detail={"from": before, "to": plan.state, "revision": plan.revision,
                         "version": plan.version, **(detail or {})})


def text(value, field, label, *, required=True, limit=TEXT_MAX):
    value = (value or "").strip()
    if required and not value:
        raise DomainError(_("%(field)s is required.", field=label), field=field)
    if len(value) > limit:
        raise DomainError(_("At most %(n)d characters.", n=limit), field=field)
    return value or None


def not_in_past(day, field, today):
    if not isinstance(day, date):
        raise DomainError(_("Enter a date."), field=field)
    if day < today:
        raise DomainError(_("The due date cannot lie in the past."), field=field)
    return day


def tell(user, kind, plan, subject, body):
    """Notify ``user`` (if active); ``subject``/``body`` are called in the user's language."""
    if user is None or not user.active:
        return None
    with in_language_of(user):
        subject_text, body_text = str(subject()), str(body())
    return notify(user, kind, subject_text, body_text, link=link_of(plan))
