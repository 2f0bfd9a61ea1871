"""A key account's service report for the client (DESIGN §4.9, §7): one quarter of that client's
responses and scores (the one method of §5), complaints and their outcomes, follow-ups and the
callbacks made — nothing of another client's and nothing internal — as a PDF in the client's
language with an embedded CJK font."""
from datetime import date, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import event

from portal.extensions import db as _db
from portal.models import CallAttempt, CallbackDraw, CallbackTask, ComplaintSurvey, FollowUp, KeyAccount, ServiceCase
from portal.services.answers import parse_answers
from portal.services.complaints import register_complaint
from portal.services.key_accounts.report import service_report
from portal.services.pdf.key_account_report import render_service_report
from portal.services.responses import submit_response

from .. import pdftools

QUARTER = "2026Q4"
CALLBACK_QUESTIONS = [dict(code="overall", text="总体满意度", type="scale", scale="sat5_b", dimension="overall"),
                      dict(code="opinion", text="意见和建议", type="text", required=False)]
CHECK_QUESTIONS = [dict(code="speed", text="处理速度", type="scale", scale="sat5_b", dimension="timeliness"),
                   dict(code="overall", text="总体满意度", type="scale", scale="sat5_b", dimension="overall")]


def points10(raw):
    """The 10-point scale's option value on 1–5 (linear: 1 + 4 × (raw − 1) / 9)."""
    return 1 + 4 * (raw - 1) / 9


@pytest.fixture
def request_ctx(app):
    with app.test_request_context("/"):
        yield


class World:
    """Two key accounts, each with projects, responses, a complaint, a follow-up and callbacks."""

    def __init__(self, make):
        self.make = make
        self.quality = make.user(roles=("quality",), display_name="质量部坐席")
        self.pm_a = make.user(roles=("pm",), display_name="王经理")
        self.sales_a = make.user(roles=("sales",), display_name="刘销售")
        self.pm_b = make.user(roles=("pm",), display_name="孙经理")
        self.pm_form = make.template_version()
        self.callback_form = make.template_version(kind="callback", questions=CALLBACK_QUESTIONS)
        self.check_form = make.template_version(kind="complaint_followup", questions=CHECK_QUESTIONS)
        self.draw = CallbackDraw(quarter=QUARTER, priority="P2", seed=7, rate=0.5, closed=2, required=1,
                                 added=2, reason="first")
        _db.session.add(self.draw)
        self._n = 0

    def account(self, client, pm, *, language, sales=None):
        account = KeyAccount(client_id=client.id, pm_id=pm.id, sales_id=sales.id if sales else None,
                             service_contact_id=self.quality.id, report_language=language)
        _db.session.add(account)
        _db.session.flush()
        return account

    def respond(self, project, answers, *, on, contact=None, version=None, origin=None, channel="online",
                quarter=None):
        version = version or self.pm_form
        return submit_response(version, parse_answers(version, answers, complete=True), channel=channel,
                               project=project, contact=contact, origin=origin, submitted_at=on,
                               quarter=quarter, entered_by=self.quality if channel == "phone" else None)

    def ticket_call(self, project, reporter, external_id, outcomes, *, answers=None, at=datetime(2026, 11, 3, 2)):
        case = ServiceCase(external_id=external_id, project=project, priority="P2", reporter=reporter,
                           reporter_phone="13900000000", closed_at=datetime(2026, 10, 30, 2), quarter=QUARTER,
                           engineer="内部工程师甲")
        _db.session.add(case)
        _db.session.flush()
        self._n += 1
        task = CallbackTask(case=case, project_id=project.id, draw=self.draw, quarter=QUARTER, priority="P2",
                            rank=f"{self._n:04d}", assigned_to=self.quality, attempts_count=len(outcomes))
        return self._attempts(task, outcomes, at, answers)

    def relationship_call(self, account, project, contact, outcomes, *, answers=None, at=datetime(2026, 11, 20, 2)):
        task = CallbackTask(kind="relationship", key_account_id=account.id, project_id=project.id,
                            quarter=QUARTER, scheduled_on=date(2026, 11, 20), due_on=date(2026, 11, 20),
                            contact_id=contact.id, assigned_to=self.quality, attempts_count=len(outcomes))
        return self._attempts(task, outcomes, at, answers)

    def _attempts(self, task, outcomes, at, answers):
        _db.session.add(task)
        for i, outcome in enumerate(outcomes):
            task.attempts.append(CallAttempt(outcome=outcome, at=at.replace(hour=at.hour + i),
                                             by_id=self.quality.id, note="坐席备注：对方语气不耐烦"))
        _db.session.flush()
        if answers is not None:
            self.respond(task.project, answers, on=at, version=self.callback_form, origin=task, channel="phone")
            task.state = "reached"
        _db.session.flush()
        return task

    def complaint(self, project, contact, *, at, **handled):
        complaint = register_complaint(channel="phone", description="投诉原文：值班工程师赵某态度恶劣",
                                       by_user=self.quality, project=project, contact=contact,
                                       direction="timeliness", problem_type="complaint", now=at)
        for name, value in handled.items():
            setattr(complaint, name, value)
        _db.session.flush()
        return complaint


@pytest.fixture
def world(make, db):
    w = World(make)
    # client A: two projects, an English report
    w.client_a = make.client(name="华东电力公司", key_account=True)  # as if designated
    w.a1 = make.project(code="P-A1", name="城域网运维服务", client_=w.client_a, pm=w.pm_a, sales=w.sales_a)
    w.a2 = make.project(code="P-A2", name="数据中心迁移", client_=w.client_a, pm=w.pm_a)
    w.zhang = make.contact(w.client_a, name="张伟")
    w.account_a = w.account(w.client_a, w.pm_a, sales=w.sales_a, language="en")
    # client B: one project, a Chinese report
    w.client_b = make.client(name="西南电网公司", key_account=True)
    w.b1 = make.project(code="P-B1", name="变电站监控", client_=w.client_b, pm=w.pm_b)
    w.li = make.contact(w.client_b, name="李娜")
    w.account_b = w.account(w.client_b, w.pm_b, language="zh")

    q4 = datetime(2026, 10, 15, 2)
    w.r1 = w.respond(w.a1, {"q_attitude": "5", "q_timeliness": "4", "q_technical": "9"}, on=q4, contact=w.zhang)
    w.r1.verification_status = "authentic"
    w.r2 = w.respond(w.a1, {"q_attitude": "3", "q_timeliness": "na", "q_technical": "6",
                            "q_opinion": "希望加快响应"}, on=datetime(2026, 11, 5, 2), contact=w.zhang)
    w.r3 = w.respond(w.a2, {"q_attitude": "4", "q_timeliness": "2", "q_technical": "10"},
                     on=datetime(2026, 12, 1, 2))
    rejected = w.respond(w.a2, {"q_attitude": "5", "q_timeliness": "5", "q_technical": "10"}, on=q4)
    rejected.verification_status = "rejected"
    w.respond(w.a1, {"q_attitude": "5", "q_timeliness": "5", "q_technical": "10"},
              on=datetime(2026, 9, 20, 2), contact=w.zhang)  # the quarter before
    w.respond(w.b1, {"q_attitude": "2", "q_timeliness": "2", "q_technical": "1", "q_opinion": "乙方意见：太慢"},
              on=q4, contact=w.li)

    w.ticket_a = w.ticket_call(w.a1, "王明", "INC-A-0001", ["no_answer", "reached"], answers={"q_overall": "5"})
    w.relation_a = w.relationship_call(w.account_a, w.a1, w.zhang, ["reached"], answers={"q_overall": "4"})
    w.ticket_call(w.a2, "周杰", "INC-A-0002", ["busy"], at=datetime(2026, 9, 28, 2))  # called last quarter
    w.ticket_b = w.ticket_call(w.b1, "陈强", "INC-B-0001", ["reached"], answers={"q_overall": "3"})

    w.complaint_a = w.complaint(
        w.a1, w.zhang, at=datetime(2026, 10, 20, 2), state="closed", remedy_kind="apology",
        remedy="内部处理方案：书面道歉", findings="调查：值班表排错", company_fault=True,
        responsible_employee="赵工程师", notified_at=datetime(2026, 10, 22, 2),
        notification="已向贵方书面致歉并调整值班安排", closed_at=datetime(2026, 10, 23, 2))
    check = ComplaintSurvey(complaint=w.complaint_a, mode="callback", template_version=w.check_form)
    _db.session.add(check)
    _db.session.flush()
    w.respond(w.a1, {"q_speed": "4", "q_overall": "5"}, on=datetime(2026, 10, 26, 2), version=w.check_form,
              origin=check, contact=w.zhang, channel="phone")
    w.penalty_a = w.complaint(
        w.a2, w.zhang, at=datetime(2026, 11, 10, 2), state="notified", remedy_kind="penalty",
        remedy="扣发当月绩效", notified_at=datetime(2026, 11, 12, 2), notification="问题已处理完毕")
    w.old_a = w.complaint(w.a1, w.zhang, at=datetime(2026, 8, 1, 2), state="closed",
                          closed_at=datetime(2026, 8, 5, 2))  # neither registered nor closed in Q4
    w.complaint_b = w.complaint(w.b1, w.li, at=datetime(2026, 11, 2, 2))

    for followup in _db.session.scalars(_db.select(FollowUp)):
        followup.created_at = followup.response.submitted_at  # opened when the response came in
    w.followup_a = _db.session.scalar(_db.select(FollowUp).where(FollowUp.response_id == w.r2.id))
    w.followup_a.state, w.followup_a.resolved_at = "resolved", datetime(2026, 11, 9, 2)
    w.followup_a.cause = "夜间值班人手不足"
    w.followup_a.corrective_action = "增加夜间值班工程师"
    w.followup_a.contact_note = "内部记录：客户脾气急"
    w.followup_a.escalation_reason = "内部升级原因"
    _db.session.commit()
    return w


# --- the data ---------------------------------------------------------------------------------

def test_scores_follow_the_one_method_by_hand(world):
    report = service_report(world.account_a, QUARTER)
    s1 = (5 + 4 + points10(9)) / 3
    s2 = (3 + points10(6)) / 2                  # timeliness N/A: left out, not 0
    s3 = (4 + 2 + points10(10)) / 3
    ticket, relationship, check = 5.0, 4.0, (4 + 5) / 2
    scores = [s1, s2, s3, ticket, relationship, check]  # the rejected and last quarter's left out
    assert sorted(r.score for r in report.responses) == pytest.approx(sorted(scores))
    assert report.overall.responses == 6
    assert report.overall.score == pytest.approx(sum(scores) / 6)
    assert report.overall.satisfaction_rate == pytest.approx(4 / 6)  # s1, ticket, relationship, check ≥ 4
    dims = {d.dimension: d.summary for d in report.dimensions}
    assert list(dims) == ["attitude", "timeliness", "technical", "overall"]
    assert dims["attitude"].score == pytest.approx((5 + 3 + 4) / 3)
    assert dims["attitude"].satisfaction_rate == pytest.approx(2 / 3)
    assert dims["timeliness"].score == pytest.approx((4 + 2 + 4) / 3)  # r2 N/A; the check's speed
    assert dims["timeliness"].responses == 3
    assert dims["technical"].score == pytest.approx((points10(9) + points10(6) + points10(10)) / 3)
    assert dims["overall"].score == pytest.approx((5 + 4 + 5) / 3)
    assert dims["overall"].satisfaction_rate == 1.0


def test_each_report_holds_only_its_clients_records(world):
    a = service_report(world.account_a, QUARTER)
    assert {r.project_code for r in a.responses} == {"P-A1", "P-A2"}
    assert [c.reference for c in a.complaints] == [world.complaint_a.reference, world.penalty_a.reference]
    assert {f.project_code for f in a.followups} == {"P-A1", "P-A2"}
    assert [(c.kind, c.ticket, c.person, c.outcome, c.attempts) for c in a.callbacks] == [
        ("ticket", "INC-A-0001", "王明", "reached", 2), ("relationship", None, "张伟", "reached", 1)]
    assert [c.score for c in a.callbacks] == [5.0, 4.0]
    assert [p.code for p in a.projects] == ["P-A1", "P-A2"]
    assert [(m.role, m.name) for m in a.team] == [("pm", "王经理"), ("service_contact", "质量部坐席"),
                                                  ("sales", "刘销售")]
    b = service_report(world.account_b, QUARTER)
    assert [r.respondent for r in b.responses] == ["李娜", None]  # the form, then the callback's
    assert [c.reference for c in b.complaints] == [world.complaint_b.reference]
    assert [c.ticket for c in b.callbacks] == ["INC-B-0001"]
    assert len(b.followups) == 2  # the form's comment and the callback's score of 3


def test_complaint_outcomes_are_what_the_client_was_told(world):
    closed, penalty = service_report(world.account_a, QUARTER).complaints
    assert (closed.state, closed.remedy_kind, closed.outcome) == ("closed", "apology", "已向贵方书面致歉并调整值班安排")
    assert closed.check_score == pytest.approx(4.5)
    assert penalty.remedy_kind is None and penalty.outcome == "问题已处理完毕"  # an internal penalty is not shown
    [registered] = service_report(world.account_b, QUARTER).complaints
    assert registered.outcome is None and registered.remedy_kind is None and registered.check_score is None


def test_an_invalid_complaint_shows_the_explanation_the_complainant_was_given(world):
    world.complaint_b.state, world.complaint_b.invalid_reason = "invalid", "经核实为第三方线路故障"
    world.complaint_b.findings = "内部核查记录"
    _db.session.commit()
    [invalid] = service_report(world.account_b, QUARTER).complaints
    assert (invalid.state, invalid.outcome) == ("invalid", "经核实为第三方线路故障")


def test_followups_show_cause_and_corrective_action(world):
    followups = service_report(world.account_a, QUARTER).followups
    resolved = next(f for f in followups if f.state == "resolved")
    assert (resolved.cause, resolved.corrective_action) == ("夜间值班人手不足", "增加夜间值班工程师")
    assert resolved.project_code == "P-A1"


def test_a_quarter_without_anything_is_empty(world):
    report = service_report(world.account_a, "2025Q1")
    assert (report.responses, report.complaints, report.followups, report.callbacks, report.dimensions) == \
        ((), (), (), (), ())
    assert report.overall.score is None and report.overall.responses == 0


def test_a_fixed_number_of_statements_whatever_the_data(world, make):
    def count():
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(_db.engine, "before_cursor_execute", listener)
        try:
            service_report(_db.session.get(KeyAccount, world.account_a.id), QUARTER)
        finally:
            event.remove(_db.engine, "before_cursor_execute", listener)
        return len(statements)

    _db.session.expire_all()
    before = count()
    for i in range(3):
        project = make.project(code=f"P-A9{i}", client_=world.client_a, pm=world.pm_a)
        world.respond(project, {"q_attitude": "4", "q_timeliness": "4", "q_technical": "8"},
                      on=datetime(2026, 11, 1, 2), contact=world.zhang)
        world.ticket_call(project, "新申告人", f"INC-A-9{i}", ["reached"], answers={"q_overall": "5"})
        world.complaint(project, world.zhang, at=datetime(2026, 11, 15, 2))
    _db.session.commit()
    _db.session.expire_all()
    assert count() == before


def test_a_bad_quarter_is_refused(world):
    with pytest.raises(ValueError):
        service_report(world.account_a, "2026Q5")


# --- the PDF ----------------------------------------------------------------------------------

INTERNAL = ("赵工程师", "调查：值班表排错", "内部处理方案", "扣发当月绩效", "坐席备注", "内部记录", "内部升级原因",
            "投诉原文", "内部工程师甲", "13900000000")


def test_each_pdf_shows_only_its_clients_data_with_an_embedded_cjk_font(world, request_ctx):
    pdf_a = render_service_report(service_report(world.account_a, QUARTER))
    pdf_b = render_service_report(service_report(world.account_b, QUARTER))
    assert pdftools.embedded_cjk_fonts(pdf_a.data) and pdftools.embedded_cjk_fonts(pdf_b.data)
    text_a, text_b = pdftools.text(pdf_a.data), pdftools.text(pdf_b.data)
    mine_a = ("华东电力公司", "P-A1", "P-A2", "张伟", "王明", "INC-A-0001", world.complaint_a.reference,
              world.penalty_a.reference, "希望加快响应", "夜间值班人手不足", "王经理")
    mine_b = ("西南电网公司", "P-B1", "李娜", "陈强", "INC-B-0001", world.complaint_b.reference, "乙方意见", "孙经理")
    for name in mine_a:
        assert name in text_a and name not in text_b, name
    for name in mine_b:
        assert name in text_b and name not in text_a, name
    for internal in INTERNAL:
        assert internal not in text_a, internal
    assert world.old_a.reference not in text_a and "INC-A-0002" not in text_a


def test_the_report_is_in_the_clients_language(world, request_ctx):
    with force_locale("zh"):  # whoever prints it: the account's language
        text_a = pdftools.text(render_service_report(service_report(world.account_a, QUARTER)).data)
    with force_locale("en"):
        text_b = pdftools.text(render_service_report(service_report(world.account_b, QUARTER)).data)
    for heading in ("Customer service report", "Satisfaction scores", "Responses", "Complaints", "Follow-ups",
                    "Callbacks", "Your service team", "Apology"):
        assert heading in text_a, heading
    for heading in ("客户服务报告", "满意度得分", "答卷", "投诉", "跟进", "回访", "服务团队"):
        assert heading in text_b, heading
    assert "Customer service report" not in text_b and "客户服务报告" not in text_a
    assert "Internal penalty" not in text_a


def test_the_scores_print_rounded_only_for_display(world, request_ctx):
    text = pdftools.text(render_service_report(service_report(world.account_a, QUARTER)).data)
    s = [(5 + 4 + points10(9)) / 3, (3 + points10(6)) / 2, (4 + 2 + points10(10)) / 3, 5.0, 4.0, 4.5]
    assert f"{sum(s) / 6:.2f}" in text and "66.7%" in text
    assert "4.00" in text  # attitude


def test_empty_sections_say_so(world, request_ctx):
    text = pdftools.text(render_service_report(service_report(world.account_a, "2025Q1")).data)
    for empty in ("No responses in this quarter.", "No complaints registered or closed in this quarter.",
                  "No follow-ups opened in this quarter.", "No callbacks made in this quarter."):
        assert empty in text, empty
