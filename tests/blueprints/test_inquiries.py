"""Sales inquiry pages: the due list, recording an inquiry (on behalf, errors beside fields, a
repeated submit), the inquiry page and PDF, the on-behalf mark where the response appears,
the executives' acknowledgement of a major problem, home sections and the project panel."""
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.models import FollowUp, SalesInquiry
from portal.services.quarters import local_today

from ..factories import SALES_VISIT_QUESTIONS

HX = {"HX-Request": "true"}


@pytest.fixture
def world(make):
    sales = make.user("sales_i", roles=("sales",))
    make.user("sales_other", roles=("sales",))
    pm = make.user("pm_i", roles=("pm",))
    make.user("exec_i", roles=("exec",), display_name="技术总监 钱")
    make.user("exec_j", roles=("exec",))
    make.user("pmo_i", roles=("pmo",))
    project = make.project(pm=pm, sales=sales, status="completed", end_date=date(2026, 3, 31),
                           code="PRJ-INQ-1", name="机房运维项目")
    version = make.template_version(kind="sales_visit", questions=SALES_VISIT_QUESTIONS)
    buyer = make.contact(project.client, name="采购 李", function="procurement")
    return {"sales": sales, "project": project, "version": version, "buyer": buyer}


def form_of(client, url):
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="submission_key"[^>]*value="([^"]+)"', page).group(1)


def inquiry_post(client, world, key=None, **overrides):
    url = f"/projects/{world['project'].id}/inquiries/new"
    key = key or form_of(client, url)
    data = {"inquired_on": local_today().isoformat(), "mode": "phone", "trigger": "completion",
            "contacts": [str(world["buyer"].id)], "respondent": str(world["buyer"].id),
            "on_behalf": "y", "version": str(world["version"].id), "submission_key": key,
            "q_attitude": "2", "q_overall": "4", "q_opinion": "希望现场响应更快",
            "major_problem": "y", "major_problem_description": "客户准备把二期交给别家"}
    data.update(overrides)
    return client.post_form(url, {k: v for k, v in data.items() if v is not None}, token_from=url)


def test_the_sales_owner_sees_the_project_due_and_records_an_on_behalf_inquiry(client, auth, world, db):
    auth.login("sales_i")
    index = client.get("/inquiries").get_data(as_text=True)
    assert "PRJ-INQ-1" in index and f"/projects/{world['project'].id}/inquiries/new" in index
    response = inquiry_post(client, world)
    assert response.status_code == 303
    inquiry = db.session.scalar(select(SalesInquiry))
    assert response.headers["Location"].endswith(f"/inquiries/{inquiry.id}")
    assert inquiry.on_behalf and inquiry.response.channel == "on_behalf" and inquiry.mode == "phone"
    detail = client.get(f"/inquiries/{inquiry.id}").get_data(as_text=True)
    assert 'data-channel="on_behalf"' in detail and "客户准备把二期交给别家" in detail
    assert 'data-channel="on_behalf"' in client.get("/inquiries").get_data(as_text=True)
    assert "Filled on behalf" in client.get(f"/responses/{inquiry.response_id}").get_data(as_text=True)
    # nothing due any more
    home = client.get("/").get_data(as_text=True)
    assert "None of your projects is due an inquiry." in home


def test_the_same_form_posted_twice_records_one_inquiry(client, auth, world, db):
    auth.login("sales_i")
    key = form_of(client, f"/projects/{world['project'].id}/inquiries/new")
    first = inquiry_post(client, world, key=key)
    second = inquiry_post(client, world, key=key)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(SalesInquiry.id))) == 1


def test_errors_are_shown_beside_their_fields_and_nothing_is_stored(client, auth, world, db):
    auth.login("sales_i")
    response = inquiry_post(client, world, mode="", q_overall=None, major_problem_description="")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Say how the inquiry was made." in page and "Describe the major problem." in page
    assert db.session.scalar(select(func.count(SalesInquiry.id))) == 0
    response = inquiry_post(client, world, major_problem=None, major_problem_description=None,
                            q_overall=None)
    assert response.status_code == 422 and db.session.scalar(select(func.count(SalesInquiry.id))) == 0


@pytest.mark.parametrize("username", ["sales_other", "pm_i", "exec_i"])
def test_only_the_sales_owner_may_record(client, auth, world, username, db):
    auth.login(username)
    url = f"/projects/{world['project'].id}/inquiries/new"
    assert client.get(url).status_code == 403
    response = client.post_form(url, {"mode": "visit"}, token_from="/")
    assert response.status_code == 403
    assert db.session.scalar(select(func.count(SalesInquiry.id))) == 0


def test_another_sales_owner_cannot_see_the_inquiry(client, auth, world, make):
    inquiry = make.inquiry(world["project"], world["sales"], version=world["version"],
                           contacts=[world["buyer"]])
    auth.login("sales_other")
    assert client.get(f"/inquiries/{inquiry.id}").status_code == 403
    assert client.get(f"/pdf/inquiries/{inquiry.id}.pdf").status_code == 403
    assert "PRJ-INQ-1" not in client.get("/inquiries").get_data(as_text=True)


def test_a_major_problem_waits_on_the_exec_home_until_acknowledged(client, auth, world, make, db):
    inquiry = make.inquiry(world["project"], world["sales"], version=world["version"],
                           contacts=[world["buyer"]], major_problem="机房两次断电")
    auth.login("exec_i")
    home = client.get("/").get_data(as_text=True)
    assert "Major problems awaiting acknowledgement" in home and "机房两次断电" in home
    empty = client.post_form(f"/inquiries/{inquiry.id}/acknowledge", {"note": " "}, htmx=True,
                             token_from=f"/inquiries/{inquiry.id}")
    assert empty.status_code == 422 and "Write what you will do about it." in empty.get_data(as_text=True)
    done = client.post_form(f"/inquiries/{inquiry.id}/acknowledge", {"note": "明天上门拜访客户"},
                            token_from=f"/inquiries/{inquiry.id}")
    assert done.status_code == 303
    page = client.get(f"/inquiries/{inquiry.id}").get_data(as_text=True)
    assert "Acknowledged by 技术总监 钱" in page and "明天上门拜访客户" in page
    assert "机房两次断电" not in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login("exec_j")
    again = client.post_form(f"/inquiries/{inquiry.id}/acknowledge", {"note": "我也看看"},
                             token_from=f"/inquiries/{inquiry.id}")
    assert again.status_code == 422 and "already acknowledged" in again.get_data(as_text=True)
    assert db.session.get(SalesInquiry, inquiry.id).acknowledgement_note == "明天上门拜访客户"


def test_only_executives_acknowledge(client, auth, world, make):
    inquiry = make.inquiry(world["project"], world["sales"], version=world["version"],
                           contacts=[world["buyer"]], major_problem="问题")
    auth.login("sales_i")
    response = client.post_form(f"/inquiries/{inquiry.id}/acknowledge", {"note": "x"},
                                token_from=f"/inquiries/{inquiry.id}")
    assert response.status_code == 403


def test_the_pdf_is_served_and_the_project_page_lists_the_inquiry(client, auth, world, make):
    inquiry = make.inquiry(world["project"], world["sales"], version=world["version"],
                           contacts=[world["buyer"]], on_behalf=True)
    auth.login("sales_i")
    pdf = client.get(f"/pdf/inquiries/{inquiry.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    project_page = client.get(f"/projects/{world['project'].id}").get_data(as_text=True)
    assert 'id="project-inquiries"' in project_page and f"/inquiries/{inquiry.id}" in project_page
    assert 'data-channel="on_behalf"' in project_page


def test_a_low_score_inquiry_gives_the_pm_a_follow_up_shown_on_the_project_page(client, auth, world, make, db):
    inquiry = make.inquiry(world["project"], world["sales"], {"q_attitude": "1", "q_overall": "3"},
                           version=world["version"], contacts=[world["buyer"]], on_behalf=True)
    followup = db.session.scalar(select(FollowUp).where(FollowUp.response_id == inquiry.response_id))
    auth.login("pm_i")
    page = client.get(f"/projects/{world['project'].id}").get_data(as_text=True)
    assert 'id="project-followups"' in page and f"/followups/{followup.id}" in page
    listing = client.get("/followups").get_data(as_text=True)
    assert 'data-channel="on_behalf"' in listing
