"""Sales inquiries (DESIGN §4.2): which projects are due one, recording one with its form
(channel, people met, idempotent), and the major problem escalated to the executives until
one of them acknowledges it on the record."""
import json
import secrets
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, FollowUp, Notification, OutboxMessage, Response, SalesInquiry
from portal.services import DomainError
from portal.services import major_problems
from portal.services.answers import AnswersInvalid
from portal.services.quarters import local_today
from portal.services.sales_inquiries import (AlreadyRecorded, InquiryInput, InquiryInvalid, inquiry_due,
                                             record_inquiry, sales_overview, triggers_of)

from ..factories import SALES_VISIT_QUESTIONS

GOOD = {"q_attitude": "5", "q_overall": "4"}


@pytest.fixture
def world(make):
    sales = make.user("inq_sales", roles=("sales",))
    project = make.project(sales=sales, status="completed", end_date=date(2026, 3, 31))
    return {"sales": sales, "project": project,
            "version": make.template_version(kind="sales_visit", questions=SALES_VISIT_QUESTIONS),
            "buyer": make.contact(project.client, name="采购 李", function="procurement"),
            "lead": make.contact(project.client, name="项目负责人 周", function="project_lead"),
            "other_sales": make.user("inq_sales2", roles=("sales",)),
            "exec": make.user("inq_exec", roles=("exec",), email="exec@example.cn"),
            "exec2": make.user("inq_exec2", roles=("exec",), email="exec2@example.cn")}


def data(world, **kw):
    values = dict(inquired_on=local_today(), mode="visit", trigger="completion",
                  contact_ids=[world["buyer"].id, world["lead"].id], respondent_id=world["buyer"].id,
                  on_behalf=False, major_problem=False, major_problem_description=None,
                  submission_key=secrets.token_urlsafe(16))
    return InquiryInput(**{**values, **kw})


def record(world, answers=None, by=None, **kw):
    return record_inquiry(world["project"], by or world["sales"], data(world, **kw), answers or GOOD,
                          version=world["version"])


# --- what is due -----------------------------------------------------------------------------

def test_a_completed_project_is_due_until_inquired_and_then_not(world, db):
    assert inquiry_due(world["project"])
    overview = sales_overview(world["sales"])
    assert [d.project for d in overview.due] == [world["project"]]
    assert overview.due[0].trigger.kind == "completion"
    record(world)
    db.session.commit()
    assert not inquiry_due(world["project"])
    overview = sales_overview(world["sales"])
    assert overview.due == [] and overview.covered == 1 and len(overview.recent) == 1


def test_a_key_milestone_reached_after_the_last_inquiry_makes_it_due_again(world, make, db):
    project = make.project(sales=world["sales"], status="active")
    assert not inquiry_due(project)
    assert project in sales_overview(world["sales"]).never  # never inquired, not due yet
    make.milestone(project, name="初验", is_key=False, reached_date=date(2026, 2, 1))
    assert not inquiry_due(project)  # not a key milestone
    first = make.milestone(project, name="上线", is_key=True, reached_date=date(2026, 3, 1))
    db.session.refresh(project)
    assert inquiry_due(project) and triggers_of(project)[0].milestone == first
    record_inquiry(project, world["sales"], data(world, trigger=f"milestone:{first.id}",
                                                 inquired_on=date(2026, 3, 5),
                                                 contact_ids=[], respondent_id=_contact(make, project).id),
                   GOOD, version=world["version"])
    db.session.commit()
    assert not inquiry_due(project)
    make.milestone(project, name="终验", is_key=True, reached_date=date(2026, 6, 1))
    db.session.refresh(project)
    assert inquiry_due(project)
    due = next(d for d in sales_overview(world["sales"]).due if d.project == project)
    assert due.trigger.milestone.name == "终验" and due.history.last_on == date(2026, 3, 5)


def _contact(make, project):
    return make.contact(project.client, function="ops_leader")


def test_the_overview_holds_only_the_owners_projects(world, make):
    make.project(sales=world["other_sales"], status="completed")
    overview = sales_overview(world["sales"])
    assert {d.project.id for d in overview.due} == {world["project"].id}


# --- recording -------------------------------------------------------------------------------

def test_recording_stores_the_inquiry_its_people_and_its_form(world, db):
    inquiry = record(world, {"q_attitude": "4", "q_overall": "5"})
    db.session.commit()
    response = inquiry.response
    assert response.channel == "visit" and response.contact == world["buyer"]
    assert response.entered_by == world["sales"] and response.template_version == world["version"]
    assert [(p.contact.name, p.function) for p in inquiry.people_met] == [
        ("采购 李", "procurement"), ("项目负责人 周", "project_lead")]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sales_inquiry_recorded"))
    assert json.loads(event.detail)["inquiry"] == inquiry.id and event.user_id == world["sales"].id


@pytest.mark.parametrize("mode, on_behalf, channel", [
    ("visit", False, "visit"), ("phone", False, "phone"), ("email", False, "email"),
    ("phone", True, "on_behalf"), ("visit", True, "on_behalf")])
def test_the_channel_follows_the_mode_unless_filled_on_behalf(world, db, mode, on_behalf, channel):
    inquiry = record(world, mode=mode, on_behalf=on_behalf)
    db.session.commit()
    assert inquiry.response.channel == channel and inquiry.on_behalf is on_behalf


def test_the_respondent_counts_as_met_and_the_quarter_is_the_inquiry_dates(world, db):
    inquiry = record(world, contact_ids=[world["lead"].id], inquired_on=date(2026, 4, 2))
    assert {p.contact_id for p in inquiry.people_met} == {world["buyer"].id, world["lead"].id}
    assert inquiry.response.quarter == "2026Q2"


def test_the_same_form_submitted_twice_records_one_inquiry(world, db):
    key = secrets.token_urlsafe(16)
    first = record(world, submission_key=key)
    db.session.commit()
    with pytest.raises(AlreadyRecorded) as caught:
        record(world, submission_key=key)
    assert caught.value.inquiry.id == first.id
    assert db.session.scalar(select(func.count(SalesInquiry.id))) == 1
    assert db.session.scalar(select(func.count(Response.id))) == 1


def test_a_low_score_on_the_form_opens_the_pms_follow_up(world, db):
    inquiry = record(world, {"q_attitude": "2", "q_overall": "4"}, on_behalf=True)
    db.session.commit()
    followup = db.session.scalar(select(FollowUp).where(FollowUp.response_id == inquiry.response_id))
    assert followup.owner_id == world["project"].pm_id
    assert [t["code"] for t in followup.triggers] == ["attitude"]


@pytest.mark.parametrize("change, field", [
    (dict(inquired_on=None), "inquired_on"),
    (dict(inquired_on=date.today() + timedelta(days=3)), "inquired_on"),
    (dict(inquired_on=date(2026, 3, 1)), "inquired_on"),  # before the completion it follows
    (dict(mode="fax"), "mode"),
    (dict(trigger="milestone:999"), "trigger"),
    (dict(trigger=None), "trigger"),
    (dict(contact_ids=[], respondent_id=None), "respondent"),
    (dict(major_problem=True, major_problem_description="  "), "major_problem_description"),
])
def test_wrong_fields_are_refused_beside_the_field_and_nothing_is_stored(world, db, change, field):
    with pytest.raises(InquiryInvalid) as caught:
        record(world, **change)
    assert field in caught.value.errors
    db.session.rollback()
    assert db.session.scalar(select(func.count(SalesInquiry.id))) == 0


def test_a_contact_of_another_client_is_refused(world, make, db):
    stranger = make.contact(make.client(), function="procurement")
    with pytest.raises(InquiryInvalid) as caught:
        record(world, contact_ids=[stranger.id])
    assert "contacts" in caught.value.errors


def test_a_project_with_nothing_reached_cannot_be_inquired(world, make):
    project = make.project(sales=world["sales"], status="active")
    with pytest.raises(InquiryInvalid) as caught:
        record_inquiry(project, world["sales"], data(world), GOOD, version=world["version"])
    assert "trigger" in caught.value.errors


def test_missing_answers_are_refused(world, db):
    with pytest.raises(AnswersInvalid) as caught:
        record(world, {"q_attitude": "5"})
    assert "overall" in caught.value.errors


def test_only_the_projects_sales_owner_records(world, make):
    for user in (world["other_sales"], make.user(roles=("pm",)), make.user(roles=("quality",)),
                 world["exec"]):
        with pytest.raises(PermissionError):
            record(world, by=user)


def test_a_pm_questionnaire_cannot_stand_in_for_the_sales_form(world, make):
    with pytest.raises(DomainError):
        record_inquiry(world["project"], world["sales"], data(world), GOOD, version=make.template_version())


# --- major problem ---------------------------------------------------------------------------

def test_a_major_problem_notifies_every_executive_in_the_portal_and_by_email(world, db):
    inquiry = record(world, major_problem=True, major_problem_description="机房空调两次宕机，客户考虑更换供应商")
    db.session.commit()
    notes = db.session.scalars(select(Notification).where(Notification.kind == "major_problem")).all()
    assert {n.user_id for n in notes} == {world["exec"].id, world["exec2"].id}
    assert all(n.link == f"/inquiries/{inquiry.id}" for n in notes)
    assert "机房空调两次宕机" in notes[0].body
    recipients = set(db.session.scalars(select(OutboxMessage.to_addr)))
    assert {"exec@example.cn", "exec2@example.cn"} <= recipients
    assert major_problems.awaiting_acknowledgement() == [inquiry]


def test_an_acknowledgement_is_on_the_record_and_clears_the_list(world, db):
    inquiry = record(world, major_problem=True, major_problem_description="客户投诉升级")
    db.session.commit()
    major_problems.acknowledge(inquiry, world["exec"], "已安排技术总监明天上门")
    db.session.commit()
    assert inquiry.acknowledged_by == world["exec"] and inquiry.acknowledged_at is not None
    assert inquiry.acknowledgement_note == "已安排技术总监明天上门"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "major_problem_acknowledged"))
    assert event.user_id == world["exec"].id and json.loads(event.detail)["note"] == "已安排技术总监明天上门"
    assert major_problems.awaiting_acknowledgement() == [] and major_problems.awaiting_count() == 0
    with pytest.raises(DomainError):  # the second executive finds it done
        major_problems.acknowledge(inquiry, world["exec2"], "我也看到了")


def test_acknowledging_needs_an_executive_and_a_note(world, db):
    inquiry = record(world, major_problem=True, major_problem_description="问题")
    with pytest.raises(PermissionError):
        major_problems.acknowledge(inquiry, world["sales"], "ok")
    with pytest.raises(DomainError):
        major_problems.acknowledge(inquiry, world["exec"], "   ")
    plain = record(world)
    with pytest.raises(DomainError):
        major_problems.acknowledge(plain, world["exec"], "nothing to acknowledge")
