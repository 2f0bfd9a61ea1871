"""Suspicion flags on responses (issue 13, DESIGN §4.5.1): one test per flag, each with the cases
that must not raise it."""
from datetime import datetime, timedelta

import pytest

from portal.services.answers import parse_answers
from portal.services.responses import submit_response
from portal.services.settings import set_setting
from portal.services.verification import correct_answers, flags_for

SUBMITTED = datetime(2026, 11, 10, 2, 0)
MIXED = {"q_attitude": "5", "q_timeliness": "4", "q_technical": "8"}
UNIFORM = {"q_attitude": "4", "q_timeliness": "4", "q_technical": "4"}
PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"


@pytest.fixture
def world(make):
    project = make.project()
    return {"project": project, "version": make.template_version(),
            "contacts": [make.contact(project.client) for _ in range(3)],
            "quality": make.user("sf_quality", roles=("quality",))}


def respond(world, answers=MIXED, *, channel="online", contact=0, seconds=600, ip="10.0.0.1", ua=PHONE_UA,
            submitted=SUBMITTED):
    parsed = parse_answers(world["version"], answers, complete=True)
    assert parsed.ok, parsed.errors
    return submit_response(world["version"], parsed, channel=channel, project=world["project"],
                           contact=world["contacts"][contact] if contact is not None else None,
                           started_at=submitted - timedelta(seconds=seconds) if seconds is not None else None,
                           submitted_at=submitted, client_ip=ip, user_agent=ua)


def codes(flags, response):
    return [f.code for f in flags.get(response.id, [])]


def test_a_form_sent_within_the_minimum_time_is_fast(world, db):
    quick = respond(world, seconds=20)
    slow = respond(world, seconds=300, contact=1, ip="10.0.0.2")
    paper = respond(world, channel="paper", seconds=5, contact=2, ip=None)  # typed in by staff: no timing
    unknown = respond(world, seconds=None, contact=None, ip="10.0.0.3")
    flags = flags_for([quick.id, slow.id, paper.id, unknown.id])
    assert codes(flags, quick) == ["fast"] and flags[quick.id][0].detail == {"seconds": 20, "limit": 60}
    assert codes(flags, slow) == codes(flags, paper) == codes(flags, unknown) == []
    set_setting("verification.fast_seconds", 10, actor=world["quality"])
    assert codes(flags_for([quick.id]), quick) == []


def test_the_same_answer_on_every_scale_question_is_a_straight_line(world, db):
    uniform = respond(world, UNIFORM)
    mixed = respond(world, MIXED, contact=1, ip="10.0.0.2")
    flags = flags_for([uniform.id, mixed.id])
    assert codes(flags, uniform) == ["straight_line"]
    assert flags[uniform.id][0].detail == {"answers": 3, "value": 4.0}
    assert codes(flags, mixed) == []


def test_too_few_scale_answers_are_no_straight_line(world, db, make):
    version = make.template_version(questions=[
        dict(code="attitude", text="服务态度", type="scale", scale="sat5_a", dimension="attitude"),
        dict(code="timeliness", text="响应及时性", type="scale", scale="sat5_a", dimension="timeliness")])
    world["version"] = version
    two = respond(world, {"q_attitude": "4", "q_timeliness": "4"})
    assert flags_for([two.id]) == {}


def test_several_contacts_from_one_address_and_browser_share_a_device(world, db):
    first = respond(world, contact=0)
    second = respond(world, contact=1)                              # same address, same browser
    same_contact = respond(world, contact=0, submitted=SUBMITTED + timedelta(days=1), ip="10.0.0.9")
    same_contact_again = respond(world, contact=0, submitted=SUBMITTED + timedelta(days=2), ip="10.0.0.9")
    other_browser = respond(world, contact=2, ua="Mozilla/5.0 (Windows NT 10.0)")
    flags = flags_for([first.id, second.id, same_contact.id, same_contact_again.id, other_browser.id])
    assert codes(flags, first) == codes(flags, second) == ["shared_device"]
    assert flags[first.id][0].detail == {"address": "10.0.0.1", "contacts": 2}
    assert codes(flags, same_contact) == codes(flags, same_contact_again) == codes(flags, other_browser) == []


def test_a_shared_address_in_another_quarter_does_not_count(world, db):
    now = respond(world, contact=0)
    earlier = respond(world, contact=1, submitted=SUBMITTED - timedelta(days=90))  # 2026Q3
    assert earlier.quarter != now.quarter
    assert flags_for([now.id, earlier.id]) == {}


def test_a_form_filled_on_the_clients_behalf_is_flagged(world, db):
    behalf = respond(world, channel="on_behalf", seconds=None, ip=None)
    flags = flags_for([behalf.id])
    assert codes(flags, behalf) == ["on_behalf"]


def test_a_form_corrected_after_submission_is_flagged_edited(world, db):
    corrected = respond(world, channel="paper", seconds=None, ip=None)
    untouched = respond(world, channel="paper", contact=1, seconds=None, ip=None)
    assert flags_for([corrected.id, untouched.id]) == {}
    correct_answers(corrected, {**MIXED, "q_attitude": "4"}, actor=world["quality"], reason="录入错误",
                    now=datetime(2026, 11, 20, 3, 0))
    flags = flags_for([corrected.id, untouched.id])
    assert codes(flags, corrected) == ["edited"] and codes(flags, untouched) == []
    assert flags[corrected.id][0].detail == {"count": 1, "at": "2026-11-20T03:00:00"}


def test_flags_cost_a_fixed_number_of_statements(world, db):
    from sqlalchemy import event
    responses = [respond(world, UNIFORM, contact=i % 3, seconds=10) for i in range(12)]
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        flags = flags_for([r.id for r in responses])
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert all(set(codes(flags, r)) >= {"fast", "straight_line", "shared_device"} for r in responses)
    assert len(statements) <= 6  # the setting, then one per flag
