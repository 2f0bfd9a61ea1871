"""services.invitation_messages, services.outbound and ``flask send-reminders``: invitations
and reminders by SMTP after commit or through the outbox, never a raw link at rest
(DESIGN §4.1.2, §4.1.5)."""
import re
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, OutboxMessage
from portal.services import DomainError, invitations, outbound, rounds, survey
from portal.services import invitation_messages as messages
from portal.services.quarters import local_today, quarter_of
from portal.services.answers import parse_answers
from portal.services.responses import submit_response

from ..rounds_world import ANSWERS, build_world, text_values_in_database
from ..smtp_sink import SmtpSink

LINK_RE = re.compile(r"https?://\S+/s/([A-Za-z0-9_-]+)")


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def smtp(app):
    """A real SMTP server on localhost, configured as the portal's mail server."""
    saved = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD",
                                            "PUBLIC_BASE_URL")}
    with SmtpSink() as sink:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_USER=None, SMTP_PASSWORD=None,
                          PUBLIC_BASE_URL="https://survey.example.cn")
        yield sink
    app.config.update(saved)


def _submit(invitation):
    version = invitation.round.template_version
    return submit_response(version, parse_answers(version, ANSWERS, complete=True), channel="online",
                           project=invitation.round.project, origin=invitation)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _body(message):
    return outbound.shown_body(message)


def test_messages_follow_the_contacts_language(world):
    rnd = world.open()
    zh_subject, zh = messages.compose(rnd.invitations[0], "invitation")
    en_subject, en = messages.compose(rnd.invitations[1], "reminder")
    assert "数据中心运维服务" in zh_subject and "王建国" in zh
    assert "2026年12月31日" in zh and "不再接收问卷" in zh
    assert en_subject.startswith("Reminder") and "Dear Alice Smith" in en
    assert "31 December 2026" in en and "do not want to receive" in en
    assert "项目经理 张伟" in en
    assert outbound.LINK_MARK in zh and outbound.LINK_MARK in en


def test_without_smtp_invitations_wait_in_the_outbox_not_counted_as_sent(world, db):
    rnd = world.open()
    result = messages.send_invitations(rnd, world.pm)
    db.session.commit()
    assert (result.to_outbox, result.to_email) == (3, 0)
    stored = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.status for m in stored] == ["outbox"] * 3
    assert all("/s/" not in _body(m) for m in stored)
    assert [i.sent_count for i in rnd.invitations] == [0, 0, 0]  # waiting is not sent
    again = messages.send_invitations(rnd, world.pm)
    assert (again.to_outbox, again.skipped) == (0, 3)


def test_outbox_text_is_all_in_the_message_language(world, db):
    rnd = world.open()
    messages.send_invitations(rnd, world.pm)
    zh, en = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()[:2]
    assert "复制（含链接）" in _body(zh) and not re.search(r"[A-Za-z]{4,}", _body(zh))
    names = ("数据中心运维服务", "项目经理 张伟")  # the project's and the PM's own names stay as they are
    english = _body(en)
    for name in names:
        english = english.replace(name, "")
    assert "Copy with link" in english and not re.search(r"[\u4e00-\u9fff]", english)


def test_copying_twice_gives_the_same_working_link_and_marking_sent_counts_it(app, world, db):
    rnd = world.open()
    messages.send_invitations(rnd, world.pm)
    message = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
    with app.test_request_context(base_url="http://portal.local"):
        first = messages.copy_with_link(message, world.pm)
        second = messages.copy_with_link(message, world.pm)
    db.session.commit()
    token = LINK_RE.search(first).group(1)
    assert first == second and "http://portal.local/s/" in first
    assert survey.find_valid_invitation(token) is message.invitation
    assert not any(token in v for v in text_values_in_database())
    messages.mark_message_sent(message, world.pm)
    db.session.commit()
    assert message.status == "copied" and message.sent_at is not None
    assert message.invitation.sent_count == 1
    with pytest.raises(DomainError):
        messages.copy_with_link(message, world.other_pm)


def test_smtp_delivers_after_commit_a_working_link_and_keeps_no_token(smtp, world, db):
    rnd = world.open()
    result = messages.send_invitations(rnd, world.pm)
    assert result.to_email == 3 and smtp.messages == []  # nothing leaves before the commit
    db.session.commit()
    assert result.delivered() == (3, 0, 0)
    assert sorted(r for m in smtp.messages for r in m["to"]) == sorted(c.email for c in world.contacts)
    received = {m["to"][0]: m["message"] for m in smtp.messages}
    wang = received["wang@client.example.cn"]
    assert wang["Subject"] == "【服务满意度调查】数据中心运维服务"
    token = LINK_RE.search(wang.get_content()).group(1)
    assert "https://survey.example.cn/s/" + token in wang.get_content()
    assert survey.find_valid_invitation(token) is rnd.invitations[0]
    db.session.expire_all()
    stored = db.session.scalars(select(OutboxMessage)).all()
    assert {m.status for m in stored} == {"sent"} and all(m.sent_at for m in stored)
    assert [i.sent_count for i in rnd.invitations] == [1, 1, 1]
    tokens = [LINK_RE.search(m["message"].get_content()).group(1) for m in smtp.messages]
    values = text_values_in_database()
    assert not [t for t in tokens if any(t in v for v in values)]


def test_a_rolled_back_send_e_mails_nobody(smtp, world, db):
    rnd = world.open()
    messages.send_invitations(rnd, world.pm)
    db.session.rollback()
    db.session.commit()
    assert smtp.messages == [] and db.session.scalar(select(OutboxMessage.id)) is None


def _try_to_write_elsewhere(engine):
    """From another connection, take what a writer needs at once (no waiting): SQLite's database
    write lock, or on PostgreSQL a row lock on every outbox message. "free" or the error."""
    if engine.dialect.name == "sqlite":
        import sqlite3
        other = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once if anyone holds the write lock
            other.execute("ROLLBACK")
            return "free"
        except sqlite3.OperationalError as exc:
            return str(exc)
        finally:
            other.close()
    from sqlalchemy.exc import OperationalError
    with engine.connect() as other:
        try:
            other.exec_driver_sql("SELECT id FROM outbox_messages FOR UPDATE NOWAIT").all()
            return "free"
        except OperationalError as exc:
            return str(exc.orig)
        finally:
            other.rollback()


def test_delivery_holds_no_lock_while_talking_to_the_smtp_server(app, smtp, world, db, monkeypatch):
    seen = []
    real_send = outbound._smtp_send

    def send_and_try_to_write(*args):
        seen.append(_try_to_write_elsewhere(db.engine))
        return real_send(*args)

    monkeypatch.setattr(outbound, "_smtp_send", send_and_try_to_write)
    rnd = world.open(contacts=world.contacts[:2])
    messages.send_invitations(rnd, world.pm)
    db.session.commit()
    assert seen == ["free", "free"] and len(smtp.messages) == 2


def test_smtp_logs_in_when_a_user_is_configured(app, smtp, world, db):
    app.config.update(SMTP_USER="portal", SMTP_PASSWORD="s3cret")
    rnd = world.open(contacts=world.contacts[:1])
    messages.send_invitations(rnd, world.pm)
    db.session.commit()
    assert smtp.logins == [("portal", "s3cret")]
    assert len(smtp.messages) == 1


def test_a_failed_send_stays_visible_and_the_link_keeps_working(app, world, db):
    rnd = world.open(contacts=world.contacts[:1])
    invitation = rnd.invitations[0]
    token = invitations.current_token(invitation)
    db.session.commit()
    saved = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT", "PUBLIC_BASE_URL")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_free_port(), PUBLIC_BASE_URL="https://x.cn")
    try:
        result = messages.send_invitations(rnd, world.pm)
        db.session.commit()
        assert result.delivered() == (0, 1, 0)
    finally:
        app.config.update(saved)
    db.session.expire_all()
    message = db.session.scalar(select(OutboxMessage))
    assert message.status == "failed" and "Connection" in message.error
    assert invitation.sent_count == 0
    assert survey.find_valid_invitation(token) is invitation
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "message_failed"))


def test_queued_messages_left_by_a_crash_go_out_with_deliver_outbox(app, runner, smtp, world, db,
                                                                    monkeypatch):
    monkeypatch.setattr(outbound, "deliver_queued", lambda ids: None)  # as if the process died
    rnd = world.open(contacts=world.contacts[:1])
    messages.send_invitations(rnd, world.pm)
    db.session.commit()
    assert smtp.messages == [] and db.session.scalar(select(OutboxMessage.status)) == "queued"
    monkeypatch.undo()
    db.session.commit()  # end the test's transaction so the command can write
    result = runner.invoke(args=["deliver-outbox"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 failed" in result.output and len(smtp.messages) == 1


def test_contact_without_email_goes_to_the_outbox_even_with_smtp(smtp, world, make, db):
    no_mail = make.contact(world.client, "无邮箱", email=None)
    rnd = world.open(contacts=[no_mail])
    result = messages.send_invitations(rnd, world.pm)
    db.session.commit()
    assert (result.to_outbox, result.to_email) == (1, 0) and smtp.messages == []
    assert db.session.scalar(select(OutboxMessage)).status == "outbox"


def test_reminders_go_only_to_invited_contacts_who_have_not_submitted(smtp, world, make, db):
    extra = make.contact(world.client, "未发送")
    rnd = world.open(contacts=world.contacts + [extra])
    answered, waiting, lapsed, never_sent = rnd.invitations
    for inv in (answered, waiting, lapsed):
        inv.sent_count = 1
    _submit(answered)
    db.session.commit()
    result = messages.send_reminders(rnd, world.pm)
    db.session.commit()
    assert (result.to_email, result.skipped) == (2, 2)
    assert sorted(m["to"][0] for m in smtp.messages) == sorted([waiting.contact.email, lapsed.contact.email])
    db.session.expire_all()
    assert [i.reminded_count for i in rnd.invitations] == [0, 1, 1, 0]
    assert [i.sent_count for i in rnd.invitations] == [1, 1, 1, 0]
    assert all(m["message"]["Subject"].startswith(("【提醒】", "Reminder")) for m in smtp.messages)
    # an opted-out contact and an expired link get no reminder either
    lapsed.contact.opted_out = True
    db.session.commit()
    later = messages.send_reminders(rnd, world.pm)
    db.session.commit()
    db.session.expire_all()
    assert later.to_email == 1 and waiting.reminded_count == 2 and lapsed.reminded_count == 1
    after_due = waiting.expires_at + timedelta(seconds=1)
    assert messages.send_reminders(rnd, world.pm, now=after_due).to_email == 0


def test_only_the_projects_pm_sends_and_not_for_a_closed_round(world, db):
    rnd = world.open()
    with pytest.raises(DomainError):
        messages.send_invitations(rnd, world.other_pm)
    rounds.close_round(rnd, world.pm)
    with pytest.raises(DomainError):
        messages.send_reminders(rnd, world.pm)


# --- flask send-reminders --------------------------------------------------------------------

def _sent_round(world, db, due_date, contacts):
    rnd = rounds.open_round(world.project, quarter_of(due_date), world.version, contacts,
                            due_date, world.pm)
    for inv in rnd.invitations:
        inv.sent_count = 1
    db.session.commit()
    return rnd


def test_cli_reminds_non_submitters_of_open_rounds(runner, world, db):
    today = local_today()
    soon = _sent_round(world, db, today + timedelta(days=3), world.contacts[:2])
    later = _sent_round(world, db, today + timedelta(days=40), world.contacts[:1])
    closed = _sent_round(world, db, today + timedelta(days=3), world.contacts[:1])
    rounds.close_round(closed, world.pm)
    past = _sent_round(world, db, today - timedelta(days=1), world.contacts[:1])
    _submit(soon.invitations[0])
    db.session.commit()

    result = runner.invoke(args=["send-reminders", "--days-before", "7"])
    assert result.exit_code == 0, result.output
    assert f"round {soon.id} " in result.output and f"round {later.id} " not in result.output
    assert "1 open rounds: 0 e-mailed, 1 to outbox, 0 failed, 1 skipped" in result.output
    db.session.expire_all()
    assert [len(i.messages) for i in soon.invitations] == [0, 1]  # waiting in the outbox to copy
    assert [i.reminded_count for i in soon.invitations] == [0, 0]  # not sent until copied

    db.session.commit()  # end the test's transaction so the command can write
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert "2 open rounds: 0 e-mailed, 2 to outbox" in result.output
    db.session.expire_all()
    assert [m.kind for m in later.invitations[0].messages] == ["reminder"]
    assert closed.invitations[0].messages == [] and past.invitations[0].messages == []
    assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.kind == "reminder")) is not None


def test_cli_sends_by_smtp_with_links_to_the_public_address(runner, smtp, world, db):
    rnd = _sent_round(world, db, local_today() + timedelta(days=2), world.contacts[:1])
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert "1 open rounds: 1 e-mailed" in result.output
    token = LINK_RE.search(smtp.bodies()[0]).group(1)
    db.session.expire_all()
    assert survey.find_valid_invitation(token).id == rnd.invitations[0].id


def test_cli_refuses_smtp_without_a_public_address(app, runner, smtp, world, db):
    app.config["PUBLIC_BASE_URL"] = None
    _sent_round(world, db, local_today() + timedelta(days=2), world.contacts[:1])
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code != 0 and "PUBLIC_BASE_URL" in result.output
    assert smtp.messages == []
