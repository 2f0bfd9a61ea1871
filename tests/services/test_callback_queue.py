"""The callback queue (DESIGN §4.3.3, §4.3.5): every attempt logged with its note, a call given up
after the allowed attempts or at once on a refusal, a reached call's record sheet stored as a
phone response that opens follow-ups, and only the quality desk changing any of it."""
import json
from datetime import datetime

import pytest
from sqlalchemy import func, select, text

from portal.extensions import db
from portal.models import AuditEvent, CallAttempt, CallbackTask, FollowUp, Response, ServiceCase
from portal.seed.templates import ensure_default_templates
from portal.services import DomainError
from portal.services.answers import AnswersInvalid
from portal.services.callbacks import queue
from portal.services.callbacks.sampling import draw
from portal.services.responses import AlreadySubmitted
from portal.services.settings import set_setting

QUARTER = "2026Q4"
GOOD = {"q_resolved": "1", "q_timeliness": "5", "q_attitude": "5", "q_technical": "4",
        "q_communication": "1", "q_documentation": "na", "q_overall": "9"}
LOW = {**GOOD, "q_attitude": "2", "q_opinion": "工程师到场太慢"}


@pytest.fixture
def world(make):
    ensure_default_templates()
    db.session.commit()
    desk = make.user("cb_agent", roles=("quality",))
    pm = make.user("cb_pm", roles=("pm",))
    sales = make.user("cb_sales", roles=("sales",))
    project = make.project(pm=pm, sales=sales, code="CB-1")
    other = make.project(code="CB-2")
    for i in range(5):  # P1: 4 of 5 required, one spare; both projects have calls
        db.session.add(ServiceCase(external_id=f"INC-{i}", project_id=(project if i < 3 else other).id,
                                   priority="P1", reporter=f"报障人{i}", reporter_phone="13900000000",
                                   closed_at=datetime(2026, 10, 5 + i), quarter=QUARTER, engineer="王工"))
    db.session.commit()
    draw(QUARTER, desk, seed=2026)
    db.session.commit()
    return {"desk": desk, "pm": pm, "sales": sales, "project": project, "other": other,
            "admin": make.user("cb_admin", roles=("admin",)), "pmo": make.user("cb_pmo", roles=("pmo",)),
            "other_pm": other.pm, "version": queue.callback_versions("zh")[0]}


def first_task(project=None):
    query = select(CallbackTask).join(CallbackTask.case).order_by(CallbackTask.rank)
    if project is not None:
        query = query.where(ServiceCase.project_id == project.id)
    return db.session.scalars(query).first()


def log(task, user, outcome, note=None):
    return queue.log_attempt(task, user, outcome, note, expected_version=task.version)


# --- attempts --------------------------------------------------------------------------------

def test_each_attempt_is_logged_with_its_time_and_note(world):
    task = first_task()
    at = datetime(2026, 10, 20, 2, 30)
    queue.log_attempt(task, world["desk"], "busy", "  占线，下午再打  ", expected_version=task.version, now=at)
    db.session.commit()
    attempt = db.session.scalar(select(CallAttempt))
    assert (attempt.outcome, attempt.note, attempt.at, attempt.by_id) == ("busy", "占线，下午再打", at,
                                                                         world["desk"].id)
    assert task.attempts_count == 1 and task.state == "open"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "callback_attempt_logged"))
    assert event.object_id == str(task.id) and json.loads(event.detail)["outcome"] == "busy"


def test_no_answer_three_times_gives_up_and_draws_a_replacement(world):
    task = first_task()
    log(task, world["desk"], "no_answer")
    log(task, world["desk"], "busy")
    assert task.state == "open"
    log(task, world["desk"], "no_answer")
    db.session.commit()
    assert (task.state, task.failed_reason, task.attempts_count) == ("failed", "no_answer", 3)
    assert task.closed_at is not None
    replacement = db.session.get(CallbackTask, task.replaced_by_id)
    assert replacement.state == "open" and replacement.case.external_id not in (task.case.external_id,)
    assert replacement.draw.reason == "replacement"


def test_the_number_of_attempts_is_a_setting(world):
    set_setting("callback.max_attempts", 1, actor=world["admin"])
    task = first_task()
    log(task, world["desk"], "busy")
    assert task.state == "failed"


@pytest.mark.parametrize("outcome", ["refused", "wrong_number"])
def test_a_refusal_or_wrong_number_gives_up_at_once(world, outcome):
    task = first_task()
    log(task, world["desk"], outcome, "不愿意回答")
    assert (task.state, task.failed_reason, task.attempts_count) == ("failed", outcome, 1)
    assert task.replaced_by_id is not None
    active = db.session.scalar(select(func.count(CallbackTask.id)).where(CallbackTask.state == "open"))
    assert active == 4


def test_a_closed_call_takes_no_more_attempts(world):
    task = first_task()
    log(task, world["desk"], "refused")
    with pytest.raises(DomainError):
        log(task, world["desk"], "reached")


@pytest.mark.parametrize("outcome, note", [("hung_up", None), ("busy", "x" * 2001), ("busy", "a\x00b")])
def test_a_wrong_outcome_or_note_is_refused(world, outcome, note):
    task = first_task()
    with pytest.raises(DomainError) as error:
        log(task, world["desk"], outcome, note)
    assert error.value.field == ("outcome" if outcome == "hung_up" else "note")
    assert db.session.scalar(select(func.count(CallAttempt.id))) == 0


def test_a_note_of_2000_characters_is_kept(world):
    task = first_task()
    log(task, world["desk"], "busy", "记" * 2000)
    assert len(task.attempts[-1].note) == 2000


@pytest.mark.parametrize("seen", [1, "1", 3, None, "x"])
def test_a_stale_version_is_refused(world, seen):
    task = first_task()
    log(task, world["desk"], "busy")
    assert task.version == 2
    with pytest.raises(queue.ChangedMeanwhile):
        queue.log_attempt(task, world["desk"], "busy", expected_version=seen)
    assert task.attempts_count == 1
    queue.log_attempt(task, world["desk"], "busy", expected_version="2")  # as a form sends it
    assert task.attempts_count == 2


def test_an_attempt_logged_meanwhile_elsewhere_is_detected_at_the_write(world):
    task = first_task()
    seen = task.version
    db.session.execute(text("UPDATE callback_tasks SET version = version + 1 WHERE id = :id"), {"id": task.id})
    with pytest.raises(queue.ChangedMeanwhile):
        queue.log_attempt(task, world["desk"], "busy", expected_version=seen)
    assert db.session.scalar(select(func.count(CallAttempt.id))) == 0


# --- the callback form -----------------------------------------------------------------------

def test_a_reached_call_records_its_form_as_a_phone_response(world):
    task = first_task()
    with pytest.raises(DomainError) as error:
        queue.record_callback(task, world["desk"], GOOD, version=world["version"])
    assert str(error.value.message) == "请先记录已接通的拨打。"  # Log the reached call first.
    log(task, world["desk"], "no_answer")
    log(task, world["desk"], "reached", "接通")
    assert task.state == "open"  # the form comes next
    at = datetime(2027, 1, 4, 2, 0)  # called early in the next quarter: counts for the case's quarter
    response = queue.record_callback(task, world["desk"], GOOD, version=world["version"], now=at)
    db.session.commit()
    assert (response.channel, response.project_id, response.entered_by_id) == ("phone", task.case.project_id,
                                                                               world["desk"].id)
    assert response.quarter == QUARTER and response.submitted_at == at
    assert task.state == "reached" and task.response_id == response.id and task.closed_at == at
    assert db.session.scalar(select(func.count(FollowUp.id))) == 0  # good scores, no comment
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "callback_recorded"))
    assert json.loads(event.detail)["case"] == task.case.external_id


def test_a_low_score_on_the_callback_opens_a_follow_up_for_the_pm(world):
    task = first_task(world["project"])
    log(task, world["desk"], "reached")
    response = queue.record_callback(task, world["desk"], LOW, version=world["version"])
    db.session.commit()
    followup = db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))
    assert followup is not None and followup.owner_id == world["pm"].id
    assert {t["reason"] for t in followup.triggers} == {"low_score", "comment"}


def test_a_second_submit_is_refused(world):
    task = first_task()
    log(task, world["desk"], "reached")
    queue.record_callback(task, world["desk"], GOOD, version=world["version"])
    db.session.commit()
    with pytest.raises(AlreadySubmitted):
        queue.record_callback(task, world["desk"], LOW, version=world["version"])
    assert db.session.scalar(select(func.count(Response.id))) == 1


def test_wrong_answers_store_nothing(world):
    task = first_task()
    log(task, world["desk"], "reached")
    with pytest.raises(AnswersInvalid) as error:
        queue.record_callback(task, world["desk"], {**GOOD, "q_attitude": "7", "q_overall": ""},
                              version=world["version"])
    assert set(error.value.errors) == {"attitude", "overall"}
    assert task.state == "open" and db.session.scalar(select(func.count(Response.id))) == 0


def test_the_form_must_be_a_callback_questionnaire(world, make):
    task = first_task()
    log(task, world["desk"], "reached")
    for version in (None, make.template_version(kind="pm_quarterly")):
        with pytest.raises(DomainError):
            queue.record_callback(task, world["desk"], GOOD, version=version)


def test_a_failed_call_takes_no_form(world):
    task = first_task()
    log(task, world["desk"], "reached")
    log(task, world["desk"], "refused")
    with pytest.raises(DomainError):
        queue.record_callback(task, world["desk"], GOOD, version=world["version"])


def test_callback_versions_prefer_the_language(world):
    assert [v.template.language for v in queue.callback_versions("en")] == ["en", "zh"]
    assert [v.template.language for v in queue.callback_versions("zh")] == ["zh", "en"]
    assert all(v.template.kind == "callback" for v in queue.callback_versions())


# --- independence ----------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["pm", "sales", "admin", "pmo"])
def test_only_the_quality_desk_changes_callbacks(world, who):
    user, task = world[who], first_task(world["project"])
    assert not queue.can_work(user)
    with pytest.raises(PermissionError):
        draw(QUARTER, user)
    with pytest.raises(PermissionError):
        queue.log_attempt(task, user, "reached", expected_version=task.version)
    log(task, world["desk"], "reached")
    with pytest.raises(PermissionError):
        queue.record_callback(task, user, GOOD, version=world["version"])
    assert task.attempts_count == 1 and not task.answered


def test_an_inactive_agent_changes_nothing(world):
    world["desk"].active = False
    task = first_task()
    with pytest.raises(PermissionError):
        log(task, world["desk"], "busy")


def test_pm_and_sales_read_their_own_projects_calls_only(world):
    own = {t.id for t in db.session.scalars(select(CallbackTask).join(CallbackTask.case)
                                            .where(ServiceCase.project_id == world["project"].id))}
    everything = set(db.session.scalars(select(CallbackTask.id)))
    for who in ("pm", "sales"):
        page = queue.tasks_page(world[who], quarter=QUARTER, state=None, mine=False)
        assert {t.id for t in page.items} == own
    assert queue.tasks_page(world["other_pm"], state=None, mine=False).total == len(everything - own)
    for who in ("pmo", "admin", "desk"):
        assert {t.id for t in queue.tasks_page(world[who], state=None, mine=False).items} == everything
    foreign = next(iter(everything - own))
    assert queue.task_for(world["pm"], foreign) is None and queue.task_for(world["pmo"], foreign).id == foreign
    assert queue.task_for(world["sales"], next(iter(own))) is not None
    assert queue.task_for(world["pm"], 999999) is None


def test_the_agents_queue_lists_their_open_calls_by_priority_then_rank(world, make):
    second = make.user("cb_agent2", roles=("quality",))
    tasks = db.session.scalars(select(CallbackTask).order_by(CallbackTask.rank)).all()
    tasks[0].assigned_to_id = second.id
    db.session.commit()
    mine = queue.tasks_page(world["desk"], quarter=QUARTER)
    assert [t.id for t in mine.items] == [t.id for t in tasks[1:]]
    item = mine.items[0]
    assert item.case.project.client.name  # eager-loaded for the list
    log(tasks[1], world["desk"], "refused")
    db.session.commit()
    assert tasks[1].id not in {t.id for t in queue.tasks_page(world["desk"], quarter=QUARTER).items}
    failed = queue.tasks_page(world["desk"], quarter=QUARTER, state="failed")
    assert [t.id for t in failed.items] == [tasks[1].id]
    assert queue.tasks_page(world["desk"], quarter="2026Q3").total == 0


# --- key accounts' relationship calls in the same queue (DESIGN §4.9) -------------------------

def test_relationship_calls_share_the_queue_and_leave_ticket_replacements_alone(world, make):
    from datetime import date
    from portal.models import KeyAccount
    from portal.services.key_accounts.schedule import create_due_tasks
    client = make.client(key_account=True)
    account = KeyAccount(client_id=client.id, callback_every_weeks=4, callback_starts_on=date(2026, 10, 12),
                         callback_project_id=make.project(client_=client, pm=world["pm"]).id,
                         callback_contact_id=make.contact(client, phone="13600000000").id)
    db.session.add(account)
    db.session.commit()
    today = date(2026, 11, 9)
    assert create_due_tasks(today) == 2  # 12 October (missed) and 9 November
    db.session.commit()
    listed = queue.tasks_page(world["desk"], quarter=QUARTER, today=today).items
    assert [t.kind for t in listed] == ["relationship", "relationship"] + ["ticket"] * 4
    assert queue.tasks_page(world["pm"], quarter=QUARTER, mine=False, today=today).total == 2 + 3  # + own tickets
    ticket = first_task()
    log(ticket, world["desk"], "refused")  # a ticket call still gets its replacement
    assert ticket.replaced_by_id is not None
    relationship = listed[0]
    log(relationship, world["desk"], "refused")
    assert relationship.state == "failed" and relationship.replaced_by_id is None
    assert db.session.scalar(select(func.count(CallbackTask.id)).where(CallbackTask.kind == "ticket")) == 5
