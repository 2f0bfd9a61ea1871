"""Accounts: creating users, authenticating, and revoking sessions."""
from sqlalchemy import func, select

from ..extensions import db
from ..models import ROLES, User
from ..models.base import utcnow
from . import DomainError, throttle
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


def authenticate(username, password, *, address=None, device=None, now=None):
    """The active user with these credentials, or None. Audits failures and refusals.

    Raises throttle.TooManyFailures, before the password is checked, while the account
    has too many recent failures for this browser (``device``: the throttle.Device its
    cookie stands for, or None) or the ``address`` has (see services/throttle.py).
    """
    user = find_user(username or "")
    key = throttle.account_key(username, user)
    throttle.serialize_sign_ins(key)
    now = now or utcnow()  # taken after waiting for the attempts decided before this one
    known = device.id if device is not None and device.knows(user) else None
    decision = throttle.check_sign_in(key, address=address, device=known, now=now)
    if not decision.allowed:
        event = record_event("login_refused", username=key, address=address,
                             detail={"reason": decision.reason, "until": decision.retry_at})
        event.at = now
        raise throttle.TooManyFailures(decision)
    if user is not None and user.active and verify_password(user.password_hash, password or ""):
        user.last_login_at = now
        record_event("login", user, actor=user)
        return user
    if user is None:
        verify_password(None, password or "")  # same work either way
    reason = "disabled" if user is not None and not user.active else "credentials"
    event = record_event("login_failed", username=key, address=address,
                         detail=throttle.failure_detail(reason, known))
    event.at = now  # the throttle counts by this time
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
