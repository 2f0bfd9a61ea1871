"""Invitation and reminder messages to client contacts (DESIGN §4.1.2, §4.1.5), in the
contact's language, sent through services.outbound.

An invitation carries the contact's one live link (services.invitations): e-mailed
messages get it filled in at delivery, outbox messages when the PM copies them. The
link is the same every time, so a copy the client already has keeps working.
"""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import OutboxMessage
from ..models.base import utcnow
from . import DomainError
from .invitations import check_runner, current_link, link_problem
from .outbound import LINK_MARK, body_with_link, mark_copied, queue_message, register_kind

KINDS = ("invitation", "reminder")
#: where the link goes in a message shown in the outbox (the real link is filled in on copy/delivery)
LINK_PLACEHOLDER = {"zh": "【个人问卷链接：在发件箱中点击“复制（含链接）”后填入】",
                    "en": "[personal questionnaire link: filled in when you press “Copy with link” in the outbox]"}

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
        "complaint": "如对我们的服务有投诉或建议，请填写：{complaint_form}",
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
        "complaint": "To complain about our service or make a suggestion: {complaint_form}",
        "date": "{d:%d %B %Y}",
    },
}




def complaint_form_link():
    """The public complaint form's absolute address (the invitation's footer), or None when the
    site's address is unknown here (no PUBLIC_BASE_URL and no request)."""
    from flask import current_app, has_request_context, url_for
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + current_app.url_map.bind("localhost").build("complaint_form.public_form")
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        return url_for("complaint_form.public_form", _external=True)
    return None


def compose(invitation, kind):
    """(subject, body) for one contact, in the contact's language (zh or en); LINK_MARK in the body."""
    if kind not in KINDS:
        raise ValueError(kind)
    contact, rnd = invitation.contact, invitation.round
    texts = TEXTS.get(contact.language, TEXTS["zh"])
    project = rnd.project
    values = {"name": contact.name, "project": project.name, "quarter": rnd.quarter,
              "due": texts["date"].format(d=rnd.due_date),
              "pm": project.pm.display_name if project.pm else ""}
    values["complaint_form"] = complaint_form_link()
    paragraphs = [texts["greeting"], texts[f"{kind}_intro"], LINK_MARK, texts["due"],
                  texts["personal"], texts["opt_out"], texts["signature"]]
    if values["complaint_form"]:
        paragraphs.append(texts["complaint"])
    body = "\n\n".join(p if p == LINK_MARK else p.format(**values) for p in paragraphs) + "\n"
    return texts[f"{kind}_subject"].format(**values), body


def _language(message):
    return message.invitation.contact.language if message.invitation is not None else "zh"


def _delivered(message, now):
    """An invitation or reminder reached the contact (e-mailed, or copied and sent by the PM)."""
    invitation = message.invitation
    if message.kind == "invitation":
        invitation.sent_count += 1
    else:
        invitation.reminded_count += 1
    invitation.last_sent_at = now


register_kind(*KINDS, link=lambda m: current_link(m.invitation),
              placeholder=lambda m: LINK_PLACEHOLDER.get(_language(m), LINK_PLACEHOLDER["zh"]),
              delivered=_delivered)


@dataclass
class SendResult:
    """What a send did in its transaction; e-mail goes out once that transaction commits."""
    to_email: int = 0   # queued for SMTP delivery after commit
    to_outbox: int = 0  # kept in the outbox for the PM to copy
    skipped: int = 0    # answered, opted out, expired, already invited or (reminders) never invited
    message_ids: list = field(default_factory=list)

    def add(self, other):
        self.to_email += other.to_email
        self.to_outbox += other.to_outbox
        self.skipped += other.skipped
        self.message_ids += other.message_ids
        return self

    def delivered(self):
        """After commit: (sent, failed, still queued) among this send's e-mails."""
        statuses = db.session.scalars(select(OutboxMessage.status)
                                      .where(OutboxMessage.id.in_(self.message_ids))).all()
        return (statuses.count("sent"), statuses.count("failed"), statuses.count("queued"))


def _check_round(rnd, by_user):
    if by_user is not None:
        check_runner(rnd.project, by_user)
    if rnd.closed_at is not None:
        raise DomainError(_l("This round is closed."))


def _queue(result, invitation, kind, now):
    subject, body = compose(invitation, kind)
    row = queue_message(kind, invitation.contact.email, subject, body, invitation=invitation, now=now)
    result.message_ids.append(row.id)
    if row.status == "queued":
        result.to_email += 1
    else:
        result.to_outbox += 1


def _invited(invitation):
    """It has an invitation message that went out or is waiting to (a failed one does not count)."""
    return invitation.sent_count > 0 or any(
        m.kind == "invitation" and m.status != "failed" for m in invitation.messages)


def send_invitations(rnd, by_user=None, now=None) -> SendResult:
    """Compose the invitation of every contact of the round who has none yet."""
    _check_round(rnd, by_user)
    now = now or utcnow()
    result = SendResult()
    for invitation in rnd.invitations:
        if _invited(invitation) or link_problem(invitation, now):
            result.skipped += 1
            continue
        _queue(result, invitation, "invitation", now)
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
        _queue(result, invitation, "reminder", now)
    db.session.flush()
    return result


def _check_copyable(message, by_user):
    if message.invitation is None or message.status not in ("outbox", "failed", "copied"):
        raise DomainError(_l("This message was sent by e-mail; there is nothing to copy."))
    check_runner(message.invitation.round.project, by_user)


def copy_with_link(message, by_user) -> str:
    """The message with the contact's live link, for the PM to send themselves. The link is the
    one the contact may already have: copying again never breaks it."""
    _check_copyable(message, by_user)
    return body_with_link(message)


def mark_message_sent(message, by_user, now=None):
    """The PM copied the message and sent it: it counts as sent from now on."""
    _check_copyable(message, by_user)
    return mark_copied(message, by_user, now)
