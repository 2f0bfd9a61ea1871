"""Follow-up pages: list and detail as full page and fragment, a step by htmx, field errors (422),
'changed meanwhile' (409), ownership (403), the home section and `flask notify-overdue`."""
from datetime import date

import pytest
from sqlalchemy import select

from portal.models import FollowUp
from portal.services.answers import parse_answers
from portal.services.responses import submit_response

HX = {"HX-Request": "true"}


@pytest.fixture
def followup(make, db):
    pm = make.user("pm_f", roles=("pm",))
    make.user("pm_other", roles=("pm",))
    make.user("pmo_f", roles=("pmo",))
    project = make.project(pm=pm)
    version = make.template_version()
    parsed = parse_answers(version, {"q_attitude": "2", "q_timeliness": "5", "q_technical": "9",
                                     "q_opinion": "工程师到场太慢"}, complete=True)
    response = submit_response(version, parsed, channel="paper", project=project, entered_by=pm)
    db.session.commit()
    return db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))


def test_the_list_and_the_detail_as_page_and_fragment(client, auth, followup):
    auth.login("pm_f")
    page = client.get("/followups")
    assert page.status_code == 200 and f"/followups/{followup.id}" in page.get_data(as_text=True)
    fragment = client.get("/followups?state=open", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    detail = client.get(f"/followups/{followup.id}").get_data(as_text=True)
    assert "工程师到场太慢" in detail and "Record the contact with the client" in detail


def test_a_step_by_htmx_returns_the_box_and_records_the_event(client, auth, followup, db):
    auth.login("pm_f")
    response = client.post_form(f"/followups/{followup.id}/record_contact", {
        "record_contact-version": str(followup.version), "record_contact-how": "phone",
        "record_contact-note": "客户表示理解"}, htmx=True, token_from=f"/followups/{followup.id}")
    assert response.status_code == 200
    assert 'id="followup-box"' in response.get_data(as_text=True)
    stored = db.session.get(FollowUp, followup.id)
    assert stored.state == "contacted" and [e.action for e in stored.events] == ["opened", "record_contact"]


def test_a_missing_value_is_422_beside_its_field(client, auth, followup):
    auth.login("pm_f")
    response = client.post_form(f"/followups/{followup.id}/record_cause_and_actions", {
        "record_cause_and_actions-version": str(followup.version), "record_cause_and_actions-cause": "x"},
        htmx=True, token_from=f"/followups/{followup.id}")
    assert response.status_code == 422
    assert "Corrective action is required." in response.get_data(as_text=True)


def test_a_stale_version_is_409_changed_meanwhile(client, auth, followup):
    auth.login("pm_f")
    response = client.post_form(f"/followups/{followup.id}/record_contact", {
        "record_contact-version": str(followup.version - 1), "record_contact-how": "phone"},
        htmx=True, token_from=f"/followups/{followup.id}")
    assert response.status_code == 409 and "changed meanwhile" in response.get_data(as_text=True)


def test_another_pm_is_refused(client, auth, followup):
    auth.login("pm_other")
    assert client.get(f"/followups/{followup.id}").status_code == 403
    assert f"/followups/{followup.id}" not in client.get("/followups").get_data(as_text=True)


def test_pmo_home_shows_the_followup_section(client, auth, followup):
    auth.login("pmo_f")
    assert "Awaiting your verification" in client.get("/").get_data(as_text=True)


def test_notify_overdue_command_is_idempotent_per_day(runner, followup, db, monkeypatch):
    followup.due_on = date(2020, 1, 6)
    db.session.commit()
    first = runner.invoke(args=["notify-overdue"])
    assert first.exit_code == 0, first.output
    assert "overdue follow-ups notified: 1" in first.output
    again = runner.invoke(args=["notify-overdue"])
    assert "overdue follow-ups notified: 0" in again.output


def test_the_response_page_links_its_follow_up_for_those_who_may_see_it(client, auth, make, db):
    from portal.models import FollowUp
    from portal.services.answers import parse_answers
    from portal.services.responses import submit_response
    pm = make.user("pm_link", roles=("pm",))
    sales = make.user("sales_link", roles=("sales",))
    project = make.project(pm=pm, sales=sales)
    version = make.template_version()
    parsed = parse_answers(version, {"q_attitude": "2", "q_timeliness": "4", "q_technical": "8"}, complete=True)
    response = submit_response(version, parsed, channel="paper", project=project, entered_by=pm)
    db.session.commit()
    followup = db.session.scalar(db.select(FollowUp).where(FollowUp.response_id == response.id))
    assert followup is not None
    auth.login("pm_link")
    html = client.get(f"/responses/{response.id}").get_data(as_text=True)
    assert f'href="/followups/{followup.id}"' in html
    auth.logout()
    auth.login("sales_link")  # sales read the response but not follow-ups
    assert "/followups/" not in client.get(f"/responses/{response.id}").get_data(as_text=True)


def test_pmo_home_counts_filter_by_project_and_pm(client, auth, followup, make, db):
    other_pm = make.user("pm_g", roles=("pm",))
    project = make.project(pm=other_pm, code="PRJ-OTHER")
    version = make.template_version()
    parsed = parse_answers(version, {"q_attitude": "1", "q_timeliness": "5", "q_technical": "9"}, complete=True)
    submit_response(version, parsed, channel="paper", project=project, entered_by=other_pm)
    db.session.query(FollowUp).update({"due_on": date(2026, 1, 5)})  # both overdue
    followup.reopen_count = 2
    db.session.commit()
    auth.login("pmo_f")
    home = client.get("/").get_data(as_text=True)
    assert "Overdue across projects: 2" in home and "Reopened twice or more: 1" in home
    assert "PRJ-OTHER" in home  # the project filter offers it
    one = client.get(f"/followups/pmo-summary?project_id={project.id}", headers=HX).get_data(as_text=True)
    assert "Overdue across projects: 1" in one and "Reopened twice or more: 0" in one
    assert f"project_id={project.id}" in one and "<html" not in one
    by_pm = client.get(f"/followups/pmo-summary?owner_id={followup.owner_id}").get_data(as_text=True)
    assert "Overdue across projects: 1" in by_pm and "Reopened twice or more: 1" in by_pm
    listing = client.get("/followups?reopened=2").get_data(as_text=True)
    assert f"/followups/{followup.id}" in listing and "1 follow-up" in listing


def test_pm_cannot_read_the_pmo_summary(client, auth, followup):
    auth.login("pm_f")
    assert client.get("/followups/pmo-summary").status_code == 403


def test_routing_to_a_department_gives_its_people_the_queue(client, auth, followup, make, db):
    from portal.models import Department, DepartmentMember
    member = make.user("dept_member", roles=("sales",))  # a role that reads no follow-up of its own
    make.user("dept_outsider", roles=("sales",))
    dept = Department(name="备件管理部", memberships=[DepartmentMember(user=member)])
    db.session.add(dept)
    db.session.commit()
    auth.login("dept_member")
    assert client.get(f"/followups/{followup.id}").status_code == 403  # not routed yet
    home = client.get("/").get_data(as_text=True)
    assert 'href="/followups"' in home and "Routed to your departments" not in home  # nothing queued yet
    auth.logout()
    auth.login("pm_other")
    refused = client.post_form(f"/followups/{followup.id}/route", {"route-version": str(followup.version),
                                                                  "route-department": str(dept.id)},
                               htmx=True, token_from="/")
    assert refused.status_code == 403
    auth.logout()
    auth.login("pm_f")
    box = client.get(f"/followups/{followup.id}").get_data(as_text=True)
    assert f'action="/followups/{followup.id}/route"' in box and "备件管理部" in box
    missing = client.post_form(f"/followups/{followup.id}/route", {"route-version": str(followup.version)},
                               htmx=True, token_from=f"/followups/{followup.id}")
    assert missing.status_code == 422 and 'id="field-route-department"' in missing.get_data(as_text=True)
    response = client.post_form(f"/followups/{followup.id}/route", {
        "route-version": str(followup.version), "route-department": str(dept.id), "route-note": "请核查备件库存"},
        htmx=True, token_from=f"/followups/{followup.id}")
    assert response.status_code == 200 and "Routed to" in response.get_data(as_text=True)
    stored = db.session.get(FollowUp, followup.id)
    assert stored.department_id == dept.id and stored.events[-1].action == "route"
    auth.logout()
    auth.login("dept_member")
    home = client.get("/").get_data(as_text=True)
    assert "Routed to your departments: 1" in home and 'href="/followups?state=active&amp;department_id=mine"' in home
    queue = client.get("/followups?state=active&department_id=mine").get_data(as_text=True)
    assert f'href="/followups/{followup.id}"' in queue and "备件管理部" in queue
    detail = client.get(f"/followups/{followup.id}")
    assert detail.status_code == 200 and "请核查备件库存" in detail.get_data(as_text=True)
    assert f'action="/followups/{followup.id}/' not in detail.get_data(as_text=True)  # reads it; the PM acts
    auth.logout()
    auth.login("dept_outsider")
    assert 'href="/followups"' not in client.get("/").get_data(as_text=True)  # in no department: no nav item
    assert client.get(f"/followups/{followup.id}").status_code == 403
    assert f"/followups/{followup.id}" not in client.get("/followups").get_data(as_text=True)
