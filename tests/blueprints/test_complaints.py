"""Complaint pages: intake with evidence, the whole path through the step routes, field errors (422),
'changed meanwhile' (409), who sees which complaint (403, the department's queue), the response
page's button (one complaint per response), the list's fixed statement count, `flask complaint-timers`."""
import io

import pytest
from sqlalchemy import func, select

from portal.models import (
    AuditEvent,
    Complaint,
    Department,
    DepartmentMember,
)
from portal.seed.templates import ensure_default_templates
from portal.services import complaints as svc
from portal.services.answers import parse_answers
from portal.services.responses import submit_response

from ..querycount import statements_of_request

HX = {"HX-Request": "true"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def world(make, db):
    quality = make.user("k_quality", roles=("quality",))
    exec_ = make.user("k_exec", roles=("exec",))
    head = make.user("k_head", roles=("pmo",))
    owner = make.user("k_owner", roles=("sales",))
    member = make.user("k_member", roles=("sales",))
    pm = make.user("k_pm", roles=("pm",))
    make.user("k_pm_other", roles=("pm",))
    make.user("k_pmo", roles=("pmo",))
    project = make.project(pm=pm)
    contact = make.contact(project.client, email="wang@example.cn")
    department = Department(name="售后服务部", head=head)
    db.session.add(department)
    db.session.flush()
    db.session.add_all([DepartmentMember(department=department, user=owner),
                        DepartmentMember(department=department, user=member)])
    ensure_default_templates()  # the complaint follow-up questionnaire closing issues
    db.session.commit()
    return dict(quality=quality, exec=exec_, head=head, owner=owner, member=member, pm=pm,
                project=project, contact=contact, department=department)


def _register(world, db, **kw):
    values = dict(channel="phone", description="工程师三次未按约定时间到场", by_user=world["quality"],
                  contact=world["contact"], project=world["project"])
    values.update(kw)
    complaint = svc.register_complaint(**values)
    db.session.commit()
    return complaint


def _step(client, complaint_id, group, action, fields, db, version=None):
    stored = db.session.get(Complaint, complaint_id)
    data = {f"{action}-version": str(stored.version if version is None else version),
            **{f"{action}-{k}": v for k, v in fields.items()}}
    url = f"/complaints/{complaint_id}/{action}"  # every group's steps: /<id>/<step>
    return client.post_form(url, data, htmx=True, token_from=f"/complaints/{complaint_id}")


def test_register_through_the_form_with_an_evidence_file(client, auth, world, db):
    auth.login("k_quality")
    form = client.get(f"/complaints/new?client_id={world['project'].client_id}").get_data(as_text=True)
    assert world["contact"].name in form and world["project"].code in form
    token = client.csrf_token("/complaints/new")
    response = client.post("/complaints/new", data={
        "csrf_token": token, "channel": "phone", "client_id": str(world["project"].client_id),
        "contact_id": str(world["contact"].id), "project_id": str(world["project"].id),
        "description": "电话投诉：备件迟迟未到", "major": "y",
        "evidence": (io.BytesIO(PDF), "录音说明.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 303
    complaint = db.session.scalar(select(Complaint))
    assert response.headers["Location"].endswith(f"/complaints/{complaint.id}")
    assert complaint.major and complaint.contact_id == world["contact"].id and complaint.state == "registered"
    [attachment] = complaint.attachments
    assert attachment.original_name == "录音说明.pdf" and attachment.content_type == "application/pdf"
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert complaint.reference in page and "录音说明.pdf" in page and 'data-clock="first_contact"' in page
    download = client.get(f"/complaints/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment")
    download.close()


def test_the_form_needs_a_complainant_and_refuses_a_wrong_file(client, auth, world, db):
    auth.login("k_quality")
    token = client.csrf_token("/complaints/new")
    response = client.post("/complaints/new", data={
        "csrf_token": token, "channel": "phone", "description": "没有人", "complainant_name": "张先生"})
    assert response.status_code == 422
    assert "a name with a phone number or an e-mail address" in response.get_data(as_text=True)
    response = client.post("/complaints/new", data={
        "csrf_token": token, "channel": "email", "description": "附件不对", "complainant_name": "张先生",
        "complainant_email": "zhang@example.cn", "evidence": (io.BytesIO(b"MZ\x90\x00"), "virus.exe")},
        content_type="multipart/form-data")
    assert response.status_code == 422 and 'id="field-evidence"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Complaint.id))) == 0
    response = client.post("/complaints/new", data={
        "csrf_token": token, "channel": "email", "description": "未登记的人", "complainant_name": "张先生",
        "complainant_email": "zhang@example.cn"})
    assert response.status_code == 303
    assert db.session.scalar(select(Complaint)).complainant_name == "张先生"


def test_the_full_path_through_the_step_routes(client, auth, world, db):
    complaint = _register(world, db)
    cid = complaint.id
    auth.login("k_quality")
    assert _step(client, cid, "desk", "accept", {"note": "属实"}, db).status_code == 200
    response = _step(client, cid, "desk", "assign", {"department": str(world["department"].id),
                                                     "owner": str(world["owner"].id)}, db)
    assert response.status_code == 200 and 'id="complaint-box"' in response.get_data(as_text=True)
    auth.logout()
    auth.login("k_owner")
    assert _step(client, cid, "handler", "record_contact", {"how": "phone", "note": "已致电"}, db).status_code == 200
    assert _step(client, cid, "handler", "investigate", {"findings": "排班冲突", "company_fault": "1",
                                                        "responsible_employee": "李工"}, db).status_code == 200
    assert _step(client, cid, "handler", "propose_remedy", {"kind": "compensation", "amount": "8000",
                                                           "text": "赔偿并致歉"}, db).status_code == 200
    # above the approval amount: the department's head may not approve, an executive may
    auth.logout()
    auth.login("k_head")
    assert _step(client, cid, "approve", "approve", {}, db).status_code == 403
    auth.logout()
    auth.login("k_exec")
    assert _step(client, cid, "approve", "approve", {"note": "同意"}, db).status_code == 200
    auth.logout()
    auth.login("k_owner")
    assert _step(client, cid, "handler", "notify_client", {"how": "phone",
                                                          "said": "结果、原因与申诉途径"}, db).status_code == 200
    auth.logout()
    auth.login("k_quality")
    response = _step(client, cid, "handler", "close", {"check_by": "link"}, db)
    assert response.status_code == 200
    stored = db.session.get(Complaint, cid)
    assert stored.state == "closed" and stored.company_fault is True and stored.approved_by_id == world["exec"].id
    assert [e.action for e in stored.events] == ["registered", "accept", "assign", "record_contact", "investigate",
                                                 "propose_remedy", "approve", "notify_client", "close"]
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert "Closed" in page and "结果、原因与申诉途径" in page and f"/complaints/{cid}/reopen" in page


def test_the_approver_sends_the_remedy_back_from_the_page(client, auth, world, db):
    complaint = _register(world, db)
    cid = complaint.id
    auth.login("k_quality")
    _step(client, cid, "desk", "accept", {}, db)
    _step(client, cid, "desk", "assign", {"department": str(world["department"].id),
                                          "owner": str(world["owner"].id)}, db)
    auth.logout()
    auth.login("k_owner")
    _step(client, cid, "handler", "investigate", {"findings": "排班冲突", "company_fault": "1"}, db)
    _step(client, cid, "handler", "propose_remedy", {"kind": "compensation", "amount": "8000", "text": "赔偿"}, db)
    assert f"/complaints/{cid}/send_back" not in client.get(f"/complaints/{cid}").get_data(as_text=True)
    auth.logout()
    auth.login("k_head")  # above the approval amount: not the head's to send back either
    assert _step(client, cid, "approve", "send_back", {"reason": "金额过高"}, db).status_code == 403
    auth.logout()
    auth.login("k_exec")
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert f'action="/complaints/{cid}/send_back"' in page and f'action="/complaints/{cid}/approve"' in page
    response = _step(client, cid, "approve", "send_back", {"reason": ""}, db)
    assert response.status_code == 422 and 'id="field-send_back-reason"' in response.get_data(as_text=True)
    response = _step(client, cid, "approve", "send_back", {"reason": "先核实停机时长再定金额"}, db)
    assert response.status_code == 200 and "先核实停机时长再定金额" in response.get_data(as_text=True)
    stored = db.session.get(Complaint, cid)
    assert stored.state == "investigated" and stored.events[-1].action == "send_back"
    assert _step(client, cid, "approve", "approve", {}, db).status_code == 422  # nothing to approve now


def test_a_missing_value_is_422_beside_its_field(client, auth, world, db):
    complaint = _register(world, db)
    auth.login("k_quality")
    response = _step(client, complaint.id, "desk", "judge_invalid", {"reason": ""}, db)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="field-judge_invalid-reason"' in html and "Explanation is required." in html
    assert db.session.get(Complaint, complaint.id).state == "registered"


def test_a_stale_version_is_409_changed_meanwhile(client, auth, world, db):
    complaint = _register(world, db)
    auth.login("k_quality")
    response = _step(client, complaint.id, "desk", "accept", {}, db, version=complaint.version - 1)
    assert response.status_code == 409 and "changed meanwhile" in response.get_data(as_text=True)
    assert db.session.get(Complaint, complaint.id).state == "registered"


def test_a_pm_of_another_project_is_refused(client, auth, world, db):
    complaint = _register(world, db)
    auth.login("k_pm_other")
    assert client.get(f"/complaints/{complaint.id}").status_code == 403
    assert complaint.reference not in client.get("/complaints/").get_data(as_text=True)
    auth.logout()
    auth.login("k_pm")  # the project's own PM reads it, takes no step
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert complaint.reference in page and "/accept" not in page
    assert _step(client, complaint.id, "handler", "record_contact", {"how": "phone"}, db).status_code == 403
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "access_denied")) >= 1


def test_department_members_see_their_queue(client, auth, world, db):
    mine = _register(world, db)
    other = _register(world, db, description="另一件")
    svc.apply(mine, "accept", actor=world["quality"], expected_version=mine.version)
    svc.apply(mine, "assign", actor=world["quality"], expected_version=mine.version,
              department=world["department"], owner=world["owner"])
    db.session.commit()
    auth.login("k_member")
    listing = client.get("/complaints/").get_data(as_text=True)
    assert mine.reference in listing and other.reference not in listing
    assert client.get(f"/complaints/{mine.id}").status_code == 200
    assert client.get(f"/complaints/{other.id}").status_code == 403
    filtered = client.get(f"/complaints/?department_id={world['department'].id}&state=assigned",
                          headers=HX).get_data(as_text=True)
    assert "<html" not in filtered and mine.reference in filtered
    assert 'data-clock="resolution"' in filtered


def test_the_overdue_filter_uses_the_clocks(client, auth, world, db):
    from datetime import datetime
    old = _register(world, db, now=datetime(2026, 6, 1, 1, 0))
    fresh = _register(world, db, description="刚登记")
    auth.login("k_quality")
    listing = client.get("/complaints/?overdue=1").get_data(as_text=True)
    clocks = svc.clocks(db.session.get(Complaint, old.id))
    if clocks.first_contact.state == "breached":
        assert old.reference in listing
    assert fresh.reference not in listing


def test_the_list_keeps_its_statement_count(client, auth, world, db):
    def assigned(n):
        c = _register(world, db, description=f"第{n}件")
        svc.apply(c, "accept", actor=world["quality"], expected_version=c.version)
        svc.apply(c, "assign", actor=world["quality"], expected_version=c.version,
                  department=world["department"], owner=world["owner"] if n % 2 else world["member"])
    auth.login("k_quality")
    assigned(0)
    statements_of_request(client, "/complaints/")
    response, one = statements_of_request(client, "/complaints/")
    assert response.status_code == 200
    for n in range(1, 6):
        assigned(n)
    response, six = statements_of_request(client, "/complaints/")
    assert response.status_code == 200 and response.get_data(as_text=True).count("data-complaint=") == 6
    assert len(six) == len(one), six.report()
    response, overdue = statements_of_request(client, "/complaints/?overdue=1")
    assert response.status_code == 200 and len(overdue) <= len(one)


def _low_response(world, db, make):
    version = make.template_version()
    parsed = parse_answers(version, {"q_attitude": "1", "q_timeliness": "5", "q_technical": "9",
                                     "q_opinion": "服务太差"}, complete=True)
    response = submit_response(version, parsed, channel="paper", project=world["project"],
                               contact=world["contact"], entered_by=world["pm"])
    db.session.commit()
    return response


def test_the_response_button_creates_the_complaint_once(client, auth, world, db, make):
    response = _low_response(world, db, make)
    auth.login("k_quality")
    page = client.get(f"/responses/{response.id}").get_data(as_text=True)
    assert "Turn into a complaint" in page
    first = client.post_form(f"/responses/{response.id}/complaint", token_from=f"/responses/{response.id}")
    assert first.status_code == 303
    complaint = db.session.scalar(select(Complaint).where(Complaint.response_id == response.id))
    assert first.headers["Location"].endswith(f"/complaints/{complaint.id}") and complaint.channel == "survey"
    second = client.post(f"/responses/{response.id}/complaint",
                         data={"csrf_token": client.csrf_token(f"/complaints/{complaint.id}")})
    assert second.status_code == 303 and second.headers["Location"].endswith(f"/complaints/{complaint.id}")
    assert db.session.scalar(select(func.count(Complaint.id))) == 1
    page = client.get(f"/responses/{response.id}").get_data(as_text=True)
    assert complaint.reference in page and "Turn into a complaint" not in page


def test_the_response_button_needs_csrf_and_the_desk(client, auth, world, db, make):
    response = _low_response(world, db, make)
    auth.login("k_quality")
    assert client.post(f"/responses/{response.id}/complaint").status_code == 400
    auth.logout()
    auth.login("k_pm")
    assert "Turn into a complaint" not in client.get(f"/responses/{response.id}").get_data(as_text=True)
    assert client.post_form(f"/responses/{response.id}/complaint",
                            token_from=f"/responses/{response.id}").status_code == 403
    assert db.session.scalar(select(func.count(Complaint.id))) == 0


def test_the_nav_shows_complaints_to_staff(client, auth, world):
    auth.login("k_owner")
    assert 'href="/complaints/"' in client.get("/").get_data(as_text=True)


def test_complaint_timers_command_prints_the_counts(runner, world, db):
    _register(world, db)
    result = runner.invoke(args=["complaint-timers"])
    assert result.exit_code == 0, result.output
    assert "open complaints checked: 1" in result.output


def test_the_pages_speak_chinese(client, auth, world, db):
    complaint = _register(world, db)
    auth.login("k_quality")
    zh = {"Accept-Language": "zh"}
    listing = client.get("/complaints/", headers=zh).get_data(as_text=True)
    assert "登记投诉" in listing and complaint.reference in listing
    page = client.get(f"/complaints/{complaint.id}", headers=zh).get_data(as_text=True)
    assert "处理时限" in page and "首次联系" in page
