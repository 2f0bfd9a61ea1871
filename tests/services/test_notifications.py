"""services.notifications: in-app notifications for users, each copied by e-mail through the
outbox layer (DESIGN §4.2.3, §4.4)."""
from datetime import datetime

import pytest
from flask_babel import gettext as _
from sqlalchemy import select

from portal.extensions import db as _db
from portal.models import Notification, OutboxMessage
from portal.services import DomainError
from portal.services import notifications as service

from ..smtp_sink import SmtpSink


def _outbox():
    return _db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_notify_stores_the_notification_and_queues_its_email(db, make):
    pm = make.user("pm_n", roles=("pm",), email="pm@example.cn")
    n = service.notify(pm, "followup_assigned", "新的跟进", "请联系客户。", link="/followups/12")
    db.session.commit()
    stored = db.session.get(Notification, n.id)
    assert (stored.user_id, stored.kind, stored.subject, stored.body, stored.link) == (
        pm.id, "followup_assigned", "新的跟进", "请联系客户。", "/followups/12")
    assert stored.unread
    [message] = _outbox()
    assert (message.kind, message.to_addr, message.subject) == ("notification", "pm@example.cn", "新的跟进")
    assert message.invitation_id is None
    assert message.body.startswith("请联系客户。") and "/followups/12" in message.body
    assert message.status == "outbox"  # no SMTP configured: it waits


@pytest.mark.parametrize("email_address, email", [(None, True), ("pm@example.cn", False)])
def test_no_email_without_an_address_or_when_not_asked(db, make, email_address, email):
    pm = make.user("pm_n", roles=("pm",), email=email_address)
    service.notify(pm, "escalation", "s", "b", email=email)
    db.session.commit()
    assert db.session.scalar(select(Notification.id)) is not None
    assert _outbox() == []


def test_a_disabled_user_gets_no_email(db, make):
    pm = make.user("pm_n", roles=("pm",), email="pm@example.cn")
    pm.active = False
    service.notify(pm, "escalation", "s", "b")
    assert _outbox() == []


def test_the_email_is_sent_after_commit_with_the_full_link(app, db, make):
    saved = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT", "PUBLIC_BASE_URL")}
    with SmtpSink() as sink:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, PUBLIC_BASE_URL="https://portal.example.cn/")
        try:
            pm = make.user("pm_n", roles=("pm",), email="pm@example.cn", locale="en")
            service.notify(pm, "followup_overdue", "Overdue", "Follow-up 12 is overdue.", link="/followups/12")
            assert sink.messages == []  # nothing leaves before the transaction commits
            db.session.commit()
        finally:
            app.config.update(saved)
    [sent] = sink.messages
    body = sent["message"].get_content()
    assert "Open in the portal: https://portal.example.cn/followups/12" in body
    assert _outbox()[0].status == "sent"


def test_the_email_footer_is_in_the_users_language(db, make):
    zh = make.user("pm_zh", roles=("pm",), email="zh@example.cn", locale="zh")
    service.notify(zh, "escalation", "升级", "正文", link="/followups/3")
    assert "在门户中查看：/followups/3" in _outbox()[0].body


@pytest.mark.parametrize("link", ["https://evil.example/x", "//evil.example/x", "javascript:alert(1)"])
def test_a_link_must_be_a_path_inside_the_portal(db, make, link):
    pm = make.user("pm_n", roles=("pm",))
    with pytest.raises(ValueError):
        service.notify(pm, "escalation", "s", "b", link=link)


def test_notify_role_reaches_every_active_user_of_the_role_in_their_language(db, make):
    zh = make.user("exec_zh", roles=("exec",), locale="zh")
    make.user("exec_en", roles=("exec", "pmo"), locale="en", email="en@example.cn")
    unset = make.user("exec_browser", roles=("exec",))  # no language of their own: the default (zh)
    gone = make.user("exec_gone", roles=("exec",))
    gone.active = False
    make.user("pmo_only", roles=("pmo",))
    make.user("pm_x", roles=("pm",))
    sent = service.notify_role("exec", "major_problem", lambda u: _("Notifications"),
                               lambda u: f"{u.username}: {_('Unread')}", link="/responses/4")
    db.session.commit()
    got = {n.user.username: (n.subject, n.body, n.link) for n in sent}
    assert got == {
        "exec_zh": ("通知", "exec_zh: 未读", "/responses/4"),
        "exec_en": ("Notifications", "exec_en: Unread", "/responses/4"),
        "exec_browser": ("通知", "exec_browser: 未读", "/responses/4"),
    }
    assert db.session.scalar(select(Notification.id).where(Notification.user_id == gone.id)) is None
    assert [m.to_addr for m in _outbox()] == ["en@example.cn"]
    assert unset.locale is None and zh.locale == "zh"


def test_unread_count_and_mark_read_by_the_owner_only(db, make):
    pm, other = make.user("pm_n", roles=("pm",)), make.user("pm_o", roles=("pm",))
    first = service.notify(pm, "escalation", "a", "b")
    service.notify(pm, "escalation", "c", "d")
    service.notify(other, "escalation", "e", "f")
    assert service.unread_count(pm) == 2
    with pytest.raises(DomainError):
        service.mark_read(first, other)
    assert first.read_at is None
    service.mark_read(first, pm, now=datetime(2026, 12, 2, 9, 0))
    service.mark_read(first, pm)  # again: harmless, the first time stays
    assert first.read_at == datetime(2026, 12, 2, 9, 0)
    assert service.unread_count(pm) == 1 and service.unread_count(other) == 1


def test_mark_all_read_touches_only_the_users_own(db, make):
    pm, other = make.user("pm_n", roles=("pm",)), make.user("pm_o", roles=("pm",))
    for i in range(3):
        service.notify(pm, "escalation", f"s{i}", "b")
    service.notify(other, "escalation", "x", "y")
    assert service.mark_all_read(pm) == 3
    db.session.commit()
    assert service.unread_count(pm) == 0 and service.unread_count(other) == 1


def test_the_page_lists_the_users_own_newest_first(db, make):
    pm, other = make.user("pm_n", roles=("pm",)), make.user("pm_o", roles=("pm",))
    for day in (1, 3, 2):
        service.notify(pm, "escalation", f"day {day}", "b", now=datetime(2026, 12, day, 8, 0))
    service.notify(other, "escalation", "not mine", "b")
    page = service.notifications_page(pm, page=1, per_page=2)
    assert [n.subject for n in page.items] == ["day 3", "day 2"] and page.total == 3
    assert [n.subject for n in service.notifications_page(pm, page=2, per_page=2).items] == ["day 1"]


def test_a_kind_is_a_short_code(db, make):
    pm = make.user("pm_n", roles=("pm",))
    with pytest.raises(ValueError):
        service.notify(pm, "Not a code!", "s", "b")
