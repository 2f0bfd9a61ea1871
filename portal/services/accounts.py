"""Accounts: creating users, authenticating, and revoking sessions."""
from sqlalchemy import func, select

from ..extensions import db
from ..models import ROLES, User
from ..models.base import utcnow
from . import DomainError
from .audit import record_event
from .passwords import MIN_PASSWORD_LENGTH, hash_password, new_session_token, verify_password


def find_user(username):
    return db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def check_password_policy(password):
    if len(password or "") < MIN_PASSWORD_LENGTH:
        from flask_babel import lazy_gettext as _l
        raise DomainError(_l("At least %(n)d characters.", n=MIN_PASSWORD_LENGTH), field="password")


def create_user(username, password, roles, display_name=None, email=None, locale=None):
    """Create an active user; raises DomainError on a taken name, unknown role or weak password."""
    from flask_babel import lazy_gettext as _l
    username = username.strip()
    if find_user(username):
        raise DomainError(_l("This user name is taken."), field="username")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise DomainError(_l("Unknown role: %(r)s", r=", ".join(sorted(unknown))), field="roles")
    check_password_policy(password)
    user = User(username=username, display_name=display_name or username, email=email,
                locale=locale, password_hash=hash_password(password),
                session_token=new_session_token(), active=True)
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username, password):
    """The active user with these credentials, or None. Audits failures."""
    user = find_user(username or "")
    if user is not None and user.active and verify_password(user.password_hash, password or ""):
        user.last_login_at = utcnow()
        record_event("login", user, user=user)
        return user
    if user is None:
        verify_password(None, password or "")  # same work either way
    record_event("login_failed", user=None, username=(username or "")[:64],
                 detail={"reason": "disabled" if user is not None and not user.active else "credentials"})
    return None


def revoke_sessions(user):
    """Every cookie issued to this user stops working."""
    user.session_token = new_session_token()


def set_password(user, password):
    check_password_policy(password)
    user.password_hash = hash_password(password)
    revoke_sessions(user)


def set_active(user, active):
    user.active = active
    if not active:
        revoke_sessions(user)
