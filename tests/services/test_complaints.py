"""Complaints (DESIGN §4.7): intake from any channel with its reference and acknowledgement, the one
transition table, who takes which step (approval threshold), and who sees which complaint."""
import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.models import (
    COMPLAINT_STATES,
    AuditEvent,
    Complaint,
    Department,
    DepartmentMember,
    Notification,
    OutboxMessage,
)
from portal.services import DomainError
from portal.seed.templates import ensure_default_templates
from portal.services import complaints as svc
from portal.services.answers import parse_answers
from portal.services.complaints import intake
from portal.services.responses import submit_response
from portal.services.settings import set_setting

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(y, m, d, h=9, mi=0):
    """A local (Shanghai) wall time as the naive UTC the database stores."""
    return datetime(y, m, d, h, mi, tzinfo=SHANGHAI).astimezone(timezone.utc).replace(tzinfo=None)


MONDAY = local(2026, 6, 1, 9)


@pytest.fixture
def world(make, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example.cn")  # the check's link
    return build_world(make, db)


def build_world(make, db):
    """Quality desk, an executive, a department (head, one member) and another, a project with its
    PM, salesperson and a contact with an e-mail address."""
    quality = make.user("c_quality", roles=("quality",))
    exec_ = make.user("c_exec", roles=("exec",))
    head = make.user("c_head", roles=("pm",))
    owner = make.user("c_owner", roles=("pm",))
    outsider = make.user("c_outsider", roles=("pm",))
    pm = make.user("c_pm", roles=("pm",))
    sales = make.user("c_sales", roles=("sales",))
    project = make.project(pm=pm, sales=sales)
    contact = make.contact(project.client, email="li@example.cn")
    department = Department(name="售后服务部", head=head)
    other = Department(name="实施部", head=outsider)
    db.session.add_all([department, other])
    db.session.flush()
    db.session.add_all([DepartmentMember(department=department, user=owner),
                        DepartmentMember(department=other, user=outsider)])
    ensure_default_templates()  # the complaint follow-up questionnaire closing issues
    db.session.commit()
    return dict(quality=quality, exec=exec_, head=head, owner=owner, outsider=outsider, pm=pm, sales=sales,
                project=project, contact=contact, department=department, other=other)


def register(world, now=MONDAY, **kw):
    values = dict(channel="phone", description="工程师三次未按约定时间到场", by_user=world["quality"],
                  contact=world["contact"], project=world["project"], now=now)
    values.update(kw)
    return svc.register_complaint(**values)


def step(complaint, action, actor, now=None, **fields):
    return svc.apply(complaint, action, actor=actor, expected_version=complaint.version, now=now, **fields)


def to_state(world, state, now=MONDAY, **remedy):
    """A complaint walked through the real steps up to ``state``."""
    c = register(world, now=now)
    path = {"accepted": [("accept", "quality", {})],
            "assigned": [("assign", "quality", {"department": world["department"], "owner": world["owner"]})],
            "investigated": [("investigate", "owner", {"findings": "排班冲突", "company_fault": True})],
            "remedy_proposed": [("propose_remedy", "owner",
                                 remedy or {"kind": "apology", "text": "书面致歉"})],
            "approved": [("approve", "exec", {})],
            "notified": [("notify_client", "owner", {"how": "phone", "said": "结果、原因与申诉途径"})],
            "closed": [("close", "quality", {})]}
    for name in ("accepted", "assigned", "investigated", "remedy_proposed", "approved", "notified", "closed"):
        for action, who, fields in path[name]:
            step(c, action, world[who], now=now, **fields)
        if name == state:
            break
    return c


# --- intake ------------------------------------------------------------------------------------------

def test_references_number_each_year_from_one(world, db):
    first, second = register(world), register(world)
    assert (first.reference, second.reference) == ("TS-2026-00001", "TS-2026-00002")
    # 1 January 01:00 in Shanghai is still 31 December in UTC: the local year counts
    assert register(world, now=datetime(2026, 12, 31, 17, 0)).reference == "TS-2027-00001"


def test_a_reference_taken_meanwhile_is_skipped(world, db, monkeypatch):
    taken = register(world).reference
    real, calls = intake.next_reference, []

    def racing(year):  # the first guess loses the race to a concurrent registration
        calls.append(year)
        return taken if len(calls) == 1 else real(year)

    monkeypatch.setattr(intake, "next_reference", racing)
    c = register(world)
    db.session.commit()
    assert c.reference == "TS-2026-00002" and len(calls) == 2
    assert db.session.scalar(select(func.count(Complaint.id))) == 2


def test_registration_starts_the_clock_audits_and_tells_the_desk(world, db):
    c = register(world)
    db.session.commit()
    assert c.state == "registered" and c.client_id == world["project"].client_id
    assert [(e.action, e.clock) for e in c.events] == [("registered", "start")]
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.object_type == "Complaint")) \
        == "complaint_registered"
    kinds = db.session.execute(select(Notification.user_id, Notification.kind)).all()
    assert kinds == [(world["quality"].id, "complaint_registered")]


def test_the_acknowledgement_carries_reference_next_step_and_time_limit(world, db):
    c = register(world)
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_addr == "li@example.cn"))
    assert c.reference in message.subject and c.reference in message.body
    # 24 working hours from Monday 09:00: Monday 9 h, Tuesday 9 h, Wednesday until 15:00 (Chinese default)
    assert "2026-06-03 15:00" in message.body and "质量" in message.body


def test_the_acknowledgement_is_in_the_contacts_language(world, db, make):
    contact = make.contact(world["project"].client, email="ann@example.com", language="en")
    c = register(world, contact=contact)
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_addr == "ann@example.com"))
    assert "reference " + c.reference in message.body


def test_no_address_no_acknowledgement(world, db):
    register(world, contact=None, complainant_name="王先生", complainant_phone="13800000000")
    assert db.session.scalar(select(func.count(OutboxMessage.id))
                             .where(OutboxMessage.subject.contains("TS-2026-00001"))) == 0


def test_a_major_complaint_notifies_the_executives_at_once(world, db):
    register(world, major=True)
    assert db.session.scalar(select(Notification.kind).where(Notification.user_id == world["exec"].id)) \
        == "complaint_major"


def test_the_public_form_registers_without_a_user(world, db):
    c = svc.register_complaint(channel="web_form", description="网站提交的投诉", complainant_name="匿名客户",
                               complainant_email="guest@example.cn", now=MONDAY)
    db.session.commit()
    assert c.registered_by_id is None and c.events[0].actor_id is None
    assert db.session.scalar(select(OutboxMessage.subject)
                             .where(OutboxMessage.to_addr == "guest@example.cn")).endswith(c.reference)


def test_only_the_public_form_goes_without_a_staff_member(world, db):
    with pytest.raises(PermissionError):
        register(world, by_user=None)


@pytest.mark.parametrize("change, field", [
    ({"channel": "fax"}, "channel"),
    ({"description": "  "}, "description"),
    ({"description": "长" * 4001}, "description"),
    ({"contact": None}, "complainant_name"),
    ({"contact": None, "complainant_name": "王先生"}, "complainant_name"),
    ({"contact": None, "complainant_name": "王", "complainant_email": "not-an-address"}, "complainant_email"),
    ({"direction": "weather"}, "direction"),
    ({"problem_type": "rumour"}, "problem_type"),
])
def test_intake_refuses_what_is_incomplete_or_wrong(world, db, change, field):
    with pytest.raises(DomainError) as error:
        register(world, **change)
    assert error.value.field == field


def test_a_project_implies_its_client(world, db, make):
    with pytest.raises(DomainError) as error:
        register(world, contact=None, complainant_name="王", complainant_phone="1", client=make.client())
    assert error.value.field == "project"
    c = register(world, contact=None, complainant_name="王", complainant_phone="1")
    assert c.client_id == world["project"].client_id


def test_evidence_is_checked_by_content_and_stored(world, db):
    recording = svc.read_evidence(io.BytesIO(b"ID3\x04\x00" + b"\x00" * 64), "通话录音.mp3", 1024)
    wav = svc.read_evidence(io.BytesIO(b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 32), "x.wav", 1024)
    assert (recording.content_type, wav.content_type) == ("audio/mpeg", "audio/wav")
    with pytest.raises(DomainError):
        svc.read_evidence(io.BytesIO(b"MZ\x90\x00 not evidence"), "setup.mp3", 1024)
    with pytest.raises(DomainError):
        svc.read_evidence(io.BytesIO(b"ID3" + b"\x00" * 2000), "big.mp3", 1024)
    c = register(world, evidence=[recording, wav])
    assert [(a.original_name, a.content_type) for a in c.attachments] == [
        ("通话录音.mp3", "audio/mpeg"), ("x.wav", "audio/wav")]


def _response(world, make, answers):
    version = make.template_version()
    parsed = parse_answers(version, {"q_attitude": "5", "q_timeliness": "5", "q_technical": "10", **answers},
                           complete=True)
    assert parsed.ok, parsed.errors
    return submit_response(version, parsed, channel="paper", project=world["project"], contact=world["contact"],
                           entered_by=world["pm"])


def test_a_survey_comment_becomes_a_complaint_once(world, db, make):
    response = _response(world, make, {"q_opinion": "工程师态度很差"})
    c = svc.complaint_from_response(response, world["quality"])
    db.session.commit()
    assert (c.channel, c.response_id, c.contact_id, c.project_id) == (
        "survey", response.id, world["contact"].id, world["project"].id)
    assert c.description == "工程师态度很差"
    assert svc.complaint_from_response(response, world["quality"]).id == c.id
    assert db.session.scalar(select(func.count(Complaint.id))) == 1


def test_a_low_score_becomes_the_complaints_description(world, db, make):
    response = _response(world, make, {"q_attitude": "1"})
    c = svc.complaint_from_response(response, world["quality"])
    assert "服务态度" in c.description


# --- the transition table ----------------------------------------------------------------------------

def test_every_step_not_in_the_table_is_refused(world, db):
    everyone = world["quality"]
    everyone.set_roles(("quality", "exec"))
    world["department"].head = everyone
    db.session.commit()
    c = register(world)
    c.department, c.owner = world["department"], everyone
    db.session.commit()
    for state in COMPLAINT_STATES:
        for action in svc.ACTIONS:
            if (state, action) in svc.TRANSITIONS:
                continue
            c.state = state
            db.session.commit()
            assert svc.may_act(everyone, c, action), action
            with pytest.raises(DomainError):
                step(c, action, everyone)
            db.session.rollback()


def test_the_table_knows_only_the_models_states():
    assert {s for s, _a in svc.TRANSITIONS} | set(svc.TRANSITIONS.values()) <= set(COMPLAINT_STATES)
    assert set(svc.ACTOR_OF) == set(svc.ACTIONS)


def test_a_complaint_runs_from_registration_to_closed_and_reopened(world, db):
    c = to_state(world, "closed", kind="compensation", amount="800", text="赔偿800元")
    db.session.commit()
    assert c.state == "closed" and c.closed_at is not None and c.approved_by_id == world["exec"].id
    step(c, "reopen", world["quality"], reason="客户不认可")
    assert (c.state, c.reopen_count, c.closed_at) == ("reopened", 1, None)
    assert [(e.action, e.clock) for e in c.events] == [
        ("registered", "start"), ("accept", None), ("assign", None), ("investigate", None),
        ("propose_remedy", None), ("approve", None), ("notify_client", "stop"), ("close", None),
        ("reopen", "resume")]
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "Complaint")))
    assert {"complaint_assign", "complaint_approve", "complaint_reopen"} <= actions


def test_the_owner_is_told_when_assigned(world, db):
    to_state(world, "assigned")
    assert db.session.scalar(select(Notification.kind).where(Notification.user_id == world["owner"].id)) \
        == "complaint_assigned"


def test_judged_invalid_the_complainant_gets_the_explanation(world, db):
    c = register(world)
    with pytest.raises(DomainError):
        step(c, "judge_invalid", world["quality"], reason=" ")
    step(c, "judge_invalid", world["quality"], reason="所述事项不属于我司服务范围")
    assert c.state == "invalid" and c.events[-1].clock == "stop"
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_addr == "li@example.cn",
                                                            OutboxMessage.body.contains("不属于")))
    assert message.to_addr == "li@example.cn" and "不属于我司服务范围" in message.body


def test_the_owner_must_belong_to_the_department(world, db):
    c = to_state(world, "accepted")
    with pytest.raises(DomainError) as error:
        step(c, "assign", world["quality"], department=world["department"], owner=world["outsider"])
    assert error.value.field == "owner"
    step(c, "assign", world["quality"], department=world["department"], owner=world["head"])  # the head may own
    assert c.owner_id == world["head"].id


def test_compensation_needs_an_amount(world, db):
    c = to_state(world, "investigated")
    with pytest.raises(DomainError) as error:
        step(c, "propose_remedy", world["owner"], kind="compensation", text="赔偿")
    assert error.value.field == "amount"


@pytest.mark.parametrize("action, who, state", [
    ("accept", "owner", "registered"), ("accept", "exec", "registered"),
    ("assign", "head", "accepted"),
    ("investigate", "outsider", "assigned"), ("investigate", "quality", "assigned"),
    ("propose_remedy", "pm", "investigated"),
    ("approve", "owner", "remedy_proposed"), ("approve", "quality", "remedy_proposed"),
    ("notify_client", "sales", "approved"),
    ("reopen", "owner", "closed"),
])
def test_only_the_named_actor_takes_a_step(world, db, action, who, state):
    c = to_state(world, state)
    with pytest.raises(PermissionError):
        step(c, action, world[who])


@pytest.mark.parametrize("amount, head_may", [("5000", True), ("5000.01", False)])
def test_a_department_head_approves_up_to_the_threshold_only(world, db, amount, head_may):
    c = to_state(world, "remedy_proposed", kind="compensation", amount=amount, text="赔偿")
    assert svc.may_act(world["head"], c, "approve") is head_may
    assert svc.may_act(world["exec"], c, "approve")
    if head_may:
        step(c, "approve", world["head"])
        assert c.approved_by_id == world["head"].id
    else:
        with pytest.raises(PermissionError):
            step(c, "approve", world["head"])


def test_an_approver_sends_a_remedy_back_and_the_handler_proposes_another(world, db):
    c = to_state(world, "remedy_proposed", kind="compensation", amount="800", text="赔偿800元")
    with pytest.raises(DomainError) as error:
        step(c, "send_back", world["head"], reason=" ")
    assert error.value.field == "reason"
    step(c, "send_back", world["head"], reason="金额不足以弥补停机损失")
    assert c.state == "investigated" and c.approved_by_id is None
    told = db.session.scalars(select(Notification).where(Notification.kind == "complaint_sent_back")).all()
    assert [n.user_id for n in told] == [world["owner"].id] and "金额不足" in told[0].body
    with pytest.raises(DomainError):
        step(c, "approve", world["exec"])  # nothing proposed any more
    step(c, "propose_remedy", world["owner"], kind="compensation", amount="2000", text="赔偿2000元")
    step(c, "approve", world["head"])
    assert [(e.action, e.from_state, e.to_state) for e in c.events][-4:] == [
        ("propose_remedy", "investigated", "remedy_proposed"),
        ("send_back", "remedy_proposed", "investigated"),
        ("propose_remedy", "investigated", "remedy_proposed"), ("approve", "remedy_proposed", "approved")]
    assert c.events[-3].note == "金额不足以弥补停机损失"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "complaint_send_back")) == 1


@pytest.mark.parametrize("amount, head_may", [("5000", True), ("5000.01", False)])
def test_only_an_approver_of_the_remedy_sends_it_back(world, db, amount, head_may):
    c = to_state(world, "remedy_proposed", kind="compensation", amount=amount, text="赔偿")
    assert svc.may_act(world["head"], c, "send_back") is head_may
    assert svc.may_act(world["exec"], c, "send_back")
    for who in ("owner", "quality", "pm", "outsider"):
        with pytest.raises(PermissionError):
            step(c, "send_back", world[who], reason="不行")


def test_the_threshold_comes_from_the_settings(world, db):
    c = to_state(world, "remedy_proposed", kind="compensation", amount="3000", text="赔偿")
    set_setting("complaints.exec_approval_amount", 2000.0, actor=world["quality"])
    assert not svc.may_act(world["head"], c, "approve")


def test_a_compensation_above_the_threshold_goes_to_the_executives(world, db):
    to_state(world, "remedy_proposed", kind="compensation", amount="9000", text="赔偿")
    told = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == "complaint_to_approve")))
    assert told == {world["exec"].id}


def test_a_stale_version_is_refused(world, db):
    c = register(world)
    db.session.commit()
    with pytest.raises(svc.ChangedMeanwhile):
        svc.apply(c, "accept", actor=world["quality"], expected_version=c.version - 1)


def test_allowed_actions_follow_state_and_actor(world, db):
    c = to_state(world, "assigned")
    assert "investigate" in svc.allowed_actions(world["owner"], c)
    assert "investigate" not in svc.allowed_actions(world["quality"], c)
    assert "record_contact" in svc.allowed_actions(world["quality"], c)


# --- who sees what -----------------------------------------------------------------------------------

def test_who_sees_which_complaint(world, db, make):
    c = to_state(world, "assigned")
    elsewhere = register(world, project=make.project(), contact=None, complainant_name="王",
                         complainant_phone="1")
    colleague = make.user("c_colleague", roles=("pm",))  # a member of the department who does not own it
    db.session.add(DepartmentMember(department=world["department"], user=colleague))
    db.session.commit()
    world["colleague"] = colleague
    seen = {}
    for name in ("quality", "exec", "head", "owner", "colleague", "outsider", "pm", "sales"):
        user = world[name]
        seen[name] = list(db.session.scalars(select(Complaint.id).where(svc.complaint_scope(user))
                                             .order_by(Complaint.id)))
        assert seen[name] == [x.id for x in (c, elsewhere) if svc.can_view(user, x)], name
    assert seen["quality"] == seen["exec"] == [c.id, elsewhere.id]
    assert seen["head"] == seen["owner"] == seen["colleague"] == seen["pm"] == seen["sales"] == [c.id]
    assert seen["outsider"] == []


def test_a_pm_of_another_project_sees_nothing(world, db, make):
    register(world)
    other_pm = make.user("c_pm2", roles=("pm",))
    assert db.session.scalars(select(Complaint.id).where(svc.complaint_scope(other_pm))).all() == []
