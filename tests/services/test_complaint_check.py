"""The check on a closed complaint's handling (DESIGN §4.7.4): closing issues it by link or by the
quality desk's call; its answers go through submit_response, so a low score opens a follow-up."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.models import (
    AuditEvent,
    ComplaintSurvey,
    FollowUp,
    Notification,
    OutboxMessage,
    Response,
    Template,
)
from portal.services import DomainError
from portal.services import complaints as svc
from portal.services.answers import AnswersInvalid
from portal.services.responses import AlreadySubmitted
from portal.services.tokens import hash_token

from .test_complaints import MONDAY, build_world, step, to_state

LOW = {"q_speed": "2", "q_effect": "3", "q_attitude": "4", "q_overall": "2", "q_opinion": "处理太慢"}
GOOD = {"q_speed": "5", "q_effect": "5", "q_attitude": "5", "q_overall": "5", "q_opinion": ""}
LINK = re.compile(r"https://portal\.example\.cn/k/([A-Za-z0-9_-]+)")


@pytest.fixture
def world(make, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example.cn")
    return build_world(make, db)


def closed(world, **close):
    c = to_state(world, "notified")
    step(c, "close", world["quality"], **close)  # now: the link's validity counts from today
    return c


def token_of(db, complaint):
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "complaint")
                                .order_by(OutboxMessage.id.desc()))
    return LINK.search(message.body).group(1), message


def test_closing_sends_the_complainant_a_single_use_link(world, db):
    c = closed(world)
    [check] = c.surveys
    assert (check.mode, check.closing, check.template_version.template.kind) == ("link", 0, "complaint_followup")
    token, message = token_of(db, c)
    assert message.to_addr == "li@example.cn" and c.reference in message.subject
    assert check.token_hash == hash_token(token) and token not in (check.token_encrypted or "")
    assert check.expires_at == check.created_at + timedelta(days=14) and check.created_at > MONDAY
    assert c.events[-1].detail["check_by"] == "link"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "complaint_check_issued")) == 1


def test_without_an_e_mail_the_quality_desk_calls(world, db):
    c = to_state(world, "notified")
    c.contact.email = None
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        step(c, "close", world["quality"], check_by="link")
    assert refused.value.field == "check_by"
    db.session.rollback()
    assert c.state == "notified"
    step(c, "close", world["quality"])  # the default without an address
    [check] = c.surveys
    assert check.mode == "callback" and check.token_hash is None
    assert svc.calls_waiting() == [check]
    assert db.session.scalar(select(Notification.kind).where(Notification.user_id == world["quality"].id,
                                                             Notification.kind == "complaint_check_call"))
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.kind == "complaint", OutboxMessage.body.contains("/k/"))) == 0


def test_a_low_score_through_the_link_opens_a_follow_up_and_lands_on_the_timeline(world, db):
    c = closed(world)
    token, _ = token_of(db, c)
    check = svc.find_valid_check(token)
    assert check is c.surveys[0] and check.opened_at is not None
    response = svc.submit_check_online(check.id, LOW, client_ip="10.0.0.9")
    db.session.commit()
    assert (response.channel, response.project_id, response.contact_id) == (
        "online", world["project"].id, world["contact"].id)
    assert response.score == pytest.approx((2 + 3 + 4 + 2) / 4)
    followup = db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))
    assert followup is not None and followup.owner_id == world["pm"].id
    assert {t["code"] for t in followup.triggers} == {"speed", "effect", "overall", "opinion"}
    event = c.events[-1]
    assert event.action == "check_answered" and event.detail["score"] == response.score
    assert event.note == "处理太慢" and c.state == "closed"
    # the link is spent: a second submit, and the link itself, are refused
    with pytest.raises(AlreadySubmitted):
        svc.submit_check_online(check.id, GOOD)
    assert svc.find_valid_check(token) is None


def test_good_answers_open_no_follow_up(world, db):
    c = closed(world)
    response = svc.submit_check_online(c.surveys[0].id, GOOD)
    assert db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id)) is None


def test_incomplete_answers_store_nothing(world, db):
    c = closed(world)
    with pytest.raises(AnswersInvalid) as refused:
        svc.submit_check_online(c.surveys[0].id, {"q_speed": "5"})
    assert {"effect", "attitude", "overall"} <= set(refused.value.errors)
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0 and not c.surveys[0].answered


def test_bad_links_look_alike_and_guesses_count(world, db):
    c = closed(world)
    token, _ = token_of(db, c)
    assert svc.find_valid_check("x" * 43, address="10.1.1.1") is None
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "survey_link_invalid", AuditEvent.ip == "10.1.1.1")) == 1
    check = c.surveys[0]
    assert svc.find_valid_check(token, now=check.expires_at + timedelta(seconds=1)) is None  # expired
    assert svc.find_valid_check(token) is check


def test_the_desk_records_the_call(world, db, make):
    c = to_state(world, "notified")
    c.contact.email = None
    step(c, "close", world["quality"], check_by="callback")
    check = c.surveys[0]
    with pytest.raises(PermissionError):
        svc.record_check_call(check, world["owner"], GOOD)
    response = svc.record_check_call(check, world["quality"], GOOD)
    assert (response.channel, response.entered_by_id) == ("phone", world["quality"].id)
    assert svc.calls_waiting() == []
    with pytest.raises(AlreadySubmitted):
        svc.record_check_call(check, world["quality"], GOOD)


def test_a_reopened_complaint_closed_again_gets_a_new_check(world, db):
    c = closed(world)
    step(c, "reopen", world["quality"], reason="客户不满意")
    step(c, "assign", world["quality"], department=world["department"], owner=world["owner"])
    step(c, "investigate", world["owner"], findings="再查", company_fault=True)
    step(c, "propose_remedy", world["owner"], kind="rework", text="返工")
    step(c, "approve", world["exec"])
    step(c, "notify_client", world["owner"], how="phone", said="返工完成")
    step(c, "close", world["quality"])
    assert [(s.closing, s.mode) for s in c.surveys] == [(0, "link"), (1, "link")]


def test_closing_is_refused_while_no_check_questionnaire_exists(world, db):
    for template in db.session.scalars(select(Template).where(Template.kind == "complaint_followup")):
        template.archived = True
    c = to_state(world, "notified")
    with pytest.raises(DomainError) as refused:
        step(c, "close", world["quality"])
    assert refused.value.field == "check_by" and c.state == "notified"
    assert db.session.scalar(select(func.count()).select_from(ComplaintSurvey)) == 0
