"""The sales visit record PDF (DESIGN §7, §4.2), rendered for real: Chinese labels drawn with
an embedded CJK font, the people met with their functions, the on-behalf banner, the answers,
and a major problem with its acknowledgement."""
import re
from datetime import date

import pytest
from flask_babel import force_locale

from portal.labels import INQUIRY_TRIGGER_LABELS
from portal.services.major_problems import acknowledge
from portal.services.pdf.sales_visit import render_sales_visit, sales_visit_context

from .. import pdftools

BANNER = "代客户填写"
ANSWERS = {"q_attitude": "4", "q_overall": "5", "q_opinion": "希望加快备件响应。"}


@pytest.fixture
def request_ctx(app):
    with app.test_request_context("/"):
        yield


def _flat(data):
    """The PDF's text without the line breaks and spaces of its layout."""
    return re.sub(r"\s+", "", pdftools.text(data))


def _world(make):
    sales = make.user(roles=("sales",), display_name="李销售")
    pm = make.user(roles=("pm",), display_name="王建国")
    project = make.project(pm=pm, sales=sales, code="P-2026-031", name="园区网络改造项目",
                           status="completed", end_date=date(2026, 1, 31))
    people = [make.contact(project.client, name="陈晓明", function="procurement"),
              make.contact(project.client, name="周工", function="construction"),
              make.contact(project.client, name="吴主任", function="department_head")]
    return project, sales, people


def test_record_renders_chinese_with_an_embedded_cjk_font(make, request_ctx):
    project, sales, people = _world(make)
    inquiry = make.inquiry(project, sales, ANSWERS, contacts=people, on=date(2026, 2, 10))
    pdf = render_sales_visit(inquiry)
    assert pdf.data.startswith(b"%PDF-")
    assert pdftools.embedded_cjk_fonts(pdf.data), pdftools.fonts(pdf.data)
    assert pdftools.dark_share(pdftools.page_image(pdf.data), box=(0.08, 0.08, 0.92, 0.92)) > 0.005
    assert pdf.filename == "sales-visit-P-2026-031-2026-02-10.pdf"
    text = _flat(pdf.data)
    assert "销售回访记录" in text
    with force_locale("zh"):
        completion = str(INQUIRY_TRIGGER_LABELS["completion"])
    for expected in ("P-2026-031", "园区网络改造项目", project.client.name, "王建国", "李销售",
                     "2026-02-10", "拜访", completion + "，2026-01-31"):
        assert re.sub(r"\s+", "", expected) in text, expected


def test_record_lists_the_people_met_with_their_function_then(make, db, request_ctx):
    project, sales, people = _world(make)
    inquiry = make.inquiry(project, sales, ANSWERS, contacts=people)
    people[1].function = "ops_leader"  # a later change does not rewrite what was recorded
    db.session.commit()
    with force_locale("zh"):
        record = sales_visit_context(inquiry)
    assert [(p.name, p.function, p.respondent) for p in record.people] == [
        ("陈晓明", "采购", True), ("周工", "施工/实施", False), ("吴主任", "部门负责人", False)]
    text = _flat(render_sales_visit(inquiry).data)
    for name, function in (("陈晓明", "采购"), ("周工", "施工/实施"), ("吴主任", "部门负责人")):
        assert name + function in text, (name, function)


def test_record_shows_the_answers_and_the_form_score(make, request_ctx):
    project, sales, people = _world(make)
    inquiry = make.inquiry(project, sales, ANSWERS, contacts=people)
    text = _flat(render_sales_visit(inquiry).data)
    assert "项目团队的服务态度" in text and "对本项目的总体满意程度" in text
    assert "希望加快备件响应。" in text
    assert inquiry.response.score is not None
    assert "问卷得分（1–5）" + sales_visit_context(inquiry).score in text


@pytest.mark.parametrize("on_behalf", [True, False])
def test_on_behalf_banner_only_when_filled_on_the_clients_behalf(make, request_ctx, on_behalf):
    project, sales, people = _world(make)
    inquiry = make.inquiry(project, sales, ANSWERS, contacts=people, mode="phone", on_behalf=on_behalf)
    text = _flat(render_sales_visit(inquiry).data)
    assert (BANNER in text) is on_behalf
    assert "电话" in text


def test_milestone_inquiry_names_the_milestone_and_when_it_was_reached(make, request_ctx):
    project, sales, people = _world(make)
    milestone = make.milestone(project, name="初验通过", is_key=True, reached_date=date(2026, 3, 2))
    inquiry = make.inquiry(project, sales, ANSWERS, contacts=people, on=date(2026, 3, 5),
                           trigger=f"milestone:{milestone.id}")
    text = _flat(render_sales_visit(inquiry).data)
    assert "已达成关键里程碑" in text and "初验通过" in text and "2026-03-02" in text


def test_major_problem_waits_for_acknowledgement_then_shows_it(make, db, request_ctx):
    project, sales, people = _world(make)
    executive = make.user(roles=("exec",), display_name="赵总")
    inquiry = make.inquiry(project, sales, ANSWERS, contacts=people, major_problem="机房空调多次故障，客户考虑更换服务商。")
    text = _flat(render_sales_visit(inquiry).data)
    assert "重大问题" in text and "机房空调多次故障，客户考虑更换服务商。" in text
    assert "尚未经高层确认" in text

    acknowledge(inquiry, executive, "本周内安排专人上门处理。")
    db.session.commit()
    text = _flat(render_sales_visit(inquiry).data)
    assert "尚未经高层确认" not in text
    assert "赵总" in text and "本周内安排专人上门处理。" in text


def test_no_major_problem_section_when_none_was_raised(make, request_ctx):
    project, sales, people = _world(make)
    inquiry = make.inquiry(project, sales, ANSWERS, contacts=people)
    assert sales_visit_context(inquiry).major_problem is None
    assert "重大问题" not in _flat(render_sales_visit(inquiry).data)


def test_labels_stay_chinese_for_an_english_reader(make, request_ctx):
    project, sales, people = _world(make)
    inquiry = make.inquiry(project, sales, ANSWERS, contacts=people)
    with force_locale("en"):
        text = _flat(render_sales_visit(inquiry).data)
    assert "销售回访记录" in text and "签字" in text and "Sales visit record" not in text
