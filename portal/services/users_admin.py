"""User administration: list, create, edit, enable/disable, reset password. Every change is audited;
an administrator cannot lock themselves out (disable themselves or drop their own admin role)."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import ROLES, User, UserRole
from . import DomainError, accounts
from .audit import record_change, record_event
from .listing import contains_any, paginate

USER_FIELDS = ("username", "display_name", "email", "locale", "active")
LOCALES = ("zh", "en")


def user_snapshot(user):
    """Audit view of a user: never the password hash or session token."""
    return {**{f: getattr(user, f) for f in USER_FIELDS}, "roles": sorted(user.roles)}


def search_users(*, q=None, role=None, active=None, page=1, per_page=20):
    """Users by user name or display name, optionally with a role and/or (in)active."""
    stmt = select(User).order_by(User.username)
    conditions = [
        contains_any(q, User.username, User.display_name),
        User.id.in_(select(UserRole.user_id).where(UserRole.role == role)) if role else None,
        None if active is None else User.active.is_(active),
    ]
    return paginate(stmt, page, per_page, conditions)


def _check_profile(roles, locale):
    if not roles:
        raise DomainError(_l("Pick at least one role."), field="roles")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise DomainError(_l("Unknown role: %(r)s", r=", ".join(sorted(unknown))), field="roles")
    if locale not in (None, *LOCALES):
        raise DomainError(_l("Choose a language."), field="locale")


def create_account(*, username, display_name, email=None, roles, locale=None, password):
    """A new active user with an initial password."""
    _check_profile(roles, locale)
    user = accounts.create_user(username, password, roles, display_name=(display_name or "").strip() or None,
                                email=email or None, locale=locale)
    record_change("create", user, after=user_snapshot(user))
    return user


def update_account(actor, user, *, display_name, email=None, roles, locale=None):
    """Change profile and roles; ``actor`` may not remove their own admin role."""
    _check_profile(roles, locale)
    if user.id == actor.id and "admin" not in roles:
        raise DomainError(_l("You cannot remove your own administrator role."), field="roles")
    before = user_snapshot(user)
    user.display_name = (display_name or "").strip() or user.username
    user.email, user.locale = email or None, locale
    user.set_roles(roles)
    db.session.flush()
    record_change("update", user, before, user_snapshot(user))
    return user


def set_account_active(actor, user, active):
    """Enable or disable; disabling ends every session of that user at once."""
    if user.id == actor.id and not active:
        raise DomainError(_l("You cannot disable your own account."), field="active")
    before = user_snapshot(user)
    accounts.set_active(user, active)
    db.session.flush()
    record_change("update", user, before, user_snapshot(user))
    return user


def reset_password(actor, user, password):
    """Set a new password; the user's existing sessions end."""
    accounts.set_password(user, password)
    db.session.flush()
    record_event("password_reset", user, detail={"by": actor.username})
    return user
