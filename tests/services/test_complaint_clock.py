"""Complaint time limits (DESIGN §4.7.3): working hours in China's calendar (nights, weekends,
holidays, make-up working days), clocks derived from the events alone (pauses excluded, the
complex limit only after the notice, settings recomputed), and the timer alerts sent once."""
import pytest
from sqlalchemy import select

from portal.models import ComplaintEvent, Notification
from portal.services import DomainError
from portal.services import complaints as svc
from portal.services.settings import set_setting
from portal.services.working_days import PACKAGE_YEARS, CalendarUnknown

from .test_complaints import build_world, local, register, step

MONDAY = local(2026, 6, 1, 9)  # an ordinary week: no holiday from 1 to 12 June 2026


@pytest.fixture
def world(make, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example.cn")  # the check's link
    return build_world(make, db)


# --- working hours ------------------------------------------------------------------------------

@pytest.mark.parametrize("start, end, hours", [
    (local(2026, 6, 2, 10), local(2026, 6, 2, 12, 30), 2.5),             # within a day
    (local(2026, 6, 2, 17), local(2026, 6, 3, 10), 2),                   # across a night
    (local(2026, 6, 2, 7), local(2026, 6, 2, 20), 9),                    # before opening, after closing
    (local(2026, 6, 5, 16), local(2026, 6, 8, 11), 4),                   # across a weekend
    (local(2026, 9, 30, 17), local(2026, 10, 8, 10), 2),                 # 国庆 1–7 October off
    (local(2026, 10, 9, 17), local(2026, 10, 12, 10), 1 + 9 + 1),        # Saturday 10 October is a make-up day
    (local(2026, 10, 3, 10), local(2026, 10, 4, 15), 0),                 # inside the holiday
])
def test_working_hours_between(db, start, end, hours):
    assert svc.working_hours_between(start, end) == pytest.approx(hours)


@pytest.mark.parametrize("start, hours, end", [
    (local(2026, 6, 2, 17), 2, local(2026, 6, 3, 10)),
    (local(2026, 6, 5, 16), 4, local(2026, 6, 8, 11)),
    (local(2026, 9, 30, 17), 2, local(2026, 10, 8, 10)),
    (local(2026, 10, 9, 17), 10, local(2026, 10, 10, 18)),   # the make-up Saturday counts in full
    (local(2026, 10, 9, 17), 11, local(2026, 10, 12, 10)),
    (local(2026, 6, 6, 12), 0, local(2026, 6, 8, 9)),        # from a Saturday: Monday's opening
])
def test_add_working_hours(db, start, hours, end):
    assert svc.add_working_hours(start, hours) == end


def test_a_year_the_calendar_does_not_know_is_said_not_guessed(db):
    year = max(PACKAGE_YEARS) + 1
    with pytest.raises(CalendarUnknown):
        svc.working_hours_between(local(year, 3, 2, 9), local(year, 3, 3, 9))


def test_working_hours_and_calendar_come_from_the_settings(db, make):
    admin = make.user("clock_admin", roles=("admin",))
    set_setting("complaints.workday_end_hour", 17, actor=admin)
    assert svc.working_hours_between(local(2026, 6, 2, 9), local(2026, 6, 3, 9)) == 8
    set_setting("calendar.overrides", {"2026-06-02": "holiday"}, actor=admin)
    assert svc.working_hours_between(local(2026, 6, 2, 9), local(2026, 6, 3, 10)) == 1


# --- the clocks of a complaint --------------------------------------------------------------------

def test_a_fresh_complaint_runs_both_clocks(world, db):
    c = register(world, now=MONDAY)
    clocks = svc.clocks(c, now=local(2026, 6, 2, 12))
    first, resolution = clocks.first_contact, clocks.resolution
    assert (first.state, first.elapsed_hours, first.limit_hours) == ("running", 12, 24)
    assert first.fraction == pytest.approx(0.5)
    assert first.deadline.replace(tzinfo=None).isoformat() == "2026-06-03T15:00:00"
    assert (resolution.limit_hours, resolution.hours_left) == (48, 36)


def test_first_contact_stops_its_clock(world, db):
    c = register(world, now=MONDAY)
    step(c, "accept", world["quality"], now=local(2026, 6, 1, 10))
    step(c, "record_contact", world["quality"], now=local(2026, 6, 1, 11), how="phone", note="已致电")
    step(c, "record_contact", world["quality"], now=local(2026, 6, 2, 11), how="phone")  # a second: no mark
    assert [e.clock for e in c.events] == ["start", None, "first_contact", None]
    first = svc.clocks(c, now=local(2026, 6, 10, 9)).first_contact
    assert (first.state, first.elapsed_hours) == ("met", 2)


def test_time_waiting_for_the_complainant_does_not_count(world, db):
    c = register(world, now=MONDAY)
    step(c, "accept", world["quality"], now=local(2026, 6, 1, 9, 30))
    step(c, "wait_for_complainant", world["quality"], now=local(2026, 6, 1, 10), note="等客户提供照片")
    paused = svc.clocks(c, now=local(2026, 6, 1, 13)).resolution
    assert (paused.state, paused.elapsed_hours, paused.deadline) == ("paused", 1, None)
    step(c, "complainant_answered", world["quality"], now=local(2026, 6, 1, 14), note="照片已发来")
    assert c.events[-1].clock == "resume"
    running = svc.clocks(c, now=local(2026, 6, 1, 16)).resolution
    assert (running.state, running.elapsed_hours) == ("running", 1 + 2)
    # the deadline moves by the paused four hours: 48 h from Monday 09:00 would be the next Monday 12:00
    assert running.deadline.replace(tzinfo=None).isoformat() == "2026-06-08T16:00:00"
    assert not svc.clocks(c, now=local(2026, 6, 1, 16)).answered_while_paused


def test_the_clock_cannot_be_paused_twice(world, db):
    c = register(world, now=MONDAY)
    step(c, "accept", world["quality"], now=MONDAY)
    step(c, "wait_for_complainant", world["quality"], now=MONDAY, note="等待")
    with pytest.raises(DomainError):
        step(c, "wait_for_complainant", world["quality"], now=MONDAY, note="再等")


def test_an_answer_that_came_while_the_clock_stayed_paused_is_flagged(world, db):
    c = register(world, now=MONDAY)
    step(c, "accept", world["quality"], now=MONDAY)
    step(c, "wait_for_complainant", world["quality"], now=local(2026, 6, 1, 10), note="等客户回复")
    # the complainant answered at 11:00; it was recorded (and the clock resumed) only at 16:00
    step(c, "complainant_answered", world["quality"], now=local(2026, 6, 1, 16), at=local(2026, 6, 1, 11),
         note="客户昨日已回复邮件")
    assert svc.clocks(c, now=local(2026, 6, 2, 9)).answered_while_paused


def test_the_complex_limit_applies_only_from_the_notice(world, db):
    c = register(world, now=MONDAY)
    c.complex = True  # the flag alone is not the notice
    step(c, "accept", world["quality"], now=MONDAY)
    assert svc.clocks(c, now=local(2026, 6, 2, 9)).resolution.limit_hours == 48
    with pytest.raises(DomainError) as error:
        step(c, "mark_complex", world["quality"], now=local(2026, 6, 3, 9), note="已告知需要更多时间")
    assert error.value.field == "how"
    step(c, "mark_complex", world["quality"], now=local(2026, 6, 3, 9), how="phone", note="已告知需要更多时间")
    before, after = svc.clocks(c, now=local(2026, 6, 2, 9)), svc.clocks(c, now=local(2026, 6, 9, 9))
    assert (before.complex_applies, before.resolution.limit_hours) == (False, 48)
    assert (after.complex_applies, after.resolution.limit_hours, after.resolution.state) == (True, 120, "running")


def test_a_notice_after_the_ordinary_limit_is_too_late(world, db):
    c = register(world, now=MONDAY)
    step(c, "accept", world["quality"], now=MONDAY)
    step(c, "mark_complex", world["quality"], now=local(2026, 6, 9, 9), how="phone", note="太迟的告知")  # 54 h used
    clocks = svc.clocks(c, now=local(2026, 6, 9, 10))
    assert (clocks.complex_applies, clocks.resolution.limit_hours, clocks.resolution.state) == (False, 48, "breached")


def test_a_changed_limit_recomputes_the_clock(world, db):
    c = register(world, now=MONDAY)
    assert svc.clocks(c, now=local(2026, 6, 2, 12)).resolution.state == "running"
    set_setting("complaints.resolution_hours", 10, actor=world["quality"])
    resolution = svc.clocks(c, now=local(2026, 6, 2, 12)).resolution
    assert (resolution.limit_hours, resolution.state, resolution.hours_left) == (10, "breached", -2)
    assert resolution.deadline.replace(tzinfo=None).isoformat() == "2026-06-02T10:00:00"


def test_telling_the_client_stops_and_reopening_resumes(world, db):
    c = register(world, now=MONDAY)
    t = local(2026, 6, 1, 10)
    step(c, "accept", world["quality"], now=t)
    step(c, "assign", world["quality"], now=t, department=world["department"], owner=world["owner"])
    step(c, "investigate", world["owner"], now=t, findings="排班冲突", company_fault=False)
    step(c, "propose_remedy", world["owner"], now=t, kind="apology", text="致歉")
    step(c, "approve", world["head"], now=t)
    step(c, "notify_client", world["owner"], now=local(2026, 6, 1, 12), how="phone", said="结果与原因")
    done = svc.clocks(c, now=local(2026, 6, 5, 9))
    assert (done.resolution.state, done.resolution.elapsed_hours) == ("met", 3)
    assert done.first_contact.state == "met"  # telling the outcome is a contact too
    step(c, "close", world["quality"], now=local(2026, 6, 1, 13))
    step(c, "reopen", world["quality"], now=local(2026, 6, 2, 9), reason="客户不认可")
    again = svc.clocks(c, now=local(2026, 6, 2, 11)).resolution
    assert (again.state, again.elapsed_hours) == ("running", 3 + 2)


def test_clocks_say_when_the_calendar_lacks_a_year(world, db):
    year = max(PACKAGE_YEARS) + 1
    c = register(world, now=local(year, 3, 2, 9))
    clocks = svc.clocks(c, now=local(year, 3, 3, 9))
    assert (clocks.resolution.state, clocks.resolution.missing_year, clocks.resolution.elapsed_hours) == (
        "unknown", year, None)


# --- alerts -------------------------------------------------------------------------------------

def _alerts(db):
    return [(e.action, e.detail["limit"], e.detail["threshold"]) for e in db.session.scalars(
        select(ComplaintEvent).where(ComplaintEvent.action.in_(("timer_warning", "timer_breach")))
        .order_by(ComplaintEvent.id))]


def _told(db, kind):
    return sorted(db.session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


def test_alerts_warn_at_half_and_three_quarters_and_tell_a_breach_once(world, db):
    c = register(world, now=MONDAY)
    step(c, "accept", world["quality"], now=MONDAY)
    step(c, "assign", world["quality"], now=MONDAY, department=world["department"], owner=world["owner"])
    db.session.commit()
    owner, head = world["owner"].id, world["head"].id

    assert svc.check_timers(now=local(2026, 6, 1, 15))["warnings"] == 0      # 6 of 24 h
    svc.check_timers(now=local(2026, 6, 2, 12))                            # 12 of 24 h: 50 %
    assert _alerts(db) == [("timer_warning", "first_contact", 50)]
    assert svc.check_timers(now=local(2026, 6, 2, 12)) == {
        "complaints": 1, "warnings": 0, "breaches": 0, "calendar_unknown": 0}  # nothing new
    svc.check_timers(now=local(2026, 6, 3, 17))                            # 26 of 24 h; resolution 54 %
    assert _alerts(db)[1:] == [("timer_breach", "first_contact", 100), ("timer_warning", "resolution", 50)]
    assert _told(db, "timer_warning") == [owner, owner] and _told(db, "timer_breach") == sorted([owner, head])
    counts = svc.check_timers(now=local(2026, 6, 3, 17, 30))
    assert (counts["warnings"], counts["breaches"]) == (0, 0)
    db.session.commit()
    assert len(_alerts(db)) == 3


def test_a_run_that_finds_three_quarters_used_sends_only_that_warning(world, db):
    register(world, now=MONDAY)
    svc.check_timers(now=local(2026, 6, 3, 10))                            # 19 of 24 h: 79 %
    assert _alerts(db) == [("timer_warning", "first_contact", 75)]
    assert _told(db, "timer_warning") == [world["quality"].id]             # nobody assigned: the desk
    svc.check_timers(now=local(2026, 6, 3, 11))
    assert len(_alerts(db)) == 1


def test_closed_and_invalid_complaints_are_not_checked(world, db):
    c = register(world, now=MONDAY)
    step(c, "judge_invalid", world["quality"], now=MONDAY, reason="非我司业务")
    assert svc.check_timers(now=local(2026, 6, 9, 9))["complaints"] == 0
