"""Improvement plans (DESIGN §4.8): creating a plan with its items, who may take which step, the
version check, checks due 30/60/90 days (settings) after the measures, close refused until a check
found them effective, revision rescheduling the checks, the scope, the figures before/after against
hand-computed numbers, and `flask improvement-checks` telling once per check."""
from datetime import date, datetime, time, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from portal.models import (
    Answer,
    AuditEvent,
    Complaint,
    Department,
    DepartmentMember,
    FollowUp,
    ImprovementCheck,
    ImprovementPlan,
    Notification,
    Response,
)
from portal.services import DomainError
from portal.services import improvement as svc
from portal.services.quarters import local_today
from portal.services.settings import set_setting

_refs = iter(range(1, 10_000))


def at_noon(day):
    """Noon in the portal's zone (UTC+8) as the naive UTC the models store: safely inside ``day``."""
    return datetime.combine(day, time(4, 0))


def response_for(db, project, version, *, score, on, status="authentic", dimension_score=None):
    """A response of ``project`` submitted ``on`` with ``score`` (and, if given, the normalized value of
    its attitude question), stored directly so no hook opens a follow-up."""
    r = Response(template_version_id=version.id, project_id=project.id, quarter="2026Q4", channel="online",
                 score=score, verification_status=status, submitted_at=at_noon(on))
    db.session.add(r)
    db.session.flush()
    if dimension_score is not None:
        question = next(q for q in version.questions if q.dimension == "attitude")
        db.session.add(Answer(response_id=r.id, question_id=question.id, raw_value=1, normalized=dimension_score))
    db.session.flush()
    return r


def followup_for(db, project, version, *, on=None, state="open"):
    r = response_for(db, project, version, score=None, on=on or local_today(), status="pending")
    f = FollowUp(response_id=r.id, project_id=project.id, owner_id=project.pm_id, state=state, triggers=[],
                 created_at=at_noon(on or local_today()))
    db.session.add(f)
    db.session.flush()
    return f


def complaint_for(db, project, *, on=None, state="registered", department=None):
    c = Complaint(reference=f"TS-2026-{next(_refs):05d}", channel="phone", state=state, description="投诉",
                  project_id=project.id if project else None, client_id=project.client_id if project else None,
                  department_id=department.id if department else None, created_at=at_noon(on or local_today()))
    db.session.add(c)
    db.session.flush()
    return c


def build_world(make, db):
    """Quality, PMO, exec, admin; a department (head: a PM, members a salesperson and a PM) and
    another one; an outsider PM; one project with two follow-ups and a complaint."""
    w = dict(
        quality=make.user("i_quality", roles=("quality",)), pmo=make.user("i_pmo", roles=("pmo",)),
        exec=make.user("i_exec", roles=("exec",)), admin=make.user("i_admin", roles=("admin",)),
        head=make.user("i_head", roles=("pm",)), member=make.user("i_member", roles=("sales",)),
        member_pm=make.user("i_member_pm", roles=("pm",)), outsider=make.user("i_outsider", roles=("pm",)),
        other_head=make.user("i_other_head", roles=("pm",)))
    w["project"] = make.project(pm=w["member_pm"])
    w["version"] = make.template_version()
    dept = Department(name="服务改进部", head=w["head"])
    other = Department(name="销售部", head=w["other_head"])
    db.session.add_all([dept, other])
    db.session.flush()
    db.session.add_all([DepartmentMember(department=dept, user=w["member"]),
                        DepartmentMember(department=dept, user=w["member_pm"])])
    w["department"], w["other_department"] = dept, other
    w["followup"] = followup_for(db, w["project"], w["version"])
    w["followup2"] = followup_for(db, w["project"], w["version"])
    w["complaint"] = complaint_for(db, w["project"], department=dept)  # routed to the department: its head sees it
    db.session.commit()
    return w


@pytest.fixture(autouse=True)
def _messages_in_english(db):
    """The refusals are matched by their English text (the portal's default language is Chinese)."""
    with force_locale("en"):
        yield


@pytest.fixture
def world(make, db):
    return build_world(make, db)


def new_plan(w, db, *, actor=None, items=None, **kw):
    values = dict(title="到场不及时", goal="三个月内按时到场率达到 95%", measures="排班表每周复核；超时预警",
                  root_cause="operations", department=w["department"], responsible=w["member"],
                  due_on=local_today() + timedelta(days=30))
    values.update(kw)
    plan = svc.create_plan(actor=actor or w["quality"],
                           items=items if items is not None else [w["followup"], w["complaint"]], **values)
    db.session.commit()
    return plan


def done(plan, w, db, *, on=None, actor=None):
    svc.mark_measures_done(plan, actor=actor or w["member"], expected_version=plan.version,
                           on=on or local_today())
    db.session.commit()
    return plan


# --- creating a plan -----------------------------------------------------------------------------

def test_a_plan_groups_items_and_tells_the_responsible_person(world, db):
    plan = new_plan(world, db, dimension="timeliness")
    assert plan.state == "open" and plan.revision == 0 and plan.version == 1
    assert {i.followup_id for i in plan.items} == {world["followup"].id, None}
    assert {i.complaint_id for i in plan.items} == {world["complaint"].id, None}
    [note] = db.session.scalars(select(Notification).where(Notification.user_id == world["member"].id)).all()
    assert note.kind == "improvement_assigned" and note.link == f"/improvement/{plan.id}"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "improvement_create"))
    assert event.object_id == str(plan.id) and event.user_id == world["quality"].id


@pytest.mark.parametrize("field, value", [
    ("title", ""), ("goal", " "), ("measures", ""), ("root_cause", "weather"), ("dimension", "mood"),
    ("due_on", date(2020, 1, 1)), ("due_on", None)])
def test_a_plan_needs_its_fields(world, db, field, value):
    with pytest.raises(DomainError) as error:
        new_plan(world, db, **{field: value})
    assert error.value.field == field


def test_the_responsible_person_is_the_heads_or_a_member(world, db):
    with pytest.raises(DomainError) as error:
        new_plan(world, db, responsible=world["outsider"])
    assert error.value.field == "responsible"
    assert new_plan(world, db, responsible=world["head"], items=[world["followup"]]).responsible_id == world["head"].id


def test_a_plan_groups_at_least_one_item(world, db):
    with pytest.raises(DomainError) as error:
        new_plan(world, db, items=[])
    assert error.value.field == "items"


def test_an_item_is_in_one_plan_until_that_plan_is_closed(world, db):
    first = new_plan(world, db, items=[world["followup"]])
    with pytest.raises(DomainError, match="already"):
        new_plan(world, db, items=[world["followup"]])
    db.session.rollback()
    first.state = "closed"  # as if closed (the path to it is tested below)
    db.session.commit()
    second = new_plan(world, db, items=[world["followup"]])
    assert [p.id for p in svc.plans_of_item(followup=world["followup"])] == [second.id, first.id]


def test_the_creator_must_see_the_item(world, db):
    head = world["other_head"]  # a PM heading another department: not the follow-up's PM
    with pytest.raises(DomainError) as error:
        svc.create_plan(actor=head, items=[world["followup"]], title="t", goal="g", measures="m",
                        root_cause="service", department=world["other_department"], responsible=head,
                        due_on=local_today())
    assert error.value.field == "followup"


def test_who_may_create_a_plan(world, db):
    assert svc.may_create(world["quality"]) and svc.may_create(world["pmo"])
    assert svc.may_create(world["head"]) and not svc.may_create(world["member"])
    assert not svc.may_create(world["exec"]) and not svc.may_create(world["admin"])
    with pytest.raises(PermissionError):  # a head, for another department
        new_plan(world, db, actor=world["head"], department=world["other_department"],
                 responsible=world["other_head"])
    db.session.rollback()
    plan = new_plan(world, db, actor=world["head"], items=[world["complaint"]])
    assert plan.created_by_id == world["head"].id


# --- editing and items ---------------------------------------------------------------------------

def test_edit_while_open_with_the_version_seen(world, db):
    plan = new_plan(world, db)
    values = dict(title="新标题", goal=plan.goal, measures=plan.measures, root_cause="market", dimension=None,
                  department=world["department"].id, responsible=world["head"].id, due_on=plan.due_on)
    with pytest.raises(svc.ChangedMeanwhile):
        svc.edit_plan(plan, actor=world["pmo"], expected_version=plan.version - 1, **values)
    db.session.rollback()
    svc.edit_plan(plan, actor=world["pmo"], expected_version=plan.version, **values)
    db.session.commit()
    assert plan.title == "新标题" and plan.root_cause == "market" and plan.version == 2
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == world["head"].id, Notification.kind == "improvement_assigned")) == 1
    with pytest.raises(PermissionError):
        svc.edit_plan(plan, actor=world["member"], expected_version=plan.version, **values)


def test_items_are_added_and_removed_while_open(world, db):
    plan = new_plan(world, db, items=[world["followup"]])
    item = svc.add_item(plan, actor=world["pmo"], expected_version=plan.version, followup=world["followup2"].id)
    db.session.commit()
    assert plan.version == 2 and len(plan.items) == 2
    with pytest.raises(DomainError, match="already"):
        svc.add_item(plan, actor=world["pmo"], expected_version=plan.version, followup=world["followup2"])
    db.session.rollback()
    with pytest.raises(svc.ChangedMeanwhile):
        svc.remove_item(plan, item, actor=world["head"], expected_version=1)
    db.session.rollback()
    svc.remove_item(plan, item, actor=world["head"], expected_version=plan.version)
    db.session.commit()
    assert [i.followup_id for i in plan.items] == [world["followup"].id]
    with pytest.raises(DomainError, match="at least one"):
        svc.remove_item(plan, plan.items[0], actor=world["head"], expected_version=plan.version)
    db.session.rollback()
    done(plan, world, db)
    with pytest.raises(DomainError, match="under way"):
        svc.add_item(plan, actor=world["quality"], expected_version=plan.version, complaint=world["complaint"])


def test_members_may_not_group_items(world, db):
    plan = new_plan(world, db, items=[world["followup"]])
    with pytest.raises(PermissionError):
        svc.add_item(plan, actor=world["member"], expected_version=plan.version, complaint=world["complaint"])


# --- measures done and the checks ----------------------------------------------------------------

def test_measures_done_schedules_checks_at_the_settings_days(world, db):
    set_setting("improvement.check_2_days", 45, actor=world["admin"])
    db.session.commit()
    plan = new_plan(world, db)
    on = local_today() - timedelta(days=3)
    done(plan, world, db, on=on)
    assert plan.state == "measures_done" and plan.measures_done_on == on
    assert [(c.revision, c.day_offset, c.due_on) for c in plan.checks] == [
        (0, 30, on + timedelta(days=30)), (0, 45, on + timedelta(days=45)), (0, 90, on + timedelta(days=90))]
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "improvement_mark_measures_done")) is not None


def test_measures_cannot_be_done_in_the_future_or_by_an_outsider(world, db):
    plan = new_plan(world, db)
    with pytest.raises(DomainError) as error:
        svc.mark_measures_done(plan, actor=world["member"], expected_version=plan.version,
                               on=local_today() + timedelta(days=1))
    assert error.value.field == "on"
    db.session.rollback()
    for user in ("outsider", "exec", "member_pm"):  # member_pm: a member, not the responsible person
        with pytest.raises(PermissionError):
            svc.mark_measures_done(plan, actor=world[user], expected_version=plan.version)
    assert not svc.may_mark_done(world["member_pm"], plan)
    assert all(svc.may_mark_done(world[u], plan) for u in ("member", "head", "quality", "pmo"))


def test_a_check_is_recorded_only_when_due_and_once(world, db):
    plan = new_plan(world, db)
    done(plan, world, db, on=local_today() - timedelta(days=30))
    first, second, _third = plan.checks
    with pytest.raises(DomainError, match="falls due"):
        svc.record_check(second, actor=world["quality"], expected_version=plan.version, result="effective")
    db.session.rollback()
    with pytest.raises(PermissionError):
        svc.record_check(first, actor=world["head"], expected_version=plan.version, result="effective")
    with pytest.raises(DomainError) as error:
        svc.record_check(first, actor=world["quality"], expected_version=plan.version, result="maybe")
    assert error.value.field == "result"
    db.session.rollback()
    with pytest.raises(DomainError) as error:  # "not effective" says why
        svc.record_check(first, actor=world["quality"], expected_version=plan.version, result="not_effective")
    assert error.value.field == "note"
    db.session.rollback()
    svc.record_check(first, actor=world["quality"], expected_version=plan.version, result="effective",
                     note="到场率 97%")
    db.session.commit()
    assert first.result == "effective" and first.checked_by_id == world["quality"].id
    assert first.figures["window_days"] == 30 and first.figures["followups_open"] == 1
    with pytest.raises(DomainError, match="already"):
        svc.record_check(first, actor=world["pmo"], expected_version=plan.version, result="effective")


def test_close_is_refused_until_a_check_found_it_effective(world, db):
    plan = new_plan(world, db)
    with pytest.raises(DomainError):
        svc.close_plan(plan, actor=world["quality"], expected_version=plan.version)  # still open
    db.session.rollback()
    done(plan, world, db, on=local_today() - timedelta(days=60))
    with pytest.raises(DomainError, match="until a check has recorded its effect as effective"):
        svc.close_plan(plan, actor=world["quality"], expected_version=plan.version)
    db.session.rollback()
    first, second, _ = plan.checks
    svc.record_check(first, actor=world["quality"], expected_version=plan.version, result="not_effective",
                     note="没有变化")
    db.session.commit()
    with pytest.raises(DomainError, match="until a check"):
        svc.close_plan(plan, actor=world["quality"], expected_version=plan.version)
    db.session.rollback()
    svc.record_check(second, actor=world["pmo"], expected_version=plan.version, result="effective", note="好转")
    db.session.commit()
    with pytest.raises(PermissionError):
        svc.close_plan(plan, actor=world["member"], expected_version=plan.version)
    with pytest.raises(svc.ChangedMeanwhile):
        svc.close_plan(plan, actor=world["head"], expected_version=plan.version - 1)
    db.session.rollback()
    svc.close_plan(plan, actor=world["head"], expected_version=plan.version)
    db.session.commit()
    assert plan.state == "closed" and plan.closed_by_id == world["head"].id and plan.closed_at is not None


def test_revise_after_a_check_without_effect_reschedules_for_the_new_revision(world, db):
    plan = new_plan(world, db)
    done(plan, world, db, on=local_today() - timedelta(days=30))
    with pytest.raises(DomainError, match="not effective"):  # nothing found it ineffective yet
        svc.revise_plan(plan, actor=world["quality"], expected_version=plan.version, measures="新措施",
                        reason="r", due_on=local_today())
    db.session.rollback()
    first = plan.checks[0]
    svc.record_check(first, actor=world["quality"], expected_version=plan.version, result="not_effective",
                     note="投诉仍然很多")
    db.session.commit()
    with pytest.raises(DomainError) as error:
        svc.revise_plan(plan, actor=world["quality"], expected_version=plan.version, measures="新措施",
                        reason="", due_on=local_today())
    assert error.value.field == "reason"
    db.session.rollback()
    svc.revise_plan(plan, actor=world["quality"], expected_version=plan.version, measures="增加夜班工程师",
                    reason="第一次检查无效果", due_on=local_today() + timedelta(days=20))
    db.session.commit()
    assert (plan.state, plan.revision, plan.measures, plan.measures_done_on) == ("open", 1, "增加夜班工程师", None)
    old = [c for c in plan.checks if c.revision == 0]
    assert len(old) == 3 and [c.result for c in old] == ["not_effective", None, None]  # history stays
    assert svc.due_checks(today=local_today() + timedelta(days=100)) == []  # the old ones are not due
    done(plan, world, db, on=local_today())
    new = [c for c in plan.checks if c.revision == 1]
    assert [(c.day_offset, c.due_on) for c in new] == [(d, local_today() + timedelta(days=d)) for d in (30, 60, 90)]
    later = local_today() + timedelta(days=30)
    assert [c.id for c in svc.due_checks(today=later)] == [new[0].id]
    with pytest.raises(DomainError, match="until a check"):  # the old revision's findings do not count
        svc.close_plan(plan, actor=world["quality"], expected_version=plan.version)
    db.session.rollback()
    with pytest.raises(DomainError, match="revised"):
        svc.record_check(old[1], actor=world["quality"], expected_version=plan.version, result="effective",
                         today=later + timedelta(days=60))
    db.session.rollback()
    svc.record_check(new[0], actor=world["quality"], expected_version=plan.version, result="effective", today=later)
    svc.close_plan(plan, actor=world["quality"], expected_version=plan.version)
    db.session.commit()
    assert plan.state == "closed"
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(plan.id),
                                                                 AuditEvent.object_type == "ImprovementPlan")
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["improvement_create", "improvement_mark_measures_done", "improvement_record_check",
                       "improvement_revise", "improvement_mark_measures_done", "improvement_record_check",
                       "improvement_close"]
    assert [e.action for e in svc.timeline_of(plan)][:2] == ["create", "mark_measures_done"]


# --- who sees what -------------------------------------------------------------------------------

def test_scope_wide_roles_the_department_and_the_responsible_person(world, db, make):
    plan = new_plan(world, db, items=[world["followup"]])
    other_resp = make.user("i_other_member", roles=("sales",))
    db.session.add(DepartmentMember(department=world["other_department"], user=other_resp))
    db.session.commit()
    other = new_plan(world, db, department=world["other_department"], responsible=other_resp,
                     items=[world["complaint"]])

    def visible(user):
        ids = set(db.session.scalars(select(ImprovementPlan.id).where(svc.plan_scope(user))))
        assert ids == {p.id for p in (plan, other) if svc.can_view(user, p)}  # SQL and Python agree
        return ids

    for name in ("quality", "pmo", "exec", "admin"):
        assert visible(world[name]) == {plan.id, other.id}
    for name in ("head", "member", "member_pm"):
        assert visible(world[name]) == {plan.id}
    assert visible(world["other_head"]) == {other.id} and visible(other_resp) == {other.id}
    assert visible(world["outsider"]) == set()
    # the responsible person keeps theirs after leaving the department
    plan_of_leaver = db.session.get(ImprovementPlan, other.id)
    db.session.execute(DepartmentMember.__table__.delete().where(DepartmentMember.user_id == other_resp.id))
    db.session.commit()
    assert visible(other_resp) == {plan_of_leaver.id}


def test_allowed_steps_by_person_and_state(world, db):
    plan = new_plan(world, db)
    assert svc.allowed_steps(world["quality"], plan) == ["edit", "add_item", "remove_item", "mark_measures_done"]
    assert svc.allowed_steps(world["member"], plan) == ["mark_measures_done"]
    assert svc.allowed_steps(world["exec"], plan) == []
    done(plan, world, db)
    assert svc.allowed_steps(world["quality"], plan) == ["record_check", "close", "revise"]
    assert svc.allowed_steps(world["head"], plan) == ["close", "revise"]
    assert svc.allowed_steps(world["member"], plan) == []


# --- the figures ---------------------------------------------------------------------------------

def test_figures_before_and_after_by_hand(world, db, make):
    today = local_today()
    on = today - timedelta(days=10)  # measures done 10 days ago: windows of 10 days each side
    p, v = world["project"], world["version"]
    elsewhere = make.project()  # not among the items' projects: never counted
    # before: [on-10, on)   after: [on, today)
    followup_for(db, p, v, on=on - timedelta(days=3))
    followup_for(db, p, v, on=on - timedelta(days=11))     # outside the window
    followup_for(db, elsewhere, v, on=on - timedelta(days=2))
    complaint_for(db, p, on=on - timedelta(days=1))
    complaint_for(db, p, on=on - timedelta(days=5))
    complaint_for(db, p, on=on + timedelta(days=2))
    complaint_for(db, p, on=today)                          # today is not in the window yet
    response_for(db, p, v, score=2.0, on=on - timedelta(days=4), dimension_score=1.0)
    response_for(db, p, v, score=3.0, on=on - timedelta(days=9), dimension_score=2.0)
    response_for(db, p, v, score=1.0, on=on - timedelta(days=2), status="rejected", dimension_score=1.0)
    response_for(db, p, v, score=4.0, on=on + timedelta(days=1), dimension_score=4.0)
    response_for(db, p, v, score=4.5, on=on + timedelta(days=9), status="pending", dimension_score=5.0)
    response_for(db, elsewhere, v, score=1.0, on=on + timedelta(days=1))
    world["followup2"].state = "closed"
    db.session.commit()
    plan = new_plan(world, db, dimension="attitude",
                    items=[world["followup"], world["followup2"], world["complaint"]])
    empty = svc.plan_figures(plan, today)
    assert (empty.followups_open, empty.followups_closed, empty.complaints_open, empty.complaints_closed) == (1, 1, 1, 0)
    assert empty.window_days is None and not empty.compared
    done(plan, world, db, on=on)
    f = svc.plan_figures(plan, today)
    assert f.projects == 1 and f.window_days == 10
    # the world's own two follow-ups and complaint were made today: after the window
    assert (f.new_followups_before, f.new_followups_after) == (1, 0)
    assert (f.new_complaints_before, f.new_complaints_after) == (2, 1)
    assert (f.responses_before, f.responses_after) == (2, 2)
    assert (f.score_before, f.score_after) == (2.5, 4.25)
    assert (f.dimension_before, f.dimension_after) == (1.5, 4.5)
    capped = svc.plan_figures(plan, today, cap_days=5)  # [on-5, on) and [on, on+5)
    assert (capped.window_days, capped.new_complaints_before, capped.new_complaints_after) == (5, 2, 1)
    assert (capped.responses_before, capped.score_before, capped.score_after) == (1, 2.0, 4.0)
    assert f.as_dict()["measures_done_on"] == on.isoformat()


def test_figures_take_a_fixed_number_of_statements(world, db):
    from ..querycount import count_statements
    plan = new_plan(world, db, dimension="attitude")
    done(plan, world, db, on=local_today() - timedelta(days=5))
    assert len(plan.checks) == 3  # loaded: what is counted below are the figures' own statements
    with count_statements(db.engine) as few:
        svc.plan_figures(plan, local_today())
    for _ in range(5):
        followup_for(db, world["project"], world["version"])
    db.session.commit()
    assert len(plan.checks) == 3
    with count_statements(db.engine) as more:
        svc.plan_figures(plan, local_today())
    assert len(few) == len(more) <= 6, more.report()


# --- the reminder --------------------------------------------------------------------------------

def test_the_cli_tells_once_per_check_due(world, db, runner, make):
    make.user("i_quality2", roles=("quality",))
    plan = new_plan(world, db)
    done(plan, world, db, on=local_today() - timedelta(days=61))  # the 30- and 60-day checks are due
    before = db.session.scalar(select(func.count(Notification.id)))
    result = runner.invoke(args=["improvement-checks"])
    assert result.exit_code == 0, result.output
    assert "checks due announced: 2; notifications sent: 6" in result.output  # responsible + 2 quality, ×2
    db.session.expire_all()
    due_notes = db.session.scalars(select(Notification).where(Notification.kind == "improvement_check_due")).all()
    assert len(due_notes) == 6 and {n.link for n in due_notes} == {f"/improvement/{plan.id}"}
    assert {n.user_id for n in due_notes} == {world["member"].id, world["quality"].id,
                                              db.session.scalar(select(func.max(Notification.user_id)))}
    again = runner.invoke(args=["improvement-checks"])
    assert "checks due announced: 0; notifications sent: 0" in again.output
    assert db.session.scalar(select(func.count(Notification.id))) == before + 6
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "improvement_check_due")) == 2


def test_a_recorded_or_revised_check_is_not_announced(world, db):
    plan = new_plan(world, db)
    done(plan, world, db, on=local_today() - timedelta(days=30))
    svc.record_check(plan.checks[0], actor=world["quality"], expected_version=plan.version, result="effective")
    db.session.commit()
    assert svc.remind_due_checks() == {"checks": 0, "notifications": 0}
    later = local_today() + timedelta(days=30)
    counts = svc.remind_due_checks(today=later)
    assert counts["checks"] == 1
    assert svc.due_checks_count(world["quality"], today=later) == 1
    assert svc.due_checks_count(world["outsider"], today=later) == 0
    assert svc.check_offsets() == (30, 60, 90)
    assert db.session.scalar(select(func.count(ImprovementCheck.id))) == 3
