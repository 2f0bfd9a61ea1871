"""Score sheets for performance reviews (DESIGN §4.5.4, issue 13 §3): placed by satisfaction rate,
shown first; people whose intervals overlap share a place; a clearly better person stands above;
too few responses to judge: listed, not placed; PDF (Chinese, embedded font) and XLSX."""
import io
from datetime import datetime

import pytest
from flask_babel import force_locale
from python_calamine import CalamineWorkbook

from portal.extensions import db
from portal.services.answers import parse_answers
from portal.services.responses import submit_response
from portal.services.rollup import freeze, rollup, thaw
from portal.services.rollup.figures import Rollup
from portal.services.rollup.score_sheets import score_sheet, score_sheet_pdf, score_sheet_xlsx

from .. import factories
from ..pdftools import embedded_cjk_fonts, text

QUARTER = "2026Q4"
SATISFIED = ("5", "5", "10")
UNSATISFIED = ("2", "2", "2")


class People:
    """Five PMs, each on a project of their own: 甲 25 satisfied forms of 25, 乙 20 of 24 (their
    intervals overlap), 丙 5 of 22 (clearly below both), 丁 3 forms (too few), 戊 7 of 10 (low
    confidence: an interval so wide it overlaps everyone's). 甲's and 乙's projects have the sales owner 子, 丙's 丑, the others none."""

    def __init__(self):
        version = factories.template_version()
        zi, chou = (factories.user(display_name=n, roles=("sales",)) for n in ("子销售", "丑销售"))
        plan = (("甲经理", 25, 25, zi), ("乙经理", 24, 20, zi), ("丙经理", 22, 5, chou), ("丁经理", 3, 3, None),
                ("戊经理", 10, 7, None))
        for name, n, satisfied, sales in plan:
            pm = factories.user(display_name=name, roles=("pm",))
            project = factories.project(pm=pm, sales=sales, name=f"{name}的项目")
            for i in range(n):
                a, t, tech = SATISFIED if i < satisfied else UNSATISFIED
                parsed = parse_answers(version, {"q_attitude": a, "q_timeliness": t, "q_technical": tech},
                                       complete=True)
                response = submit_response(version, parsed, channel="online", project=project, quarter=QUARTER,
                                           submitted_at=datetime(2026, 11, 1 + i % 28, 3, 0))
                response.verification_status = "authentic"
        db.session.commit()


@pytest.fixture
def report(db, app):
    with app.test_request_context():
        People()
        yield rollup(QUARTER, now=datetime(2026, 12, 20))


def _by_name(sheet):
    return {row.name: row for row in sheet.rows}


def test_overlapping_intervals_share_a_place_and_a_clearly_better_person_stands_above(report):
    sheet = score_sheet(report, "pm")
    rows = _by_name(sheet)
    assert [r.name for r in sheet.rows][:2] == ["甲经理", "乙经理"]
    assert rows["甲经理"].place == rows["乙经理"].place == 1
    assert rows["甲经理"].place_label == rows["乙经理"].place_label == "=1"
    assert rows["乙经理"].rate_high > rows["甲经理"].rate_low  # overlap, so no order between them
    assert rows["戊经理"].place_label == "=1"  # 7 of 10: too wide an interval to tell from 甲
    assert rows["丙经理"].place == 3 and rows["丙经理"].place_label == "3"  # 甲 and 乙 lie wholly above
    assert rows["丙经理"].rate_high < rows["乙经理"].rate_low


def test_too_few_responses_are_listed_but_not_placed(report):
    sheet = score_sheet(report, "pm")
    last = sheet.rows[-1]
    assert last.name == "丁经理" and last.place is None and last.place_label == "–"
    assert last.confidence == "too_few" and last.responses == 3
    assert _by_name(sheet)["戊经理"].confidence == "low" and _by_name(sheet)["戊经理"].place is not None
    assert sheet.low_n == 20 and sheet.too_few_n == 5


def test_the_sales_sheet_places_sales_owners_and_leaves_projects_without_one_out(report):
    sheet = score_sheet(report, "sales")
    assert [(r.place_label, r.name) for r in sheet.rows] == [("1", "子销售"), ("2", "丑销售")]


def test_the_sheet_is_the_same_from_a_published_revisions_figures(report):
    assert score_sheet(thaw(Rollup, freeze(report)), "pm") == score_sheet(report, "pm")


def test_the_pdf_shows_the_rate_before_the_score_in_chinese(report):
    pdf = score_sheet_pdf(score_sheet(report, "pm"))
    assert pdf.filename == "score-sheet-pm-2026Q4.pdf"
    assert embedded_cjk_fonts(pdf.data)
    flat = text(pdf.data)
    header = next(line for line in flat.splitlines() if "满意率" in line and "得分" in line)
    assert header.index("满意率") < header.index("得分")
    first = next(line for line in flat.splitlines() if "甲经理" in line)
    assert first.split()[0] == "=1" and first.index("100.0%") < first.index("5.00")
    assert "丁经理" in flat and "丙经理" in flat


def test_the_xlsx_has_the_rate_first_and_numbers_as_numbers(report):
    with force_locale("zh"):
        data = score_sheet_xlsx(score_sheet(report, "pm"))
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    rows = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    header = rows[0]
    assert header[:4] == ["名次" if header[0] == "名次" else header[0], header[1], "名称", "满意率"]
    assert header.index("满意率") < header.index("得分（1–5）")
    first, second = rows[1], rows[2]
    assert first[0] == second[0] == 1 and first[2] == "甲经理" and second[2] == "乙经理"
    by_name = {row[2]: row for row in rows[1:]}
    assert first[1] == second[1] != by_name["丙经理"][1]  # shared places; 丙's is not
    assert first[3] == pytest.approx(1.0) and isinstance(first[6], float) and first[9] == 25
    assert rows[-1][2] == "丁经理" and rows[-1][0] == ""
    assert len(book.sheet_names) == 2
