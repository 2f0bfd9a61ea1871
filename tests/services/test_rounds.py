"""services.rounds and services.round_status: opening a round, following it, paper forms
(DESIGN §4.1)."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, Response, SurveyRound
from portal.models.base import utcnow
from portal.services import DomainError, invitations, round_status, rounds, survey
from portal.services.answers import parse_answers
from portal.services.quarters import end_of_local_day
from portal.services.responses import AlreadySubmitted, answer_rows, submit_response

from ..rounds_world import ANSWERS, build_world


@pytest.fixture
def world(db):
    return build_world()


def _message(error):
    """A DomainError's (lazily translated) message, read as a page would."""
    from flask import current_app
    with current_app.test_request_context():
        return str(error.value.message)


def _submit(invitation, data=ANSWERS, channel="online"):
    version = invitation.round.template_version
    return submit_response(version, parse_answers(version, data, complete=True), channel=channel,
                           project=invitation.round.project, origin=invitation)


# --- opening ---------------------------------------------------------------------------------

def test_open_round_invites_each_contact_once_with_a_hashed_token(world, db):
    rnd = world.open(contacts=world.contacts + [world.contacts[0]])
    assert [i.contact for i in rnd.invitations] == world.contacts
    assert all(len(i.token_hash) == 64 for i in rnd.invitations)
    assert len({i.token_hash for i in rnd.invitations}) == 3
    assert rnd.created_by == world.pm and rnd.template_version == world.version
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "create",
                                                      AuditEvent.object_type == "SurveyRound")) is not None


def test_due_date_defaults_to_quarter_end_and_links_expire_at_its_end_in_shanghai(world):
    rnd = world.open(quarter="2026Q4")
    assert rnd.due_date == date(2026, 12, 31)
    # 31 Dec 23:59:59 in Asia/Shanghai (UTC+8) is 15:59:59 UTC
    assert {i.expires_at for i in rnd.invitations} == {datetime(2026, 12, 31, 15, 59, 59)}


def test_opted_out_contact_is_refused(world, db):
    with pytest.raises(DomainError) as error:
        world.open(contacts=[world.contacts[0], world.opted_out])
    assert error.value.field == "contacts" and "赵丽华" in _message(error)
    db.session.rollback()
    assert db.session.scalar(select(SurveyRound.id)) is None


def test_contact_of_another_client_is_refused(world):
    with pytest.raises(DomainError) as error:
        world.open(contacts=[world.contacts[0], world.foreign])
    assert error.value.field == "contacts" and "外人" in _message(error)


@pytest.mark.parametrize("who", ["other_pm", "quality", "sales"])
def test_only_the_projects_pm_may_open_a_round(world, who):
    with pytest.raises(DomainError):
        rounds.open_round(world.project, "2026Q4", world.version, world.contacts, None, getattr(world, who))


@pytest.mark.parametrize("quarter", ["2026Q5", "2026-Q4", "Q4 2026", ""])
def test_quarter_must_be_written_yyyyqn(world, quarter):
    with pytest.raises(DomainError) as error:
        world.open(quarter=quarter)
    assert error.value.field == "quarter"


def test_at_least_one_contact(world):
    with pytest.raises(DomainError) as error:
        world.open(contacts=[])
    assert error.value.field == "contacts"


def test_due_date_not_before_the_quarter_nor_in_the_past_when_the_form_says_today(world):
    with pytest.raises(DomainError) as error:
        world.open(quarter="2026Q4", due_date=date(2026, 9, 30))
    assert error.value.field == "due_date"
    with pytest.raises(DomainError) as error:
        world.open(quarter="2026Q4", due_date=date(2026, 11, 1), today=date(2026, 11, 23))
    assert error.value.field == "due_date"


def test_only_the_current_pm_quarterly_version_can_be_used(world, make, db):
    callback = make.template_version(kind="callback")
    with pytest.raises(DomainError) as error:
        rounds.open_round(world.project, "2026Q4", callback, world.contacts, None, world.pm)
    assert error.value.field == "version"
    world.version.template.archived = True
    db.session.commit()
    with pytest.raises(DomainError) as error:
        world.open()
    assert error.value.field == "version"


def test_several_rounds_per_quarter_are_allowed(world):
    first = world.open(contacts=world.contacts[:1])
    second = world.open(contacts=world.contacts[:1])
    assert first.id != second.id and first.quarter == second.quarter


def test_add_contacts_refuses_those_already_invited(world, db):
    rnd = world.open(contacts=world.contacts[:1])
    with pytest.raises(DomainError) as error:
        rounds.add_contacts_to_round(rnd, world.contacts[:2], world.pm)
    assert error.value.field == "contacts" and "王建国" in _message(error)
    added = rounds.add_contacts_to_round(rnd, world.contacts[1:], world.pm)
    db.session.commit()
    assert len(added) == 2 and len(rnd.invitations) == 3
    assert added[0].expires_at == rnd.invitations[0].expires_at


# --- following -------------------------------------------------------------------------------

def test_round_status_shows_each_contacts_state_and_the_response_rate(world, db):
    rnd = world.open()
    a, b, c = rnd.invitations
    a.sent_count = b.sent_count = c.sent_count = 1
    b.opened_at = utcnow()
    c.opened_at, c.draft, c.draft_saved_at = utcnow(), {"q_attitude": "4"}, utcnow()
    _submit(a, channel="online")
    db.session.commit()
    status = round_status.round_status(rnd)
    assert [r.state for r in status.rows] == ["submitted", "opened", "draft"]
    assert (status.invited, status.sent, status.opened, status.submitted, status.drafts) == (3, 3, 3, 1, 1)
    assert status.response_rate == pytest.approx(1 / 3)
    assert status.rows[0].response_id == a.response.id and status.rows[0].channel == "online"
    assert not status.rows[0].can_issue_link and status.rows[1].can_issue_link


def test_unanswered_invitations_are_overdue_after_the_due_day(world, db):
    rnd = world.open()
    _submit(rnd.invitations[0])
    db.session.commit()
    after = rnd.invitations[0].expires_at + timedelta(seconds=1)
    status = round_status.round_status(rnd, now=after)
    assert [r.state for r in status.rows] == ["submitted", "overdue", "overdue"]
    assert status.overdue == 2
    [summary] = round_status.round_summaries([rnd], now=after)
    assert (summary.invited, summary.submitted, summary.overdue) == (3, 1, 2)
    assert summary.response_rate == pytest.approx(1 / 3)
    [before] = round_status.round_summaries([rnd])
    assert before.overdue == 0


def test_opted_out_after_invitation_shows_as_opted_out(world, db):
    rnd = world.open()
    rnd.invitations[1].contact.opted_out = True
    db.session.commit()
    assert round_status.round_status(rnd).rows[1].state == "opted_out"


def test_closing_a_round_kills_its_links(world, db):
    rnd = world.open()
    token = invitations.current_token(rnd.invitations[0])
    rounds.close_round(rnd, world.pm)
    db.session.commit()
    assert survey.find_valid_invitation(token) is None
    with pytest.raises(DomainError):
        invitations.current_link(rnd.invitations[0])


def test_pm_overview_lists_projects_lacking_this_quarters_round(world, make, db):
    second = make.project(pm=world.pm, client_=world.client, code="PRJ-002")
    make.project(pm=world.pm, client_=world.client, code="PRJ-003", status="suspended")
    rnd = world.open()
    overview = round_status.pm_overview(world.pm)
    assert [p.code for p in overview["missing"]] == [second.code]
    assert [s.round_id for s in overview["open_rounds"]] == [rnd.id]
    assert round_status.pm_overview(world.other_pm)["open_rounds"] == []


# --- paper forms -----------------------------------------------------------------------------

def test_paper_form_is_recorded_with_channel_paper_entered_by_the_pm(world, db):
    rnd = world.open()
    response = rounds.enter_paper_response(rnd.invitations[0], ANSWERS, world.pm)
    db.session.commit()
    assert (response.channel, response.entered_by, response.contact) == ("paper", world.pm, world.contacts[0])
    assert response.round == rnd and response.quarter == rnd.quarter
    assert rnd.invitations[0].used_at is not None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "paper_entered")) is not None


def test_paper_form_with_missing_answers_is_refused(world, db):
    rnd = world.open()
    with pytest.raises(rounds.AnswersInvalid) as error:
        rounds.enter_paper_response(rnd.invitations[0], {"q_attitude": "5"}, world.pm)
    assert set(error.value.errors) == {"timeliness", "technical"}
    assert db.session.scalar(select(Response.id)) is None


def test_paper_form_for_an_answered_contact_is_already_submitted(world, db):
    rnd = world.open()
    _submit(rnd.invitations[0])
    db.session.commit()
    with pytest.raises(AlreadySubmitted):
        rounds.enter_paper_response(rnd.invitations[0], ANSWERS, world.pm)
    db.session.rollback()
    assert len(db.session.scalars(select(Response)).all()) == 1


def test_only_the_projects_pm_types_in_paper_forms(world):
    rnd = world.open()
    with pytest.raises(DomainError):
        rounds.enter_paper_response(rnd.invitations[0], ANSWERS, world.other_pm)


def test_answer_rows_show_labels_and_normalized_scores(world, db):
    rnd = world.open()
    response = rounds.enter_paper_response(rnd.invitations[0], {**ANSWERS, "q_timeliness": "na",
                                                                "q_opinion": "夜间响应慢"}, world.pm)
    db.session.commit()
    rows = answer_rows(response)
    assert [r.code for r in rows] == ["attitude", "timeliness", "technical", "opinion"]
    assert rows[0].normalized == 5 and rows[0].answer.endswith("(5)")
    assert rows[1].is_na and rows[1].normalized is None
    assert rows[2].raw_value == 8 and rows[2].normalized == pytest.approx(1 + 4 * 7 / 9)
    assert rows[3].answer == "夜间响应慢"


def test_expiry_is_end_of_day_local_time(app):
    assert end_of_local_day(date(2026, 6, 30)) == datetime(2026, 6, 30, 15, 59, 59)
