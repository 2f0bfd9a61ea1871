"""Importing past quarters' results (issue 13 §7): CSV in GBK and XLSX, Chinese and English
headers; every row checked, a file with any error stores nothing and names the rows; the same file
twice changes nothing; a new value for a result already imported replaces it; the trend's
whole-form figures are response-weighted means computed in SQL."""
import csv
import io
import json

import pytest
import xlsxwriter
from flask_babel import force_locale
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from portal.models import AuditEvent, HistoricalResult, HistoryImport, Job
from portal.models.rollup import OVERALL
from portal.services.cases import importer as case_importer
from portal.services.history import imported_by_project, imported_overall, import_history, queue_history_import
from portal.services.history.format import COLUMNS, quarter_from_text, template_xlsx
from portal.services.history.results import import_report, imported_quarters
from portal.services.quarters import current_quarter, shift_quarter

ZH = ("季度", "项目编号", "维度", "样本数", "得分", "满意率")
EN = ("Quarter", "Project code", "Dimension", "Responses", "Score", "Satisfaction rate")
LAST = shift_quarter(current_quarter(), -1)
EARLIER = shift_quarter(current_quarter(), -2)
ROWS = [
    (EARLIER, "PRJ-H-1", "总体", 12, 4.25, "85%"),
    (EARLIER, "PRJ-H-1", "服务态度", 12, 4.5, 0.9),
    (LAST, "PRJ-H-1", "overall", 10, 4.0, 80),
    (LAST, "PRJ-H-2", "Response timeliness", 8, 3.5, ""),
]


@pytest.fixture(autouse=True)
def english(db):
    with force_locale("en"):
        yield


@pytest.fixture
def projects(make):
    return {code: make.project(code=code) for code in ("PRJ-H-1", "PRJ-H-2", "PRJ-H-3")}


@pytest.fixture
def quality(make):
    return make.user("quality_h", roles=("quality",))


def csv_bytes(rows, headers=ZH, encoding="gbk"):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, headers=ZH):
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("历史结果")
    sheet.write_row(0, 0, headers)
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row):
            if value not in (None, ""):
                sheet.write(r, c, value)
    workbook.close()
    return buffer.getvalue()


def stored(db):
    rows = db.session.scalars(select(HistoricalResult).order_by(HistoricalResult.id)).all()
    return {(r.quarter, r.project.code, r.dimension): (r.responses, r.score, r.satisfaction_rate, r.import_id)
            for r in rows}


def counts(db):
    return (db.session.scalar(select(func.count(HistoricalResult.id))),
            db.session.scalar(select(func.count(HistoryImport.id))))


def test_a_valid_workbook_is_stored_row_by_row(projects, quality, db):
    outcome = import_history(xlsx_bytes(ROWS), "历史结果.xlsx", quality)
    db.session.commit()
    assert outcome.ok and outcome.added == 4 and outcome.replaced == 0 and outcome.unchanged == 0
    assert outcome.quarters == (EARLIER, LAST) and outcome.sheet == "历史结果"
    record = db.session.get(HistoryImport, outcome.import_id)
    assert record.file_name == "历史结果.xlsx" and record.rows == 4 and record.imported_by_id == quality.id
    assert stored(db) == {
        (EARLIER, "PRJ-H-1", OVERALL): (12, 4.25, 0.85, record.id),
        (EARLIER, "PRJ-H-1", "attitude"): (12, 4.5, 0.9, record.id),
        (LAST, "PRJ-H-1", OVERALL): (10, 4.0, 0.8, record.id),
        (LAST, "PRJ-H-2", "timeliness"): (8, 3.5, None, record.id),
    }
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "history_imported"))
    assert event.user_id == quality.id and event.object_id == str(record.id)
    assert json.loads(event.detail)["added"] == 4


def test_a_gbk_csv_with_chinese_headers_and_names_is_read(projects, quality, db):
    rows = [(EARLIER.replace("Q", "年第") + "季度", "PRJ-H-2", "技术能力", "15", "4.6", "93.3%")]
    data = csv_bytes(rows, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really GBK bytes
    outcome = import_history(data, "history.csv", quality)
    assert outcome.ok and outcome.encoding == "gb18030" and outcome.added == 1
    assert stored(db)[(EARLIER, "PRJ-H-2", "technical")][:3] == (15, 4.6, pytest.approx(0.933))


def test_english_headers_are_accepted(projects, quality, db):
    outcome = import_history(csv_bytes([(LAST, "PRJ-H-3", "documentation", 9, 3.9, 0.7)], headers=EN,
                                       encoding="utf-8-sig"), "en.csv", quality)
    assert outcome.ok and stored(db)[(LAST, "PRJ-H-3", "documentation")][:3] == (9, 3.9, 0.7)


@pytest.mark.parametrize("bad, column, message", [
    ((EARLIER, "PRJ-NOPE", "总体", 12, 4.2, ""), "项目编号", "No project has this code."),
    (("2025Q5", "PRJ-H-1", "总体", 12, 4.2, ""), "季度", "Not a quarter"),
    (("去年", "PRJ-H-1", "总体", 12, 4.2, ""), "季度", "Not a quarter"),
    ((current_quarter(), "PRJ-H-1", "总体", 12, 4.2, ""), "季度", "Only past quarters"),
    ((shift_quarter(current_quarter(), 2), "PRJ-H-1", "总体", 12, 4.2, ""), "季度", "Only past quarters"),
    ((EARLIER, "PRJ-H-1", "总体", 12, 5.2, ""), "得分", "between 1 and 5"),
    ((EARLIER, "PRJ-H-1", "总体", 12, 0.9, ""), "得分", "between 1 and 5"),
    ((EARLIER, "PRJ-H-1", "总体", 0, 4.2, ""), "样本数", "At least 1"),
    ((EARLIER, "PRJ-H-1", "总体", 2.5, 4.2, ""), "样本数", "Not a whole number"),
    ((EARLIER, "PRJ-H-1", "心情", 12, 4.2, ""), "维度", "Not a known dimension"),
    ((EARLIER, "PRJ-H-1", "总体", 12, 4.2, "120%"), "满意率", "between 0 and 100%"),
    ((EARLIER, "PRJ-H-1", "总体", 12, "", ""), "得分", "Required"),
    ((EARLIER, "PRJ-H-1", "服务态度", 12, 4.0, ""), "维度", "also in row 3"),  # row 3 is ROWS[1]
])
def test_a_wrong_row_stores_nothing_and_is_named(projects, quality, db, bad, column, message):
    rows = [ROWS[0], ROWS[1], bad, ROWS[2]]  # the bad row is spreadsheet row 4
    outcome = import_history(xlsx_bytes(rows), "bad.xlsx", quality)
    db.session.commit()
    assert not outcome.ok and outcome.import_id is None
    assert [(e["row"], e["column"]) for e in outcome.errors] == [(4, column)]
    assert message in outcome.errors[0]["message"]
    assert counts(db) == (0, 0)


def test_every_wrong_row_is_listed_in_one_pass(projects, quality, db):
    rows = [ROWS[0], (EARLIER, "PRJ-NOPE", "总体", 0, 7, ""), ROWS[2], (LAST, "PRJ-H-2", "总体", 3, 4.1, "x")]
    outcome = import_history(csv_bytes(rows), "bad.csv", quality)
    assert [(e["row"], e["column"]) for e in outcome.errors] == [(3, "项目编号"), (3, "样本数"), (3, "得分"),
                                                                  (5, "满意率")]
    assert outcome.rows_rejected == 2 and counts(db) == (0, 0)


def test_a_missing_column_is_a_file_error(projects, quality, db):
    outcome = import_history(csv_bytes([r[:4] + r[5:] for r in ROWS], headers=ZH[:4] + ZH[5:]), "x.csv", quality)
    assert [(e["row"], e["message"]) for e in outcome.errors] == [(None, "The file has no column Score.")]
    assert counts(db) == (0, 0)


def test_an_unreadable_file_is_refused(projects, quality, db):
    outcome = import_history(b"PK\x03\x04 not really a workbook", "x.xlsx", quality)
    assert not outcome.ok and outcome.errors[0]["row"] is None and counts(db) == (0, 0)


def test_the_same_file_twice_changes_nothing_the_second_time(projects, quality, db):
    data = xlsx_bytes(ROWS)
    first = import_history(data, "h.xlsx", quality)
    db.session.commit()
    before = stored(db)
    second = import_history(data, "h.xlsx", quality)
    db.session.commit()
    assert second.ok and second.changed_nothing and second.unchanged == 4 and second.added == second.replaced == 0
    assert stored(db) == before and counts(db) == (4, 1)
    assert {v[3] for v in before.values()} == {first.import_id}
    assert db.session.scalar(select(func.count(AuditEvent.id))
                             .where(AuditEvent.action == "history_import_unchanged")) == 1


def test_a_new_value_replaces_the_older_one(projects, quality, db):
    first = import_history(xlsx_bytes(ROWS), "q.xlsx", quality)
    db.session.commit()
    corrected = [ROWS[0], (EARLIER, "PRJ-H-1", "attitude", 14, 4.4, "88%"), (LAST, "PRJ-H-3", "总体", 5, 3.8, "")]
    second = import_history(csv_bytes(corrected, encoding="utf-8"), "q2.csv", quality)
    db.session.commit()
    assert (second.added, second.replaced, second.unchanged) == (1, 1, 1)
    now = stored(db)
    assert now[(EARLIER, "PRJ-H-1", "attitude")] == (14, 4.4, 0.88, second.import_id)
    assert now[(EARLIER, "PRJ-H-1", OVERALL)][3] == first.import_id  # unchanged: still the first import's
    assert now[(LAST, "PRJ-H-3", OVERALL)] == (5, 3.8, None, second.import_id)
    assert counts(db) == (5, 2)
    report = import_report(db.session.get(HistoryImport, second.import_id))
    assert (report.added, report.replaced, report.unchanged, report.rows_held) == (1, 1, 1, 2)
    assert report.replacements[0]["before"] == {"responses": 12, "score": 4.5, "satisfaction_rate": 0.9,
                                                "import": first.import_id}


@pytest.mark.parametrize("cell, share", [(85, 0.85), ("85", 0.85), ("85%", 0.85), ("０.８５", 0.85), (0.85, 0.85),
                                         ("1%", 0.01), (1, 1.0), ("", None)])
def test_the_satisfaction_rate_reads_percent_or_share(projects, quality, db, cell, share):
    outcome = import_history(xlsx_bytes([(EARLIER, "PRJ-H-1", "总体", 10, 4.0, cell)]), "r.xlsx", quality)
    assert outcome.ok
    rate = stored(db)[(EARLIER, "PRJ-H-1", OVERALL)][2]
    assert rate == (None if share is None else pytest.approx(share))


@pytest.mark.parametrize("text, quarter", [("2025Q3", "2025Q3"), ("2025 q3", "2025Q3"), ("2025-Q3", "2025Q3"),
                                           ("2025年第3季度", "2025Q3"), ("2025年三季度", "2025Q3"),
                                           ("Q3 2025", "2025Q3"), ("２０２５Ｑ３", "2025Q3"), ("20253", None),
                                           ("2025Q0", None)])
def test_quarter_spellings(text, quarter):
    assert quarter_from_text(text) == quarter


def test_imported_overall_is_the_response_weighted_mean(projects, quality, db):
    rows = [(EARLIER, "PRJ-H-1", "总体", 10, 4.0, 0.8),
            (EARLIER, "PRJ-H-2", "总体", 30, 3.0, 0.5),
            (EARLIER, "PRJ-H-3", "总体", 20, 5.0, ""),      # no rate: left out of the rate only
            (EARLIER, "PRJ-H-1", "服务态度", 50, 1.0, 0.0),  # a dimension: not the whole form
            (LAST, "PRJ-H-2", "总体", 4, 4.5, "")]
    assert import_history(xlsx_bytes(rows), "w.xlsx", quality).ok
    figures = imported_overall([EARLIER, LAST, "2001Q1"])
    assert set(figures) == {EARLIER, LAST}
    earlier = figures[EARLIER]
    assert earlier.responses == 60
    assert earlier.score == pytest.approx((10 * 4.0 + 30 * 3.0 + 20 * 5.0) / 60)   # 3.8333
    assert earlier.satisfaction_rate == pytest.approx((10 * 0.8 + 30 * 0.5) / 40)  # 0.575
    assert (figures[LAST].responses, figures[LAST].score, figures[LAST].satisfaction_rate) == (4, 4.5, None)
    assert imported_overall([LAST]).keys() == {LAST}
    by_project = imported_by_project([EARLIER])
    assert set(by_project) == {(EARLIER, projects[c].id) for c in ("PRJ-H-1", "PRJ-H-2", "PRJ-H-3")}
    assert by_project[(EARLIER, projects["PRJ-H-2"].id)].score == 3.0
    summary = {q.quarter: q for q in imported_quarters()}
    assert (summary[EARLIER].projects, summary[EARLIER].rows) == (3, 4)


def test_a_large_file_goes_through_the_import_job(projects, quality, db):
    job = queue_history_import(xlsx_bytes(ROWS), "big.xlsx", quality)
    stored_name = job.params["stored_name"]
    db.session.commit()  # runs the job (in-process under JOBS_IMMEDIATE)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.kind == "import_history" and job.state == "done", job.error
    assert job.result["added"] == 4 and job.result["import_id"] is not None and job.total == 4
    assert case_importer.import_file_path(stored_name) is None and counts(db) == (4, 1)


def test_a_rejected_file_in_a_job_stores_nothing(projects, quality, db):
    job = queue_history_import(xlsx_bytes([ROWS[0], ROWS[0]]), "dup.xlsx", quality)
    db.session.commit()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.state == "done" and job.result["errors"][0]["row"] == 3 and counts(db) == (0, 0)


def test_the_template_documents_every_column_and_imports_once_its_project_exists(make, quality, db):
    book = CalamineWorkbook.from_filelike(io.BytesIO(template_xlsx()))
    first, notes = (book.get_sheet_by_name(name).to_python() for name in book.sheet_names)
    assert first[0] == [c.header_zh for c in COLUMNS] and len(first) == 3
    documented = [row[0] for row in notes[1:] if row[0]]
    assert documented == [c.header_zh for c in COLUMNS]
    make.project(code=first[1][1])
    outcome = import_history(template_xlsx(), "template.xlsx", quality)
    assert outcome.ok and outcome.added == 2


def test_the_demo_history_goes_through_the_import_and_is_idempotent(projects, quality, db):
    from portal.demo.history import load_history
    quarters = [shift_quarter(current_quarter(), -n) for n in (4, 3, 2, 1)]
    chosen = [projects["PRJ-H-1"], projects["PRJ-H-2"]]
    lines = load_history(quality, quarters, chosen)
    db.session.commit()
    assert lines == ["history: 4 quarters × 2 projects (56 new, 0 replaced, 0 unchanged)"]  # 4 × 2 × 7
    assert load_history(quality, quarters, chosen)[0].endswith("(0 new, 0 replaced, 56 unchanged)")
    assert counts(db) == (56, 1)
    scores = db.session.scalars(select(HistoricalResult.score)).all()
    responses = db.session.scalars(select(HistoricalResult.responses)).all()
    assert 3.6 <= min(scores) and max(scores) <= 4.6 and 8 <= min(responses) and max(responses) <= 20
    assert set(imported_overall(quarters)) == set(quarters)
