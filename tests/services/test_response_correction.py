"""Correcting a submitted form (issue 13 §1): the quality department fixes a typing mistake in a
form staff entered, with a reason; the answers and score change in place, the form is verified
again, every change is audited with before and after, and anything else is refused unchanged.
(The "edited" flag's own test is in test_suspicion_flags.py, one test per flag.)"""
import json
from datetime import datetime

import pytest
from sqlalchemy import select

from portal.extensions import db as _db
from portal.models import Answer, AuditEvent, FollowUp, Response, RollupRevision
from portal.services import DomainError
from portal.services import verification as svc
from portal.services.answers import AnswersInvalid, parse_answers
from portal.services.responses import submit_response
from portal.services.rollup import rollup

SUBMITTED = datetime(2026, 11, 10, 2, 0)
TYPED = {"q_attitude": "5", "q_timeliness": "4", "q_technical": "8"}
MEANT = {"q_attitude": "4", "q_timeliness": "4", "q_technical": "8"}  # the paper said 较满意, not 满意
CORRECTED_AT = datetime(2026, 11, 20, 3, 0)


@pytest.fixture
def world(make):
    pm = make.user("rc_pm", roles=("pm",))
    project = make.project(pm=pm)
    return {"project": project, "version": make.template_version(), "contact": make.contact(project.client),
            "pm": pm, "quality": make.user("rc_quality", roles=("quality",)),
            "pmo": make.user("rc_pmo", roles=("pmo",))}


def enter(world, answers=TYPED, channel="paper"):
    parsed = parse_answers(world["version"], answers, complete=True)
    assert parsed.ok, parsed.errors
    return submit_response(world["version"], parsed, channel=channel, project=world["project"],
                           contact=world["contact"], entered_by=world["pm"] if channel != "online" else None,
                           submitted_at=SUBMITTED)


def correct(world, response, answers=MEANT, reason="录入时把“较满意”误录为“满意”", who="quality"):
    return svc.correct_answers(response, answers, actor=world[who], reason=reason, now=CORRECTED_AT)


def answers_of(response):
    return {a.question.code: (a.raw_value, a.text_value, a.is_na, a.normalized) for a in response.answers}


def corrections_audited():
    return _db.session.scalars(select(AuditEvent).where(AuditEvent.action == "response_corrected")
                               .order_by(AuditEvent.id)).all()


def test_a_correction_changes_the_answers_and_the_score_in_place(world, db):
    response = enter(world)
    answer_ids = {a.question_id: a.id for a in response.answers}
    correct(world, response)
    db.session.commit()
    db.session.expire_all()
    response = db.session.get(Response, response.id)
    assert {a.question_id: a.id for a in response.answers} == answer_ids  # the same rows, changed
    assert answers_of(response)["attitude"] == (4.0, None, False, 4.0)
    assert response.score == pytest.approx(parse_answers(world["version"], MEANT, complete=True).score)
    assert response.score < parse_answers(world["version"], TYPED, complete=True).score
    assert (response.edit_count, response.edited_at) == (1, CORRECTED_AT)
    correct(world, response, {**MEANT, "q_technical": "7"}, reason="技术能力也录错了")
    assert response.edit_count == 2


def test_the_correction_is_audited_with_each_answer_before_and_after(world, db):
    response = enter(world)
    correct(world, response)
    [event] = corrections_audited()
    detail = json.loads(event.detail)
    assert event.user_id == world["quality"].id and event.object_id == str(response.id)
    assert detail["reason"] == "录入时把“较满意”误录为“满意”" and detail["published_revision"] is None
    assert detail["changes"] == [{"code": "attitude", "question": "服务态度", "before": "5", "after": "4",
                                  "before_shown": "满意 (5)", "after_shown": "较满意 (4)"}]
    [shown] = svc.corrections_of(response)
    assert shown.reason == detail["reason"] and [(c.before, c.after) for c in shown.changes] == [
        ("满意 (5)", "较满意 (4)")]


def test_an_authentic_form_goes_back_to_pending(world, db):
    response = enter(world)
    svc.judge([response], "authentic", actor=world["quality"])
    correct(world, response)
    assert response.verification_status == "pending"
    assert response.verified_by_id is None and response.verified_at is None
    assert json.loads(corrections_audited()[0].detail)["verification_before"] == "authentic"


def test_a_rejected_form_is_judged_again_too(world, db):
    response = enter(world)
    svc.judge([response], "rejected", actor=world["quality"], reason="录入有误")
    correct(world, response)
    assert (response.verification_status, response.verification_reason) == ("pending", None)


def test_an_optional_answer_can_be_added_and_taken_back(world, db):
    response = enter(world)
    correct(world, response, {**TYPED, "q_opinion": "希望响应更快"}, reason="漏录了意见")
    assert response.comment == "希望响应更快" and "opinion" in answers_of(response)
    correct(world, response, TYPED, reason="意见是另一份表的")
    db.session.flush()
    assert response.comment is None and "opinion" not in answers_of(response)
    assert db.session.scalar(select(Answer).where(Answer.response_id == response.id,
                                                  Answer.text_value.is_not(None))) is None


def test_a_correction_that_now_calls_for_a_follow_up_opens_one(world, db):
    response = enter(world)
    assert db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id)) is None
    correct(world, response, {**TYPED, "q_attitude": "2"}, reason="纸质表上勾的是“不太满意”")
    followup = db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))
    assert followup is not None and followup.owner_id == world["pm"].id


def _unchanged(world, response):
    """All or nothing: what the refused correction had begun is rolled back by the caller."""
    _db.session.rollback()
    fresh = _db.session.get(Response, response.id)
    assert answers_of(fresh)["attitude"][0] == 5.0
    assert (fresh.edit_count, fresh.edited_at) == (0, None) and corrections_audited() == []


@pytest.mark.parametrize("channel", ["online", "email"])
def test_a_form_the_client_filled_in_is_never_corrected(world, db, channel):
    response = enter(world, channel=channel)
    db.session.commit()
    assert not svc.may_correct(world["quality"], response)
    with pytest.raises(DomainError) as error:
        correct(world, response)
    assert error.value.field == "channel"
    _unchanged(world, response)


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_correction_needs_its_reason(world, db, reason):
    response = enter(world)
    db.session.commit()
    with pytest.raises(DomainError) as error:
        correct(world, response, reason=reason)
    assert error.value.field == "reason"
    _unchanged(world, response)


def test_a_correction_that_changes_nothing_is_refused(world, db):
    response = enter(world)
    db.session.commit()
    with pytest.raises(DomainError) as error:
        correct(world, response, dict(TYPED))
    assert error.value.field == "answers"
    _unchanged(world, response)


def test_answers_are_checked_as_at_entry(world, db):
    response = enter(world)
    db.session.commit()
    with pytest.raises(AnswersInvalid) as error:
        correct(world, response, {**MEANT, "q_attitude": "7", "q_technical": ""})
    assert set(error.value.errors) == {"attitude", "technical"} and error.value.field == "answers"
    _unchanged(world, response)


@pytest.mark.parametrize("who", ["pm", "pmo"])
def test_only_the_quality_department_corrects(world, db, who):
    response = enter(world)
    db.session.commit()
    assert not svc.may_correct(world[who], response)
    with pytest.raises(PermissionError):
        correct(world, response, who=who)
    _unchanged(world, response)


def test_an_archived_form_is_read_only(world, db):
    response = enter(world)
    response.archived_at = datetime(2027, 1, 5)
    db.session.commit()
    with pytest.raises(DomainError):
        correct(world, response)
    db.session.rollback()
    assert db.session.get(Response, response.id).edit_count == 0


def test_a_published_quarter_still_takes_the_correction_and_says_so(world, db):
    response = enter(world)
    db.session.add(RollupRevision(quarter=response.quarter, number=1, figures={},
                                  published_by_id=world["quality"].id))
    db.session.flush()
    assert svc.published_revision(response.quarter) == 1
    correct(world, response)
    assert response.edit_count == 1
    assert json.loads(corrections_audited()[0].detail)["published_revision"] == 1


def test_the_rollup_sees_the_corrected_score_once_verified_again(world, db):
    response = enter(world)
    svc.judge([response], "authentic", actor=world["quality"])
    quarter, now = response.quarter, datetime(2026, 12, 2)
    before = rollup(quarter, now=now).overall
    assert before.responses == 1
    assert before.score == pytest.approx(parse_answers(world["version"], TYPED, complete=True).score)
    correct(world, response)
    assert rollup(quarter, now=now).overall.responses == 0  # pending again: in no figure
    svc.judge([response], "authentic", actor=world["quality"])
    after = rollup(quarter, now=now).overall
    assert after.responses == 1
    assert after.score == pytest.approx(parse_answers(world["version"], MEANT, complete=True).score)
