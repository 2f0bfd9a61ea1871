"""Judging forms (DESIGN §4.5.1): only the quality department, a rejection needs its reason,
several at once all or nothing, every change audited; and the queue with its flag filter."""
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, Response
from portal.services import DomainError
from portal.services import verification as svc
from portal.services.answers import parse_answers
from portal.services.responses import submit_response

SUBMITTED = datetime(2026, 11, 10, 2, 0)


@pytest.fixture
def world(make):
    project = make.project()
    return {"project": project, "version": make.template_version(), "contact": make.contact(project.client),
            "quality": make.user("vf_quality", roles=("quality",)), "pmo": make.user("vf_pmo", roles=("pmo",))}


def respond(world, n=0, seconds=600, answers=None):
    parsed = parse_answers(world["version"], answers or {"q_attitude": "5", "q_timeliness": "4", "q_technical": "8"},
                           complete=True)
    return submit_response(world["version"], parsed, channel="online", project=world["project"],
                           contact=world["contact"], started_at=SUBMITTED - timedelta(seconds=seconds),
                           submitted_at=SUBMITTED + timedelta(minutes=n), client_ip=f"10.0.0.{n}")


def test_the_quality_department_verifies_and_rejects_with_a_reason(world, db):
    good, bad = respond(world), respond(world, 1)
    assert svc.judge([good], "authentic", actor=world["quality"]) == [good]
    with pytest.raises(DomainError) as error:
        svc.judge([bad], "rejected", actor=world["quality"], reason="  ")
    assert error.value.field == "reason"
    svc.judge([bad.id], "rejected", actor=world["quality"], reason="客户表示未填写过此问卷")
    db.session.commit()
    assert (good.verification_status, bad.verification_status) == ("authentic", "rejected")
    assert bad.verification_reason == "客户表示未填写过此问卷" and bad.verified_by_id == world["quality"].id
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(
        ("response_verified", "response_rejected"))).order_by(AuditEvent.id)).all()
    assert [(e.action, json.loads(e.detail)["from"]) for e in events] == [
        ("response_verified", "pending"), ("response_rejected", "pending")]


@pytest.mark.parametrize("who", ["pmo"])
def test_nobody_else_judges(world, db, who):
    with pytest.raises(PermissionError):
        svc.judge([respond(world)], "authentic", actor=world[who])


def test_several_at_once_are_all_or_nothing(world, db):
    forms = [respond(world, n) for n in range(3)]
    db.session.commit()
    with pytest.raises(DomainError):
        svc.judge([f.id for f in forms] + [999999], "authentic", actor=world["quality"])
    db.session.rollback()
    assert {f.verification_status for f in db.session.scalars(select(Response))} == {"pending"}
    changed = svc.judge(forms, "authentic", actor=world["quality"])
    assert len(changed) == 3
    assert svc.judge(forms, "authentic", actor=world["quality"]) == []  # judged the same again: nothing changes
    rejected = svc.judge(forms[:1], "rejected", actor=world["quality"], reason="重复提交")  # corrected
    assert rejected == forms[:1] and forms[0].verification_status == "rejected"


def test_the_queue_lists_the_quarters_pending_forms_with_their_flags(world, db):
    quick = respond(world, 0, seconds=15)
    calm = respond(world, 1)
    done = respond(world, 2)
    svc.judge([done], "authentic", actor=world["quality"])
    db.session.commit()
    page = svc.queue_page(svc.QueueFilters(quarter=quick.quarter))
    assert [r.id for r in page.items] == [quick.id, calm.id]
    assert [f.code for f in page.flags[quick.id]] == ["fast"] and calm.id not in page.flags
    flagged = svc.queue_page(svc.QueueFilters(quarter=quick.quarter, flag="any"))
    assert [r.id for r in flagged.items] == [quick.id]
    assert [r.id for r in svc.queue_page(svc.QueueFilters(quarter=quick.quarter, flag="straight_line")).items] == []
    every = svc.queue_page(svc.QueueFilters(quarter=quick.quarter, state=None))
    assert every.page.total == 3
