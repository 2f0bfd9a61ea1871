"""In-app notifications for portal users, each optionally copied by e-mail (DESIGN §4.2.3,
§4.4: follow-ups assigned or overdue, escalations, major problems).

The caller composes subject and body in the recipient's language (``notify_role`` and
``in_language_of`` switch to it); the e-mail copy goes through ``outbound`` like every
other message: e-mailed once the caller's transaction commits, else kept in the outbox.
"""
import re
from contextlib import contextmanager

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from ..extensions import db
from ..models import Notification, User, UserRole
from ..models.base import utcnow
from . import DomainError
from .listing import paginate
from .outbound import queue_message, register_kind

EMAIL_KIND = "notification"
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
NOT_YOURS = _l("This notification is not yours.")


def language_of(user) -> str:
    """The language a user's notifications are written in: their own, else the portal's default."""
    languages = current_app.config["LANGUAGES"]
    return user.locale if user.locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


@contextmanager
def in_language_of(user):
    """``with in_language_of(user): subject = _("...")`` composes text in ``user``'s language."""
    with force_locale(language_of(user)):
        yield


def _check(kind, link):
    if not _KIND.fullmatch(kind or ""):
        raise ValueError(f"notification kind must be a short code: {kind!r}")
    if link is not None and not (link.startswith("/") and not link.startswith("//") and "\\" not in link):
        raise ValueError(f"notification link must be a path inside the portal: {link!r}")


def _portal_url(link) -> str:
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return base + link


def notify(user, kind, subject, body, *, link=None, email=True, now=None) -> Notification:
    """Store a notification for ``user``; with ``email`` and an active user with an address,
    queue its e-mail copy too (with the link as a full address when PUBLIC_BASE_URL is set)."""
    _check(kind, link)
    now = now or utcnow()
    notification = Notification(user=user, kind=kind, subject=subject[:255], body=body, link=link,
                                created_at=now)
    db.session.add(notification)
    db.session.flush()
    if email and user.active and user.email:
        text = body
        if link:
            with in_language_of(user):
                text = f"{body}\n\n{_('Open in the portal: %(url)s', url=_portal_url(link))}"
        queue_message(EMAIL_KIND, user.email, subject, text, now=now)
    return notification


def users_with_role(role):
    """Every active user holding ``role``, in a stable order."""
    return db.session.scalars(select(User).join(UserRole, UserRole.user_id == User.id)
                              .where(UserRole.role == role, User.active.is_(True))
                              .order_by(User.id)).all()


def notify_role(role, kind, subject_fn, body_fn, *, link=None, email=True, now=None) -> list:
    """Notify every active user with ``role``; ``subject_fn(user)`` and ``body_fn(user)`` are
    called in that user's language, so ``lambda u: _("...")`` is enough."""
    now = now or utcnow()
    sent = []
    for user in users_with_role(role):
        with in_language_of(user):
            subject, body = str(subject_fn(user)), str(body_fn(user))
        sent.append(notify(user, kind, subject, body, link=link, email=email, now=now))
    return sent


def unread_count(user) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def notifications_page(user, page=1, per_page=20):
    """One page of ``user``'s notifications, newest first."""
    stmt = (select(Notification).where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()))
    return paginate(stmt, page, per_page)


def mark_read(notification, user, now=None) -> Notification:
    """The owner has read it (again is harmless); nobody else may mark it."""
    if notification.user_id != user.id:
        raise DomainError(NOT_YOURS)
    if notification.read_at is None:
        notification.read_at = now or utcnow()
        db.session.flush()
    return notification


def mark_all_read(user, now=None) -> int:
    """Mark every unread notification of ``user`` read; how many there were."""
    result = db.session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow()).execution_options(synchronize_session="fetch"))
    return result.rowcount


# the e-mail copy carries no personal link: nothing to fill in
register_kind(EMAIL_KIND)  # a notification's body carries no personal link
