"""Follow-ups (DESIGN §4.4): what opens one, the one transition table, who takes which step,
the optimistic check, due dates in working days, and the daily overdue reminder."""
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from portal.models import FOLLOWUP_STATES, Department, DepartmentMember, FollowUp, FollowUpEvent, Notification
from portal.services import DomainError
from portal.services import followups as svc
from portal.services.answers import parse_answers
from portal.services.hooks import response_submitted
from portal.services.responses import submit_response
from portal.services.settings import set_setting
from portal.services.working_days import add_working_days

GOOD = {"q_attitude": "5", "q_timeliness": "5", "q_technical": "10"}


@pytest.fixture
def world(make, db):
    pm = make.user("fu_pm", roles=("pm",))
    world = {"pm": pm, "project": make.project(pm=pm), "version": make.template_version(),
             "other_pm": make.user("fu_pm2", roles=("pm",)), "pmo": make.user("fu_pmo", roles=("pmo",)),
             "exec": make.user("fu_exec", roles=("exec",)), "exec2": make.user("fu_exec2", roles=("exec",)),
             "sales": make.user("fu_sales", roles=("sales",)), "quality": make.user("fu_q", roles=("quality",)),
             "admin": make.user("fu_admin", roles=("admin",)),
             # a department's head and member hold roles that see no follow-up of their own
             "head": make.user("fu_head", roles=("admin",)), "member": make.user("fu_member", roles=("sales",))}
    world["dept"] = Department(name="备件管理部", head=world["head"],
                               memberships=[DepartmentMember(user=world["member"])])
    world["dept2"] = Department(name="实施部")
    db.session.add_all([world["dept"], world["dept2"]])
    db.session.commit()
    return world


def submit(world, answers, submitted_at=None):
    parsed = parse_answers(world["version"], {**GOOD, **answers}, complete=True)
    assert parsed.ok, parsed.errors
    return submit_response(world["version"], parsed, channel="paper", project=world["project"],
                           entered_by=world["pm"], submitted_at=submitted_at)


def followup_of(response):
    return svc.db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))


def count_followups():
    return svc.db.session.scalar(select(func.count(FollowUp.id)))


# --- what opens a follow-up ----------------------------------------------------------------

def test_a_comment_alone_opens_a_followup_for_the_pm(world, db):
    response = submit(world, {"q_opinion": "希望响应更快"})
    db.session.commit()
    f = followup_of(response)
    assert f.owner_id == world["pm"].id and f.state == "open" and f.project_id == world["project"].id
    assert [(t["reason"], t["code"], t["answer"]) for t in f.triggers] == [("comment", "opinion", "希望响应更快")]
    assert [e.action for e in f.events] == ["opened"]
    assert db.session.scalar(select(Notification.kind).where(Notification.user_id == world["pm"].id)) \
        == "followup_opened"


def test_a_low_score_alone_opens_a_followup(world, db):
    f = followup_of(submit(world, {"q_attitude": "3"}))
    assert [(t["reason"], t["code"], t["normalized"]) for t in f.triggers] == [("low_score", "attitude", 3.0)]


def test_comment_and_low_score_are_both_triggers(world, db):
    f = followup_of(submit(world, {"q_attitude": "2", "q_technical": "1", "q_opinion": "差"}))
    assert sorted((t["reason"], t["code"]) for t in f.triggers) == [
        ("comment", "opinion"), ("low_score", "attitude"), ("low_score", "technical")]


def test_good_scores_and_no_comment_open_nothing(world, db):
    assert followup_of(submit(world, {"q_attitude": "4", "q_opinion": "   "})) is None


def test_not_applicable_never_triggers(world, db):
    assert followup_of(submit(world, {"q_timeliness": "na"})) is None


def test_the_threshold_comes_from_the_settings(world, db):
    set_setting("followup.low_score_threshold", 2.0, actor=world["quality"])
    assert followup_of(submit(world, {"q_attitude": "3"})) is None
    assert followup_of(submit(world, {"q_attitude": "2"})) is not None


def test_the_hook_opens_exactly_one_followup_per_response(world, db):
    response = submit(world, {"q_opinion": "意见"})
    response_submitted.send(response)
    assert svc.open_for_response(response).id == followup_of(response).id
    db.session.commit()
    assert count_followups() == 1


def test_due_date_counts_working_days_from_the_local_submission_date(world, db):
    # 30 Sep 2026, 10:00 in Shanghai: the National Day holidays lie within the ten working days
    f = followup_of(submit(world, {"q_opinion": "意见"}, submitted_at=datetime(2026, 9, 30, 2, 0)))
    assert f.due_on == add_working_days(date(2026, 9, 30), 10)
    assert (f.due_on - date(2026, 9, 30)).days > 14
    assert f.due_calendar_missing is None


def test_an_unknown_calendar_year_keeps_the_followup_without_a_due_date(world, db):
    f = followup_of(submit(world, {"q_opinion": "意见"}, submitted_at=datetime(2099, 6, 1, 2, 0)))
    db.session.commit()
    assert f is not None and f.due_on is None and f.due_calendar_missing == 2099
    assert not svc.is_overdue(f, date(2100, 1, 1))


# --- the transition table ------------------------------------------------------------------

def fields_for(action, world):
    return {"classify": {"direction": "technical", "problem_type": "complaint"},
            "record_contact": {"how": "phone", "note": "已回电"},
            "record_cause_and_actions": {"cause": "备件不足", "corrective_action": "补货",
                                         "preventive_action": "安全库存"},
            "escalate": {"to": world["exec"].id, "reason": "需要领导协调"},
            "answer_escalation": {"answer": "已协调厂商"},
            "resolve": {}, "verify": {}, "reopen": {"reason": "客户再次投诉"},
            "route": {"department": world["dept"].id}}[action]


def actor_for(action, world):
    return {"owner": world["pm"], "escalated_to": world["exec"], "pmo": world["pmo"],
            "owner_or_pmo": world["pm"]}[svc.ACTOR_OF[action]]


def actors_for(action, world):
    """Everyone who takes ``action`` in the world (routing: the owner and PMO)."""
    return {"owner_or_pmo": {"pm", "pmo"}}.get(svc.ACTOR_OF[action]) or {
        name for name in world if world[name] is actor_for(action, world)}


def ready_followup(world, db, state):
    """A follow-up in ``state`` with everything resolve needs already recorded."""
    f = followup_of(submit(world, {"q_opinion": "意见"}))
    f.state, f.contacted_at, f.contact_how = state, datetime(2026, 3, 1), "phone"
    f.cause = f.corrective_action = f.preventive_action = "x"
    f.direction, f.problem_type = "technical", "complaint"
    f.escalated_to_id = world["exec"].id
    db.session.commit()
    return f


@pytest.mark.parametrize("state", FOLLOWUP_STATES)
@pytest.mark.parametrize("action", svc.ACTIONS)
def test_every_state_and_action_follows_the_table(world, db, state, action):
    f = ready_followup(world, db, state)
    run = lambda: svc.apply(f, action, actor=actor_for(action, world), expected_version=f.version,
                            **fields_for(action, world))
    if (state, action) in svc.TRANSITIONS:
        run()
        db.session.commit()
        assert f.state == svc.TRANSITIONS[(state, action)]
        event = f.events[-1]
        assert (event.action, event.from_state, event.to_state) == (action, state, f.state)
    else:
        version = f.version
        with pytest.raises(DomainError):
            run()
        db.session.rollback()
        assert f.state == state and f.version == version


@pytest.mark.parametrize("action", svc.ACTIONS)
def test_only_the_owner_the_chosen_exec_or_pmo_takes_each_step(world, db, action):
    state = next(s for s, a in svc.TRANSITIONS if a == action)
    f = ready_followup(world, db, state)
    f.department_id = world["dept2"].id  # routed elsewhere: a department's people take no step either
    db.session.commit()
    rights = actors_for(action, world)
    for wrong in ("pm", "other_pm", "pmo", "exec", "exec2", "sales", "quality", "admin", "head", "member"):
        if wrong in rights:
            continue
        assert not svc.may_act(world[wrong], f, action)
        with pytest.raises(PermissionError):
            svc.apply(f, action, actor=world[wrong], expected_version=f.version, **fields_for(action, world))
    for right in rights:
        assert svc.allowed_actions(world[right], f).count(action) == 1


def test_a_stale_version_is_refused_as_changed_meanwhile(world, db):
    f = ready_followup(world, db, "open")
    seen = f.version
    svc.apply(f, "classify", actor=world["pm"], expected_version=seen, direction="technical")
    db.session.commit()
    assert f.version == seen + 1
    with pytest.raises(svc.ChangedMeanwhile):
        svc.apply(f, "record_contact", actor=world["pm"], expected_version=seen, how="phone")
    assert f.state == "open"


def test_a_concurrent_write_between_read_and_flush_is_changed_meanwhile(world, db):
    from sqlalchemy import update
    f = ready_followup(world, db, "open")
    db.session.execute(update(FollowUp).where(FollowUp.id == f.id).values(version=FollowUp.version + 1)
                       .execution_options(synchronize_session=False))
    with pytest.raises(svc.ChangedMeanwhile):
        svc.apply(f, "record_contact", actor=world["pm"], expected_version=f.version, how="phone")


def test_the_whole_loop_with_escalation_and_two_reopenings(world, db):
    f = followup_of(submit(world, {"q_attitude": "1"}))

    def step(action, actor, **fields):
        svc.apply(f, action, actor=actor, expected_version=f.version, **fields)
        db.session.commit()

    step("escalate", world["pm"], to=world["exec2"].id, reason="需协调")
    assert not svc.may_act(world["exec"], f, "answer_escalation")
    step("answer_escalation", world["exec2"], answer="已向客户说明")
    step("record_contact", world["pm"], how="visit")
    step("record_cause_and_actions", world["pm"], cause="c", corrective_action="a", preventive_action="p")
    with pytest.raises(DomainError, match="Classify|分类"):
        step("resolve", world["pm"])  # sort the problem first (DESIGN §4.1.6)
    db.session.rollback()
    step("classify", world["pm"], direction="attitude", problem_type="complaint")
    step("resolve", world["pm"])
    step("reopen", world["pmo"], reason="客户不满意")
    assert (f.state, f.reopen_count, f.resolved_at) == ("reopened", 1, None)
    with pytest.raises(DomainError):
        step("resolve", world["pm"])  # contact the client again first
    db.session.rollback()
    step("record_contact", world["pm"], how="phone")
    step("resolve", world["pm"])
    step("verify", world["pmo"])
    assert f.state == "closed" and f.verified_by_id == world["pmo"].id
    step("reopen", world["pmo"], reason="又出问题")
    assert f.reopen_count == 2
    kinds = {(n.user_id, n.kind) for n in db.session.scalars(select(Notification))}
    assert {(world["exec2"].id, "followup_escalated"), (world["pm"].id, "followup_answered"),
            (world["pmo"].id, "followup_resolved"), (world["pm"].id, "followup_reopened")} <= kinds
    actions = [e.action for e in db.session.scalars(select(FollowUpEvent).order_by(FollowUpEvent.id))]
    assert actions[0] == "opened" and actions.count("reopen") == 2


@pytest.mark.parametrize("action, fields, field", [
    ("record_cause_and_actions", {"cause": "c", "corrective_action": "", "preventive_action": "p"},
     "corrective_action"),
    ("record_contact", {"how": "carrier pigeon"}, "how"),
    ("classify", {"direction": "weather"}, "direction"),
    ("escalate", {"to": None, "reason": "r"}, "to"),
    ("escalate", {"to": "exec", "reason": " "}, "reason"),
])
def test_missing_or_unknown_values_are_field_errors(world, db, action, fields, field):
    f = ready_followup(world, db, "open")
    fields = {k: (world["exec"].id if v == "exec" else v) for k, v in fields.items()}
    with pytest.raises(DomainError) as error:
        svc.apply(f, action, actor=world["pm"], expected_version=f.version, **fields)
    assert error.value.field == field


def test_escalation_goes_only_to_the_chosen_recipients(world, db):
    set_setting("escalation.recipients", [world["exec2"].id], actor=world["admin"])
    assert [u.id for u in svc.escalation_recipients()] == [world["exec2"].id]
    f = ready_followup(world, db, "open")
    with pytest.raises(DomainError):
        svc.apply(f, "escalate", actor=world["pm"], expected_version=f.version, to=world["exec"].id, reason="r")


# --- lists, counts, overdue ----------------------------------------------------------------

def test_lists_are_scoped_and_home_counts_add_up(world, db):
    f = ready_followup(world, db, "escalated")
    f.due_on = date(2026, 1, 5)
    submit(world, {"q_opinion": "第二条"})
    db.session.commit()
    today = date(2026, 2, 1)
    assert svc.followups_page(world["pm"], svc.FollowUpFilters(), today=today).total == 2
    assert svc.followups_page(world["other_pm"], svc.FollowUpFilters(), today=today).total == 0
    assert svc.followups_page(world["sales"], svc.FollowUpFilters(), today=today).total == 0
    assert svc.followups_page(world["admin"], svc.FollowUpFilters(), today=today).total == 0
    assert svc.followups_page(world["quality"], svc.FollowUpFilters(overdue=True), today=today).total == 1
    assert svc.home_counts(world["pm"], today)["pm"] == {"open": 2, "overdue": 1, "reopened": 0}
    assert svc.home_counts(world["pmo"], today)["pmo"] == {"overdue": 1, "escalated": 1, "to_verify": 0,
                                                        "reopened_often": 0}
    assert svc.home_counts(world["exec"], today)["exec"] == {"escalated": 1}
    assert svc.home_counts(world["exec2"], today)["exec"] == {"escalated": 0}


def test_resolved_is_not_overdue_for_the_pm(world, db):
    f = ready_followup(world, db, "resolved")
    f.due_on = date(2026, 1, 5)
    assert not svc.is_overdue(f, date(2026, 2, 1))
    f.state = "contacted"
    assert svc.is_overdue(f, date(2026, 2, 1)) and not svc.is_overdue(f, date(2026, 1, 5))


def test_overdue_reminders_go_out_once_a_day(world, db):
    f = ready_followup(world, db, "open")
    f.due_on = date(2026, 1, 5)
    db.session.commit()
    before = db.session.scalar(select(func.count(Notification.id)))
    assert svc.notify_overdue(date(2026, 2, 1)) == {"overdue": 1, "owners": 1, "due_dates_filled": 0}
    db.session.commit()
    kinds = [(n.user_id, n.kind) for n in db.session.scalars(
        select(Notification).where(Notification.kind == "followup_overdue"))]
    assert sorted(kinds) == sorted([(world["pm"].id, "followup_overdue"), (world["pmo"].id, "followup_overdue")])
    assert svc.notify_overdue(date(2026, 2, 1))["overdue"] == 0
    db.session.commit()
    assert db.session.scalar(select(func.count(Notification.id))) == before + 2
    assert svc.notify_overdue(date(2026, 2, 2))["overdue"] == 1  # the next day: again


# --- routed to a department ----------------------------------------------------------------

def test_routing_tells_the_department_and_puts_it_on_the_timeline(world, db):
    f = ready_followup(world, db, "contacted")
    svc.apply(f, "route", actor=world["pm"], expected_version=f.version, department=world["dept"].id,
              note="备件到货周期过长，请备件部处理")
    db.session.commit()
    assert (f.state, f.department_id, f.owner_id) == ("contacted", world["dept"].id, world["pm"].id)
    assert f.events[-1].action == "route" and f.events[-1].note == "备件管理部: 备件到货周期过长，请备件部处理"
    told = {n.user_id for n in db.session.scalars(select(Notification).where(Notification.kind == "followup_routed"))}
    assert told == {world["head"].id, world["member"].id}


def test_routing_needs_another_active_department(world, db):
    f = ready_followup(world, db, "open")
    for department in (None, 999999):
        with pytest.raises(DomainError) as error:
            svc.apply(f, "route", actor=world["pmo"], expected_version=f.version, department=department)
        assert error.value.field == "department"
    svc.apply(f, "route", actor=world["pmo"], expected_version=f.version, department=world["dept"])
    db.session.commit()
    with pytest.raises(DomainError, match="already|已"):
        svc.apply(f, "route", actor=world["pmo"], expected_version=f.version, department=world["dept"].id)
    db.session.rollback()
    world["dept2"].active = False
    db.session.commit()
    with pytest.raises(DomainError):
        svc.apply(f, "route", actor=world["pmo"], expected_version=f.version, department=world["dept2"].id)


def test_a_departments_people_see_its_queue_and_nothing_else(world, db, make):
    routed, elsewhere, kept = (ready_followup(world, db, "open") for _ in range(3))
    routed.department_id, elsewhere.department_id = world["dept"].id, world["dept2"].id
    routed.due_on = date(2026, 1, 5)
    outsider = make.user("fu_outsider", roles=("sales",))
    db.session.commit()
    today = date(2026, 2, 1)
    for name in ("head", "member"):
        user = world[name]
        page = svc.followups_page(user, svc.FollowUpFilters(), today=today)
        assert [x.id for x in page.items] == [routed.id], name
        assert [svc.can_view(user, x) for x in (routed, elsewhere, kept)] == [True, False, False]
        assert svc.home_counts(user, today)["department"] == {"active": 1, "overdue": 1}
    assert svc.followups_page(outsider, svc.FollowUpFilters(), today=today).total == 0
    assert not svc.can_view(outsider, routed) and "department" not in svc.home_counts(outsider, today)
    # the PM's list keeps everything of theirs; "my departments" narrows a wide reader to their queue
    assert svc.followups_page(world["pm"], svc.FollowUpFilters(), today=today).total == 3
    world["dept"].memberships.append(DepartmentMember(user=world["pmo"]))
    db.session.commit()
    mine = svc.followups_page(world["pmo"], svc.FollowUpFilters(my_departments=True), today=today)
    assert [x.id for x in mine.items] == [routed.id]
    by_id = svc.followups_page(world["quality"], svc.FollowUpFilters(department_id=world["dept2"].id), today=today)
    assert [x.id for x in by_id.items] == [elsewhere.id]
