"""The rollup's outputs (issue 13 §5): the PDF report (embedded CJK font, Chinese title, project
names, charts that are not blank), the XLSX workbook (its sheets, one row per answer, nothing a
client typed stored as a formula), the on-screen body with its SVG charts, and the same output
from a published revision's thawed figures as from a fresh rollup."""
import io
import zipfile
from datetime import datetime

import pytest
from flask import render_template
from flask_babel import force_locale, gettext
import openpyxl
from python_calamine import CalamineWorkbook

from portal.extensions import db
from portal.models import HistoricalResult, HistoryImport, RollupRevision
from portal.services.answers import parse_answers
from portal.services.pdf.rollup_report import pdf_page_count, render_rollup_report
from portal.services.responses import submit_response
from portal.services.rollup import freeze, rollup, thaw
from portal.services.rollup.figures import Rollup
from portal.services.rollup.workbook import rollup_workbook

from .. import factories
from ..pdftools import dark_share, embedded_cjk_fonts, page_count, page_image, text

QUARTER = "2026Q4"
NOW = datetime(2026, 12, 20, 8, 0)
FORMULA_NAME = '=HYPERLINK("http://x")'
FORMULA_COMMENT = "+1+1"


class World:
    """Three PMs, one sales owner, a key-account client; a well-rated project with 24 forms, one
    named like a formula with 22, one with 3 (too few to judge); last quarter's forms for the
    change; imported history for an earlier quarter; a rejected and a pending form."""

    def __init__(self):
        self.pms = [factories.user(display_name=name, roles=("pm",)) for name in ("王经理", "李经理", "赵经理")]
        self.sales = factories.user(display_name="孙销售", roles=("sales",))
        key = factories.client("华东电力公司", key_account=True)
        bank = factories.client("城市银行")
        self.good = factories.project(pm=self.pms[0], sales=self.sales, client_=key, code="P-101", name="城域网运维服务")
        self.odd = factories.project(pm=self.pms[1], sales=None, client_=bank, code="P-102", name=FORMULA_NAME)
        self.few = factories.project(pm=self.pms[2], sales=self.sales, client_=bank, code="P-103", name="数据中心搬迁")
        self.version = factories.template_version()
        self.answers = 0
        for i in range(24):
            self.form(self.good, "5" if i % 3 else "4", "5", "9", day=1 + i % 25,
                      comment="服务很好，希望加快响应" if i == 0 else None)
        for i in range(22):
            self.form(self.odd, ("4", "3", "5", "2")[i % 4], "na" if i == 0 else "3", ("6", "8")[i % 2],
                      day=1 + i % 25, comment=FORMULA_COMMENT if i == 1 else FORMULA_NAME if i == 2 else None)
        for i in range(3):
            self.form(self.few, "3", "4", "5", day=3 + i)
        for i in range(10):  # last quarter: a little worse
            self.form(self.good, ("4", "3")[i % 2], "4", "7", quarter="2026Q3", when=datetime(2026, 8, 1 + i, 3))
        self.form(self.good, "1", "1", "1", day=20, status="rejected")
        self.form(self.good, "1", "1", "1", day=21, status="pending")
        history = HistoryImport(file_name="历史.xlsx", sha256="0" * 64, rows=1)
        db.session.add(history)
        db.session.flush()
        db.session.add(HistoricalResult(quarter="2025Q4", project_id=self.good.id, dimension="overall",
                                        responses=40, score=4.1, satisfaction_rate=0.8, import_id=history.id))
        db.session.commit()

    def form(self, project, attitude, timeliness, technical, *, day=1, quarter=QUARTER, when=None,
             status="authentic", comment=None):
        data = {"q_attitude": attitude, "q_timeliness": timeliness, "q_technical": technical}
        if comment:
            data["q_opinion"] = comment
        parsed = parse_answers(self.version, data, complete=True)
        assert parsed.ok, parsed.errors
        response = submit_response(self.version, parsed, channel=("online", "paper", "phone")[day % 3],
                                   project=project, quarter=quarter,
                                   submitted_at=when or datetime(2026, 11, day, 3, 0))
        response.verification_status = status
        if status == "authentic" and quarter == QUARTER:
            self.answers += len(response.answers)
        db.session.flush()
        return response


@pytest.fixture
def world(db, app):
    with app.test_request_context():
        yield World()


@pytest.fixture
def report(world):
    return rollup(QUARTER, now=NOW)


@pytest.fixture(scope="module")
def rendered():
    """PDFs rendered once per module (by the first test that needs them)."""
    return {}


def _pdf(report, rendered, key="fresh", **kw):
    if key not in rendered:
        rendered[key] = render_rollup_report(report, **kw)
    return rendered[key]


def _pages(data):
    return text(data).split("\f")


def test_the_pdf_embeds_a_cjk_font_and_names_the_projects(report, rendered):
    pdf = _pdf(report, rendered)
    assert pdf.filename == "satisfaction-report-2026Q4-preview.pdf"
    assert embedded_cjk_fonts(pdf.data)
    flat = text(pdf.data)
    with force_locale("zh"):
        title = gettext("Customer satisfaction quarterly report")  # 客户满意度季度报告 once merged
    assert title in flat
    for name in ("城域网运维服务", "数据中心搬迁", FORMULA_NAME, "满意率", "服务态度", "2026Q4"):
        assert name in flat, name
    pages = _pages(pdf.data)
    assert page_count(pdf.data) == pdf_page_count(pdf.data) >= 7
    assert "2026Q4" in pages[0] and "城域网运维服务" not in pages[0]  # the cover names no project
    assert "服务态度" in next(p for p in pages if "2." in p and "技术能力" in p)


def test_the_pdf_lists_no_response_one_by_one(report, rendered):
    flat = text(_pdf(report, rendered).data)
    assert "2026-11-05" not in flat  # no submission dates: the responses are in the XLSX


def test_the_cover_and_the_chart_page_are_not_blank(report, rendered):
    pdf = _pdf(report, rendered)
    cover = page_image(pdf.data, 1)
    assert dark_share(cover) > 0.002
    chart_page = 1 + next(i for i, p in enumerate(_pages(pdf.data)) if "技术能力" in p and "n=" in p)
    chart = page_image(pdf.data, chart_page)
    assert dark_share(chart, box=(0.05, 0.1, 0.95, 0.5)) > 0.01


def test_a_revision_renders_from_its_thawed_figures_like_the_fresh_rollup(world, report, rendered):
    revision = RollupRevision(quarter=QUARTER, number=1, figures=freeze(report), published_by_id=world.pms[0].id,
                              published_at=datetime(2026, 12, 21, 2, 0))
    db.session.add(revision)
    db.session.flush()
    thawed = thaw(Rollup, revision.figures)
    assert thawed == report
    fresh, again = _pdf(report, rendered), render_rollup_report(thawed)
    assert text(again.data) == text(fresh.data)
    published = render_rollup_report(thawed, revision=revision)
    assert published.filename == "satisfaction-report-2026Q4-r1.pdf"
    cover = _pages(published.data)[0]
    assert "王经理" in cover and "2026-12-21" in cover
    assert rollup_workbook(thawed) and _sheets(rollup_workbook(thawed)) == _sheets(rollup_workbook(report))


# --- the workbook ----------------------------------------------------------------------------------

def _sheets(data):
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def _formulas(data):
    """Formula or hyperlink elements anywhere in the workbook's sheets."""
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                xml = z.read(name).decode()
                if "<f>" in xml or "<f " in xml or "<hyperlink" in xml:
                    found.append(name)
    return found


def test_the_workbook_has_every_table_and_one_row_per_answer(world, report):
    with force_locale("zh"):
        data = rollup_workbook(report)
    sheets = _sheets(data)
    assert len(sheets) >= 15
    summary = next(iter(sheets.values()))
    assert any("2026Q4" in str(cell) for row in summary for cell in row)
    responses = list(sheets.values())[-1]
    assert len(responses) - 1 == world.answers == 49 * 3 + 3  # every counted answer (three forms left an opinion)
    ids = {row[0] for row in responses[1:]}
    assert len(ids) == 49
    projects = next(rows for name, rows in sheets.items() if any("城域网运维服务" in str(c) for r in rows for c in r)
                    and name != list(sheets)[-1])
    assert projects


def test_nothing_a_client_typed_becomes_a_formula(world, report):
    data = rollup_workbook(report)
    assert _formulas(data) == []
    cells = [str(c) for rows in _sheets(data).values() for row in rows for c in row]
    assert "'" + FORMULA_NAME in cells and FORMULA_NAME not in cells
    assert "'" + FORMULA_COMMENT in cells and FORMULA_COMMENT not in cells
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert all('t="inlineStr"' in z.read(n).decode() or "<c " not in z.read(n).decode()
                   for n in z.namelist() if n.startswith("xl/worksheets/sheet"))  # streamed: inline strings


def test_the_workbook_opens_in_openpyxl_without_a_live_formula(world, report):
    """openpyxl (what most Python and BI tools read XLSX with) loads every sheet; no cell is a
    formula, and the formula-like texts a client typed are there as plain, quoted text."""
    data = rollup_workbook(report)
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert len(book.worksheets) >= 15 and len(cells) > 1000
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert "'" + FORMULA_NAME in texts and "'" + FORMULA_COMMENT in texts
    assert not any(t.startswith(("=", "+", "-", "@")) and len(t) > 1 and not t[1:2].isdigit() for t in texts)
    answers = book.worksheets[-1]
    assert answers.max_row - 1 == world.answers


# --- the page --------------------------------------------------------------------------------------

def _body(report, locale="zh", revision=None):
    with force_locale(locale):
        return render_template("rollup/_report_body.html", report=report, revision=revision)


def test_the_page_charts_are_svg_with_chinese_labels_as_text(report):
    html = _body(report)
    assert html.count("<svg") == 4
    dims = html.split('id="chart-dimensions"')[1].split("</svg>")[0]
    assert "服务态度" in dims and "技术能力" in dims and "<text" in dims
    projects = html.split('id="chart-projects"')[1].split("</svg>")[0]
    assert "城域网运维服务" in projects and "数据中心搬迁" in projects
    assert "&#34;" in projects or "&quot;" in projects  # the formula-like name escaped, as text
    trend = html.split('id="chart-trend-rate"')[1].split("</svg>")[0]
    assert 'data-source="imported"' in trend and "2025Q4" in trend
    assert 'font-family="Noto Sans CJK SC' in html


def test_the_page_shows_the_figures_method_and_exclusions(report):
    html = _body(report, "en")
    assert "Satisfaction rate" in html and "95 % interval" in html or "95% interval" in html
    assert "1 forms rejected by verification" in html and "1 forms not verified yet" in html
    assert "1 “not applicable” answers" in html
    assert report.method in html
    assert 'data-confidence="too_few"' in html and "Too few to judge" in html
    assert "No sales owner" in html  # P-102 has none
    assert "服务很好，希望加快响应" in html
    assert 'data-source="imported"' in html


def test_the_page_renders_the_same_from_a_thawed_revision(report):
    assert _body(thaw(Rollup, freeze(report))) == _body(report)
