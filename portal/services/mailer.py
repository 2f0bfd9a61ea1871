"""Invitation and reminder e-mails to client contacts (DESIGN §4.1.2, §4.1.5).

Every message is kept as an OutboxMessage. With SMTP_HOST set it is sent by SMTP;
otherwise (or for a contact without an e-mail address) it waits in the outbox for
the PM to copy. The raw link is never stored: a sent message keeps
"[link sent by e-mail]" in its place, a held one a marker that is replaced by a
freshly issued link when the PM asks to copy it.
"""
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Optional

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import OutboxMessage
from ..models.base import utcnow
from . import DomainError
from .audit import record_event
from .rounds import apply_link, link_problem, prepare_link, reissue_link, survey_link

LINK_MARK = "\u27e6link\u27e7"
LINK_SENT = "[link sent by e-mail]"
LINK_HELD = "[link: press “Copy with link” in the outbox]"
KINDS = ("invitation", "reminder")

TEXTS = {
    "zh": {
        "invitation_subject": "【服务满意度调查】{project}",
        "reminder_subject": "【提醒】{project} 服务满意度问卷",
        "greeting": "{name}，您好：",
        "invitation_intro": ("感谢您对“{project}”项目的支持。为持续改进我们的服务，"
                             "请您抽出几分钟填写本季度（{quarter}）的服务满意度问卷："),
        "reminder_intro": ("我们尚未收到您对“{project}”项目本季度（{quarter}）服务满意度问卷的回复。"
                           "您的意见对我们很重要，请通过下面的链接填写："),
        "due": "请在 {due} 前填写。填写中可以保存草稿稍后继续；提交后不能再修改。",
        "personal": "此链接仅供您本人使用，请勿转发。",
        "opt_out": "如不希望再收到此类问卷，请打开上面的链接，点击页面上“不再接收问卷”的选项。",
        "signature": "{pm}\n“{project}”项目经理",
        "date": "{d.year}年{d.month}月{d.day}日",
    },
    "en": {
        "invitation_subject": "Service satisfaction questionnaire: {project}",
        "reminder_subject": "Reminder: service satisfaction questionnaire for {project}",
        "greeting": "Dear {name},",
        "invitation_intro": ("Thank you for working with us on “{project}”. To help us improve our "
                             "service, please take a few minutes to answer this quarter's ({quarter}) "
                             "satisfaction questionnaire:"),
        "reminder_intro": ("We have not yet received your answers to this quarter's ({quarter}) "
                           "satisfaction questionnaire for “{project}”. Your opinion matters to us; "
                           "please answer here:"),
        "due": ("Please answer by {due}. You can save a draft and come back later; once submitted, "
                "the answers cannot be changed."),
        "personal": "This link is for you only; please do not forward it.",
        "opt_out": ("If you prefer not to receive these questionnaires, open the link above and "
                    "choose “I do not want to receive further questionnaires”."),
        "signature": "{pm}\nProject manager, “{project}”",
        "date": "{d:%d %B %Y}",
    },
}


@dataclass
class Message:
    """A composed message; ``template`` holds LINK_MARK where the link goes."""
    invitation: object
    kind: str
    to_addr: Optional[str]
    subject: str
    template: str
    link: Optional[str] = None

    def body(self, link_text: str) -> str:
        return self.template.replace(LINK_MARK, link_text)


@dataclass
class SendResult:
    sent: int = 0      # delivered to the SMTP server
    queued: int = 0    # kept in the outbox for the PM to copy
    failed: int = 0
    skipped: int = 0   # answered, opted out, expired or (reminders) never invited

    @property
    def done(self) -> int:
        return self.sent + self.queued

    def add(self, other):
        for name in ("sent", "queued", "failed", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


def compose(invitation, kind, link=None) -> Message:
    """The message for one contact, in the contact's language (zh or en)."""
    if kind not in KINDS:
        raise ValueError(kind)
    contact, rnd = invitation.contact, invitation.round
    texts = TEXTS.get(contact.language, TEXTS["zh"])
    project = rnd.project
    values = {"name": contact.name, "project": project.name, "quarter": rnd.quarter,
              "due": texts["date"].format(d=rnd.due_date),
              "pm": project.pm.display_name if project.pm else ""}
    paragraphs = [texts["greeting"], texts[f"{kind}_intro"], LINK_MARK, texts["due"],
                  texts["personal"], texts["opt_out"], texts["signature"]]
    body = "\n\n".join(p if p == LINK_MARK else p.format(**values) for p in paragraphs) + "\n"
    subject = texts[f"{kind}_subject"].format(**values)
    return Message(invitation, kind, contact.email or None, subject, body, link)


def smtp_enabled() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


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


def deliver(message: Message, now=None) -> OutboxMessage:
    """Send ``message`` by SMTP when configured (and it has an address and a link), else keep it
    in the outbox. Always stored; failures become status 'failed' with the error, not exceptions."""
    now = now or utcnow()
    row = OutboxMessage(invitation_id=message.invitation.id if message.invitation else None,
                        kind=message.kind, to_addr=message.to_addr, subject=message.subject[:255],
                        created_at=now)
    if smtp_enabled() and message.to_addr and message.link:
        try:
            _smtp_send(message.to_addr, message.subject, message.body(message.link))
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            row.status, row.error = "failed", f"{type(exc).__name__}: {exc}"[:1000]
            row.body = message.body(LINK_HELD)
        else:
            row.status, row.sent_at = "sent", now
            row.body = message.body(LINK_SENT)
    else:
        row.status, row.body = "outbox", message.body(LINK_HELD)
    db.session.add(row)
    db.session.flush()
    record_event("message_" + row.status, row, detail={
        "kind": row.kind, "invitation": row.invitation_id, "to": row.to_addr, "error": row.error})
    return row


def _send_one(invitation, kind, by_user, now) -> OutboxMessage:
    """Compose, issue a link if it goes out by e-mail now, deliver, and count it on the invitation.

    The new link replaces the old one only once the e-mail is accepted, so a failed
    send never leaves the contact with a dead link."""
    link = token_hash = None
    if smtp_enabled() and invitation.contact.email:
        token, token_hash = prepare_link(invitation, now)
        link = survey_link(token)
    row = deliver(compose(invitation, kind, link), now)
    if row.status == "sent":
        apply_link(invitation, token_hash, by_user=by_user, reason=kind, now=now)
    if row.status != "failed":
        if kind == "invitation":
            invitation.sent_count += 1
        else:
            invitation.reminded_count += 1
        invitation.last_sent_at = now
    return row


def _count(result, row):
    if row.status == "sent":
        result.sent += 1
    elif row.status == "outbox":
        result.queued += 1
    else:
        result.failed += 1


def _check_round(rnd, by_user):
    if by_user is not None and (not by_user.has_role("pm") or rnd.project.pm_id != by_user.id):
        raise DomainError(_l("Only the project's project manager can run its questionnaire rounds."))
    if rnd.closed_at is not None:
        raise DomainError(_l("This round is closed."))


def send_invitations(rnd, by_user=None, now=None) -> SendResult:
    """Send the invitation to every contact of the round who has not been sent one yet."""
    _check_round(rnd, by_user)
    now = now or utcnow()
    result = SendResult()
    for invitation in rnd.invitations:
        if invitation.sent_count or link_problem(invitation, now):
            result.skipped += 1
            continue
        _count(result, _send_one(invitation, "invitation", by_user, now))
    db.session.flush()
    return result


def send_reminders(rnd, by_user=None, now=None) -> SendResult:
    """Remind every invited contact who has not submitted, has not opted out and whose link is alive.
    ``by_user`` None: the scheduled job."""
    _check_round(rnd, by_user)
    now = now or utcnow()
    result = SendResult()
    for invitation in rnd.invitations:
        if not invitation.sent_count or link_problem(invitation, now):
            result.skipped += 1
            continue
        _count(result, _send_one(invitation, "reminder", by_user, now))
    db.session.flush()
    return result


def copy_with_link(message, by_user, now=None) -> str:
    """The held message's body with a freshly issued link, for the PM to copy and send themselves.
    Issuing it makes every earlier link of this invitation stop working."""
    if message.status not in ("outbox", "failed") or message.invitation is None:
        raise DomainError(_l("This message was sent by e-mail; there is nothing to copy."))
    token = reissue_link(message.invitation, by_user=by_user, reason="outbox_copy", now=now)
    return message.body.replace(LINK_HELD, survey_link(token))
