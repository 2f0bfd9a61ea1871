"""Every message the portal sends, to anyone, of any kind (DESIGN §4.1.2; notifications
and escalations use the same layer).

A message is composed into an ``OutboxMessage`` in the caller's transaction:

- ``queued``  — it will be e-mailed (SMTP configured and the recipient has an address);
- ``outbox``  — it waits for a person to copy it and deliver it themselves;
- ``copied``  — that person copied it and marked it sent;
- ``sent``    — the SMTP server accepted it;
- ``failed``  — delivery failed; the error stays on the message for everyone to see.

SMTP delivery happens only **after** the transaction that queued the message commits
(never while holding the SQLite write lock, never for a message that was rolled
back), in a short transaction of its own per message. ``flask deliver-outbox`` (and
later the job worker) delivers whatever is still queued, e.g. after a crash.

A body may hold ``LINK_MARK`` where a personal link goes: the raw link is never
stored in a message. Each message kind registers how to fill it in
(``register_kind``): with the real link when delivering or copying, with a
placeholder in the message's language when shown.
"""
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Callable, Optional

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import AuditEvent, OutboxMessage
from ..models.base import utcnow
from .audit import record_event

log = logging.getLogger(__name__)
LINK_MARK = "\u27e6link\u27e7"
_PENDING = "outbound_pending"


@dataclass(frozen=True)
class MessageKind:
    """How messages of one kind fill in their link and what delivering one means for its subject."""
    link: Optional[Callable] = None         # (message) -> the real link, for delivery or copying
    placeholder: Optional[Callable] = None  # (message) -> text shown where the link goes, in its language
    delivered: Optional[Callable] = None    # (message, now) inside the delivering transaction


_KINDS: dict[str, MessageKind] = {}


def register_kind(*kinds, link=None, placeholder=None, delivered=None):
    """Declare a message kind; ``link``/``placeholder`` only for kinds whose bodies carry LINK_MARK."""
    for kind in kinds:
        _KINDS[kind] = MessageKind(link, placeholder, delivered)


def smtp_enabled() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


# --- composing -------------------------------------------------------------------------------

def queue_message(kind, to_addr, subject, body, *, invitation=None, now=None) -> OutboxMessage:
    """Store a message: queued for e-mail after commit, or kept in the outbox to copy."""
    now = now or utcnow()
    status = "queued" if smtp_enabled() and to_addr else "outbox"
    row = OutboxMessage(invitation=invitation, kind=kind, to_addr=to_addr or None,
                        subject=subject[:255], body=body, status=status, created_at=now)
    db.session.add(row)
    db.session.flush()
    record_event("message_" + status, row, detail={"kind": kind, "to": row.to_addr,
                                                   "invitation": row.invitation_id})
    if status == "queued":
        db.session.info.setdefault(_PENDING, set()).add(row.id)
    return row


def shown_body(message) -> str:
    """The body as the outbox shows it: the link's place marked, never the link itself."""
    kind = _KINDS.get(message.kind)
    if LINK_MARK not in message.body:
        return message.body
    return message.body.replace(LINK_MARK, kind.placeholder(message) if kind and kind.placeholder else "")


def body_with_link(message) -> str:
    """The body with the real link, for delivery or for a person to copy."""
    if LINK_MARK not in message.body:
        return message.body
    return message.body.replace(LINK_MARK, _KINDS[message.kind].link(message))


def mark_copied(message, by_user, now=None):
    """A person copied the message and delivered it themselves: it counts as sent."""
    if message.status not in ("outbox", "failed", "copied"):
        raise ValueError(message.status)
    if message.status != "copied":
        now = now or utcnow()
        message.status, message.sent_at, message.error = "copied", now, None
        kind = _KINDS.get(message.kind)
        if kind and kind.delivered:
            kind.delivered(message, now)
        db.session.flush()
        record_event("message_copied", message, actor=by_user, detail={"kind": message.kind})
    return message


# --- delivering ------------------------------------------------------------------------------

def _smtp_send(to_addr, subject, body):
    cfg = current_app.config
    email = EmailMessage()
    email["From"] = cfg.get("MAIL_FROM") or "satisfaction-portal@localhost"
    email["To"] = to_addr
    email["Subject"] = subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=(email["From"].rsplit("@", 1)[-1] or None))
    email.set_content(body)
    with smtplib.SMTP(cfg["SMTP_HOST"], int(cfg.get("SMTP_PORT") or 25),
                      timeout=float(cfg.get("SMTP_TIMEOUT", 20))) as smtp:
        if cfg.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("SMTP_USER"):
            smtp.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD") or "")
        smtp.send_message(email)


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0


def _deliver_one(message_id, now) -> Optional[str]:
    """Deliver one queued message: read it, send with no transaction open, record the outcome."""
    with Session(db.engine, expire_on_commit=False) as session:
        message = session.get(OutboxMessage, message_id)
        if message is None or message.status != "queued":
            return None
        to_addr, subject = message.to_addr, message.subject
        try:
            body = body_with_link(message)
        except Exception as exc:  # the link can no longer be used (answered, closed...)
            body, error = None, exc
        session.rollback()  # end the read (and its lock) before talking to the SMTP server
        if body is not None:
            try:
                _smtp_send(to_addr, subject, body)
                error = None
            except (smtplib.SMTPException, OSError, ValueError) as exc:
                error = exc
        message = session.get(OutboxMessage, message_id, populate_existing=True)
        if message is None or message.status != "queued":
            return None
        if error is None:
            message.status, message.sent_at = "sent", now
            kind = _KINDS.get(message.kind)
            if kind and kind.delivered:
                kind.delivered(message, now)
        else:
            message.status, message.error = "failed", _error_text(error)
        session.add(AuditEvent(action="message_" + message.status, object_type="OutboxMessage",
                               object_id=str(message.id), at=now,
                               detail=None if error is None else message.error))
        session.commit()
        return message.status


def _error_text(exc) -> str:
    message = getattr(exc, "message", None) or exc
    return f"{type(exc).__name__}: {message}"[:1000]


def deliver_queued(ids=None, now=None) -> Delivery:
    """E-mail the queued messages (``ids``, or every queued one); each outcome committed at once."""
    if ids is None:
        with Session(db.engine) as session:  # a short read of its own: no lock kept while sending
            ids = session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "queued")).all()
    result = Delivery()
    for message_id in sorted(ids):
        status = _deliver_one(message_id, now or utcnow())
        if status == "sent":
            result.sent += 1
        elif status == "failed":
            result.failed += 1
    return result


def _after_commit(session):
    ids = session.info.pop(_PENDING, None)
    if ids and smtp_enabled():
        try:
            deliver_queued(ids)
        except Exception:  # never fail the request that already committed; the message stays queued
            log.exception("delivering outbound messages %s failed; they stay queued", sorted(ids))


def _after_rollback(session):
    if not session.in_transaction():
        session.info.pop(_PENDING, None)


def init_app(app):
    """Deliver after every commit of the app's sessions."""
    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_rollback", _after_rollback)
