"""The callback summary of a quarter (DESIGN §4.3.4, §7): per priority the closed cases, the
calls the rate requires (⌈rate × closed⌉, exactly), drawn and reached, and whether the rate was
met; every called case beside its last outcome, attempts and score; as PDF and as XLSX."""
import io
import re
import zipfile
from datetime import date, datetime

import pytest
from python_calamine import CalamineWorkbook

from portal.extensions import db as _db
from portal.models import CallAttempt, CallbackDraw, CallbackTask, ServiceCase
from portal.services.answers import parse_answers
from portal.services.callbacks.summary import (TOTAL, callback_summary, callback_summary_xlsx,
                                               required_for, summary_quarters)
from portal.services.pdf.callback_summary import render_callback_summary
from portal.services.responses import submit_response
from portal.services.settings import set_setting
from portal.services.xlsx import Percent, write_xlsx

from .. import pdftools

QUARTER = "2026Q4"
FORMULA_REPORTERS = ('=HYPERLINK("http://x")', "+1", "@SUM(1)", "-2", "\tx", "\ry")


@pytest.fixture
def request_ctx(app):
    with app.test_request_context("/"):
        yield


class World:
    """A quarter of closed cases, the calls drawn from them and what came of each call."""

    def __init__(self, make):
        self.agent = make.user(roles=("quality",), display_name="质量部坐席")
        self.project = make.project(code="P-2026-101", name="城域网运维服务",
                                    client_=make.client(name="华东电力公司"))
        self.other = make.project(code="P-2026-102", name="数据中心迁移")
        self.version = make.template_version(kind="callback")
        self.draws = {}
        self._n = 0

    def case(self, priority, closed_at, *, quarter=QUARTER, project=None, reporter=None, external_id=None):
        self._n += 1
        case = ServiceCase(external_id=external_id or f"INC-{self._n:04d}", project=project or self.project,
                           priority=priority, reporter=reporter or f"申告人{self._n}",
                           reporter_phone="13800000000", closed_at=closed_at, quarter=quarter,
                           engineer=f"工程师{self._n % 3}")
        _db.session.add(case)
        _db.session.flush()
        return case

    def cases(self, priority, n, day=1, **kw):
        return [self.case(priority, datetime(2026, 10, day + i % 28, 3, 0), **kw) for i in range(n)]

    def draw(self, priority, quarter=QUARTER):
        if (quarter, priority) not in self.draws:
            self.draws[quarter, priority] = CallbackDraw(
                quarter=quarter, priority=priority, seed=42, rate=0.5, closed=0, required=0, added=0,
                reason="first")
            _db.session.add(self.draws[quarter, priority])
        return self.draws[quarter, priority]

    def task(self, case, outcomes=(), *, answers=None, state=None, failed_reason=None):
        """A drawn call with its attempts (outcomes, in order); ``answers``: the callback form."""
        task = CallbackTask(case=case, project_id=case.project_id, draw=self.draw(case.priority, case.quarter),
                            quarter=case.quarter,
                            priority=case.priority, rank=f"{self._n:06d}", assigned_to=self.agent,
                            state=state or "open", attempts_count=len(outcomes), failed_reason=failed_reason)
        _db.session.add(task)
        for i, outcome in enumerate(outcomes):
            task.attempts.append(CallAttempt(outcome=outcome, at=datetime(2026, 11, 2, 1 + i, 0),
                                             by_id=self.agent.id))
        _db.session.flush()
        if answers is not None:
            submit_response(self.version, parse_answers(self.version, answers, complete=True),
                            channel="phone", project=case.project, origin=task, entered_by=self.agent)
            task.state = "reached"
            _db.session.flush()
        return task


GOOD = {"q_attitude": "5", "q_timeliness": "4", "q_technical": "9"}
FAIR = {"q_attitude": "4", "q_timeliness": "4", "q_technical": "8"}


@pytest.fixture
def world(make):
    """P1: 2 closed, both reached (met). P2: 3 closed, 1 reached, 1 refused, 1 still open (short
    of ⌈1.5⌉ = 2). P3: 15 closed, 3 reached (⌈0.2 × 15⌉ = 3 exactly: met). P4: no case.
    A case of the quarter before, called, stays out."""
    w = World(make)
    p1 = w.cases("P1", 2, day=5)
    w.tasks = {
        "p1a": w.task(p1[0], ["no_answer", "reached"], answers=GOOD),
        "p1b": w.task(p1[1], ["reached"], answers=FAIR),
    }
    p2 = [w.case("P2", datetime(2026, 10, 3, 20, 0), external_id="INC-LATE-NIGHT"),  # 10-04 in Shanghai
          w.case("P2", datetime(2026, 11, 1, 2, 0)), w.case("P2", datetime(2026, 12, 1, 2, 0))]
    w.tasks.update(
        p2_reached=w.task(p2[2], ["busy", "busy", "reached"], answers=GOOD),
        p2_refused=w.task(p2[0], ["refused"], state="failed", failed_reason="refused"),
        p2_open=w.task(p2[1], ["no_answer", "busy"]),
    )
    p3 = w.cases("P3", 15, day=1, project=w.other)
    for i, case in enumerate(p3[:3]):
        w.tasks[f"p3_{i}"] = w.task(case, ["reached"], answers=GOOD)
    earlier = w.case("P1", datetime(2026, 8, 1, 2, 0), quarter="2026Q3")
    w.task(earlier, ["reached"], answers=GOOD)
    w.case("P4", datetime(2026, 7, 1, 2, 0), quarter="2026Q3")
    _db.session.commit()
    return w


def _by_priority(summary):
    return {row.priority: row for row in summary.priorities}


# --- the figures ----------------------------------------------------------------------------

@pytest.mark.parametrize("rate, closed, required", [
    (0.2, 15, 3), (0.05, 20, 1), (0.05, 21, 2), (0.05, 1, 1), (0.8, 2, 2), (0.5, 3, 2),
    (0.8, 0, 0), (0.1, 30, 3), (0.7, 10, 7), (1.0, 7, 7), (0.0, 9, 0)])
def test_required_calls_are_the_exact_ceiling_of_rate_times_closed(rate, closed, required):
    assert required_for(rate, closed) == required


def test_each_priority_shows_closed_required_drawn_reached_and_whether_the_rate_was_met(world):
    summary = callback_summary(QUARTER)
    assert summary.quarter == QUARTER
    assert [r.priority for r in summary.priorities] == ["P1", "P2", "P3", "P4"]
    rows = {p: (r.target_rate, r.closed, r.required, r.drawn, r.reached, r.shortfall, r.met)
            for p, r in _by_priority(summary).items()}
    assert rows == {
        "P1": (0.8, 2, 2, 2, 2, 0, True),
        "P2": (0.5, 3, 2, 3, 1, 1, False),
        "P3": (0.2, 15, 3, 3, 3, 0, True),    # 0.2 × 15 is 3, not 4
        "P4": (0.05, 0, 0, 0, 0, 0, True),
    }
    p = _by_priority(summary)
    assert p["P1"].achieved_rate == 1.0
    assert p["P2"].achieved_rate == pytest.approx(1 / 3)
    assert p["P3"].achieved_rate == pytest.approx(0.2)
    assert p["P4"].achieved_rate is None


def test_the_totals_add_the_priorities_and_fail_when_one_priority_falls_short(world):
    totals = callback_summary(QUARTER).totals
    assert (totals.priority, totals.target_rate, totals.closed, totals.required, totals.drawn,
            totals.reached, totals.shortfall, totals.met) == (TOTAL, None, 20, 7, 8, 6, 1, False)
    assert totals.achieved_rate == pytest.approx(6 / 20)


def test_the_target_rates_are_the_settings(world, make):
    admin = make.user(roles=("admin",))
    set_setting("callback.rate_p2", 0.3, actor=admin)
    p2 = _by_priority(callback_summary(QUARTER))["P2"]
    assert (p2.target_rate, p2.required, p2.shortfall, p2.met) == (0.3, 1, 0, True)


def test_a_quarter_without_cases_has_empty_rows_that_meet_nothing_owed(world):
    summary = callback_summary("2025Q1")
    assert all((r.closed, r.required, r.drawn, r.reached, r.met) == (0, 0, 0, 0, True)
               for r in summary.priorities)
    assert summary.cases == ()


def test_an_invalid_quarter_is_refused(world):
    with pytest.raises(ValueError):
        callback_summary("2026Q5")


def test_summary_quarters_lists_the_quarters_with_cases_newest_first(world):
    assert summary_quarters() == ["2026Q4", "2026Q3"]


def test_the_case_rows_show_ticket_columns_last_outcome_attempts_and_score(world):
    summary = callback_summary(QUARTER)
    rows = {r.task_id: r for r in summary.cases}
    assert len(rows) == 8  # the quarter's calls only
    t = world.tasks
    first = rows[t["p1a"].id]
    assert (first.external_id, first.project_code, first.project_name, first.client, first.priority,
            first.state, first.outcome, first.attempts) == (
        t["p1a"].case.external_id, "P-2026-101", "城域网运维服务", "华东电力公司", "P1", "reached",
        "reached", 2)
    assert first.reporter == t["p1a"].case.reporter and first.engineer == t["p1a"].case.engineer
    assert first.response_id == t["p1a"].response_id is not None
    assert first.score == pytest.approx(t["p1a"].response.score)
    refused = rows[t["p2_refused"].id]
    assert (refused.external_id, refused.closed_at, refused.state, refused.outcome, refused.attempts,
            refused.score, refused.response_id) == ("INC-LATE-NIGHT", "2026-10-04", "failed", "refused", 1,
                                                    None, None)
    still_open = rows[t["p2_open"].id]
    assert (still_open.state, still_open.outcome, still_open.attempts) == ("open", "busy", 2)
    assert rows[t["p2_reached"].id].attempts == 3 and rows[t["p2_reached"].id].outcome == "reached"


def test_the_case_rows_are_ordered_by_priority_then_state_then_closed_date(world):
    cases = callback_summary(QUARTER).cases
    t = world.tasks
    assert [c.task_id for c in cases] == [
        t["p1a"].id, t["p1b"].id, t["p2_reached"].id, t["p2_open"].id, t["p2_refused"].id,
        t["p3_0"].id, t["p3_1"].id, t["p3_2"].id]


def test_a_call_not_attempted_yet_has_no_outcome(world):
    task = world.task(world.case("P4", datetime(2026, 12, 20, 2, 0)))
    _db.session.commit()
    row = next(r for r in callback_summary(QUARTER).cases if r.task_id == task.id)
    assert (row.state, row.outcome, row.attempts, row.score) == ("open", None, 0, None)


def test_the_last_attempt_is_the_latest_in_time_whatever_order_it_was_logged(world):
    task = world.tasks["p2_open"]
    _db.session.add(CallAttempt(task=task, outcome="wrong_number", at=datetime(2026, 11, 1, 0, 0)))
    _db.session.commit()
    row = next(r for r in callback_summary(QUARTER).cases if r.task_id == task.id)
    assert (row.outcome, row.attempts) == ("busy", 3)


def test_the_summary_takes_a_fixed_number_of_queries(world, app):
    from sqlalchemy import event
    statements = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", listener)
    try:
        callback_summary(QUARTER)
    finally:
        event.remove(_db.engine, "before_cursor_execute", listener)
    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(selects) == 4, selects  # closed cases, tasks, the settings, the case rows


# --- the PDF --------------------------------------------------------------------------------

def _flat(data):
    return re.sub(r"\s+", "", pdftools.text(data))


def _page_size(data):
    info = pdftools._with_file(data, "pdfinfo").stdout.decode()
    return tuple(map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups()))


def _rate_lines(data):
    """{first cell: the other cells} of the per-priority table's lines."""
    lines = {}
    for line in pdftools.text(data).splitlines():
        cells = line.split()
        if cells and cells[0] in ("P1", "P2", "P3", "P4", "合计"):
            lines.setdefault(cells[0], cells[1:])
    return lines


def test_the_pdf_is_a_landscape_chinese_table_with_an_embedded_cjk_font(world, request_ctx):
    pdf = render_callback_summary(callback_summary(QUARTER))
    assert pdf.filename == "callback-summary-2026Q4.pdf"
    assert pdf.data.startswith(b"%PDF-")
    assert pdftools.embedded_cjk_fonts(pdf.data), pdftools.fonts(pdf.data)
    width, height = _page_size(pdf.data)
    assert (round(width), round(height)) == (842, 595)  # A4 landscape, in points
    text = _flat(pdf.data)
    for expected in ("回访汇总表", "2026Q4", "第1页", "华东电力公司", "城域网运维服务", "INC-LATE-NIGHT",
                     "2026-10-04", "拒绝", "占线", "已回访", "未达标", "达标"):
        assert expected in text, expected
    for case in callback_summary(QUARTER).cases:
        assert case.external_id in text


def test_the_pdf_shows_the_figures_of_each_priority(world, request_ctx):
    lines = _rate_lines(render_callback_summary(callback_summary(QUARTER)).data)
    #                target closed required drawn reached achieved shortfall met
    assert lines["P1"] == ["80%", "2", "2", "2", "2", "100.0%", "0", "✓", "达标"]
    assert lines["P2"] == ["50%", "3", "2", "3", "1", "33.3%", "1", "×", "未达标"]
    assert lines["P3"] == ["20%", "15", "3", "3", "3", "20.0%", "0", "✓", "达标"]
    assert lines["P4"] == ["5%", "0", "0", "0", "0", "–", "0", "–", "无关闭工单"]
    assert lines["合计"] == ["–", "20", "7", "8", "6", "30.0%", "1", "×", "未达标"]


def test_the_pdf_shows_each_case_with_its_outcome_attempts_and_score(world, request_ctx):
    summary = callback_summary(QUARTER)
    text = pdftools.text(render_callback_summary(summary).data)
    refused = next(line for line in text.splitlines() if "INC-LATE-NIGHT" in line).split()
    assert refused[-4:] == ["已换抽", "拒绝", "1", "–"]
    reached = next(c for c in summary.cases if c.task_id == world.tasks["p2_reached"].id)
    line = next(line for line in text.splitlines() if line.split() and line.split()[0] == reached.external_id)
    assert line.split()[-4:] == ["已回访", "接通", "3", f"{reached.score:.2f}"]


def test_other_pdfs_stay_portrait(make, request_ctx):
    from portal.services.pdf.sales_visit import render_sales_visit
    width, height = _page_size(render_sales_visit(make.inquiry()).data)
    assert (round(width), round(height)) == (595, 842)


def test_an_empty_quarter_renders_with_a_note(world, request_ctx):
    text = _flat(render_callback_summary(callback_summary("2025Q1")).data)
    assert "回访汇总表" in text and "2025Q1" in text and "本季度尚未抽取回访工单。" in text


# --- the XLSX -------------------------------------------------------------------------------

def _sheets(data):
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def _no_formulas(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets
        for name in sheets:
            xml = z.read(name).decode()
            assert "<f>" not in xml and "<f " not in xml, name
            assert "<hyperlink" not in xml, name


def test_the_xlsx_has_a_sheet_per_priority_and_a_sheet_of_cases(world, request_ctx):
    from flask_babel import force_locale
    with force_locale("zh"):
        data = callback_summary_xlsx(callback_summary(QUARTER))
    sheets = _sheets(data)
    assert len(sheets) == 2
    priorities, cases = sheets.values()
    assert priorities[0][:4] == ["优先级", "目标回访率", "关闭工单数", "应回访数"]
    by = {row[0]: row for row in priorities[1:]}
    assert by["P3"][1:8] == [pytest.approx(0.2), 15, 3, 3, 3, pytest.approx(0.2), 0]
    assert by["P2"][2:] == [3, 2, 3, 1, pytest.approx(1 / 3), 1, "否"]
    assert by["P4"][6] == ""  # no rate without closed cases
    assert by["合计"][2:6] == [20, 7, 8, 6]
    assert len(cases) == 1 + 8
    late = next(row for row in cases if row[0] == "INC-LATE-NIGHT")
    assert late[1:5] == ["P-2026-101", "城域网运维服务", "华东电力公司", "P2"]
    assert late[6] == date(2026, 10, 4)  # a date, not text
    assert late[8:11] == ["已换抽", "拒绝", 1]
    _no_formulas(data)


def test_xlsx_cells_that_could_be_formulas_are_stored_as_text(world, request_ctx):
    for reporter in FORMULA_REPORTERS:
        world.task(world.case("P4", datetime(2026, 12, 1, 2, 0), reporter=reporter))
    _db.session.commit()
    data = callback_summary_xlsx(callback_summary(QUARTER))
    _no_formulas(data)
    cases = list(_sheets(data).values())[1]
    reporters = {row[5] for row in cases[1:]}
    for reporter in FORMULA_REPORTERS:
        assert "'" + reporter in reporters, reporter


def test_write_xlsx_keeps_numbers_dates_and_percentages_typed():
    data = write_xlsx([("A sheet: with/bad*chars?", ["n", "x", "d", "t", "p", "s"],
                        [[1, 2.5, date(2026, 10, 4), datetime(2026, 10, 4, 9, 30), Percent(0.25), "=1+1"],
                         [None, -3, None, None, None, "普通文本"]]),
                       ("A sheet: with/bad*chars?", ["only"], [])])
    sheets = _sheets(data)
    assert list(sheets) == ["A sheet  with bad chars", "A sheet  with bad chars (2)"]
    rows = sheets["A sheet  with bad chars"]
    assert rows[1] == [1, 2.5, date(2026, 10, 4), datetime(2026, 10, 4, 9, 30), 0.25, "'=1+1"]
    assert rows[2] == ["", -3, "", "", "", "普通文本"]
    _no_formulas(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert 'ySplit="1"' in sheet  # the header row stays in view
