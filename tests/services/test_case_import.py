"""Importing closed service tickets (DESIGN §4.3.1): CSV in UTF-8 (BOM or not) and GB18030, XLSX,
Chinese headers; every row checked, a file with any error imports nothing; re-importing changes
nothing; a changed row updates its case on the record; a killed import leaves nothing; zip bombs
and entity expansion are refused before any parser runs."""
import csv
import io
import json
import re
import zipfile
from datetime import date, datetime, timedelta

import pytest
import xlsxwriter
from flask_babel import force_locale
from sqlalchemy import func, select

from portal.models import AuditEvent, CaseImport, ImportMapping, Job, ServiceCase
from portal.models.base import utcnow
from portal.services import DomainError
from portal.services.cases import importer
from portal.services.cases.importer import errors_csv, import_cases, queue_import
from portal.services.cases.mapping import (FIELDS, REQUIRED, check_mapping, guess_mapping, mapping_by_name,
                                           save_mapping, saved_mappings)
from portal.services.cases.reading import FileRefused, read_table
from portal.services.cases.rows import parse_priority, parse_rows
from portal.services.spreadsheets import safe_cell

ZH = ("工单号", "项目编号", "优先级", "申告人", "联系电话", "创建时间", "关闭时间", "问题描述", "处理工程师")
TICKETS = [
    ("GD-001", "PRJ-2025-001", "1 - Critical", "王建国", "13900000001", "2026-10-03 14:05", "2026-10-03 18:30",
     "核心交换机故障", "周磊"),
    ("GD-002", "PRJ-2025-002", "紧急", "李晓红", "13900000002", "2026/10/05 09:00:00", "2026/10/06 10:15:00",
     "存储告警", "吴迪"),
    ("GD-003", "PRJ-2025-001", "中", "张志强", "", "2026年10月8日 8:00", "2026年10月9日", "视频会议无法入会", ""),
    ("GD-004", "PRJ-2025-003", "Low", "刘海燕", "010-88886666", "", "2026-11-02T16:45:00", "", "郑浩"),
]


@pytest.fixture(autouse=True)
def english(db):
    """Messages as the English UI shows them (outside a request the default language is zh)."""
    with force_locale("en"):
        yield


@pytest.fixture
def projects(make):
    return {code: make.project(code=code) for code in ("PRJ-2025-001", "PRJ-2025-002", "PRJ-2025-003")}


@pytest.fixture
def quality(make):
    return make.user("quality9", roles=("quality",))


def csv_bytes(rows, headers=ZH, encoding="utf-8-sig", delimiter=","):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, headers=ZH, sheet="工单", other_sheet=False):
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    if other_sheet:
        workbook.add_worksheet("说明").write(0, 0, "导出说明")
    ws = workbook.add_worksheet(sheet)
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    ws.write_row(0, 0, headers)
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row):
            if isinstance(value, datetime):
                ws.write_datetime(r, c, value, when)
            elif value is not None:
                ws.write(r, c, value)
    workbook.close()
    return buffer.getvalue()


def case_count(db):
    return db.session.scalar(select(func.count(ServiceCase.id)))


def cases(db):
    return {c.external_id: c for c in db.session.scalars(select(ServiceCase))}


def events(db, action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def rewrite_zip(data, change=None, add=None):
    """The zip ``data`` with members changed by ``change(name, bytes)`` and ``add`` [(name, bytes)]."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            dst.writestr(info.filename, change(info.filename, content) if change else content)
        for name, content in add or ():
            dst.writestr(name, content)
    return out.getvalue()


# --- reading ------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding, delimiter, detected", [
    ("utf-8-sig", ",", "utf-8-sig"),
    ("utf-8", ";", "utf-8"),
    ("gb18030", ",", "gb18030"),
    ("gbk", "\t", "gb18030"),
])
def test_csv_encodings_and_delimiters_are_detected(projects, quality, db, encoding, delimiter, detected):
    data = csv_bytes(TICKETS, encoding=encoding, delimiter=delimiter)
    table = read_table(data, "tickets.csv")
    assert table.encoding == detected and table.headers == list(ZH) and len(table.rows) == 4
    record = import_cases(data, "tickets.csv", quality, None)
    db.session.commit()
    assert (record.state, record.encoding, record.rows_read, record.rows_added) == ("imported", detected, 4, 4)
    got = cases(db)
    assert got["GD-003"].reporter == "张志强" and got["GD-001"].summary == "核心交换机故障"
    assert record.mapping == dict(zip(FIELDS, ZH))


def test_ticket_values_become_clean_case_values(projects, quality, db):
    record = import_cases(csv_bytes(TICKETS), "tickets.csv", quality, None)
    db.session.commit()
    got = cases(db)
    one, two, three, four = (got[f"GD-00{n}"] for n in range(1, 5))
    # local time (Asia/Shanghai) stored as naive UTC
    assert one.opened_at == datetime(2026, 10, 3, 6, 5) and one.closed_at == datetime(2026, 10, 3, 10, 30)
    assert two.closed_at == datetime(2026, 10, 6, 2, 15) and three.closed_at == datetime(2026, 10, 8, 16, 0)
    assert four.opened_at is None and four.reporter_phone == "010-88886666"
    assert [c.priority for c in (one, two, three, four)] == ["P1", "P1", "P3", "P4"]
    assert {c.quarter for c in got.values()} == {"2026Q4"}
    assert one.project_id == projects["PRJ-2025-001"].id and one.import_id == record.id
    assert three.reporter_phone is None and three.engineer is None and four.summary is None
    assert record.imported_by_id == quality.id and len(record.sha256) == 64


def test_the_quarter_is_the_local_quarter_of_the_closing_time(projects, db):
    row = ("GD-9", "PRJ-2025-001", "P2", "王", "", "", "2026-10-01 07:30")
    import_cases(csv_bytes([row], ZH[:7]), "t.csv", None, None)
    case = cases(db)["GD-9"]
    assert case.closed_at == datetime(2026, 9, 30, 23, 30) and case.quarter == "2026Q4"


def test_xlsx_with_chinese_headers_date_cells_and_a_chosen_sheet(projects, quality, db):
    rows = [("SR-1", "PRJ-2025-001", "P2", "王建国", 13912345678, datetime(2026, 10, 3, 14, 5),
             datetime(2026, 10, 4, 9, 0), "断网", "周磊"),
            (None,) * 9,  # a blank row: skipped, but still counted in the row numbers
            ("SR-2", "PRJ-2025-002", 3, "李晓红", None, None, date(2026, 11, 2), None, None)]
    data = xlsx_bytes(rows, other_sheet=True)
    table = read_table(data, "export.xlsx", sheet="工单")
    assert table.sheets == ["说明", "工单"] and table.sheet == "工单" and table.row_numbers == [2, 4]
    with pytest.raises(FileRefused):
        read_table(data, "export.xlsx", sheet="没有")
    first = read_table(data, "export.xlsx")
    assert first.sheet == "说明" and first.rows == []

    record = import_cases(data, "export.xlsx", quality, None, sheet="工单")
    db.session.commit()
    assert (record.state, record.sheet, record.rows_added, record.encoding) == ("imported", "工单", 2, None)
    got = cases(db)
    assert got["SR-1"].reporter_phone == "13912345678" and got["SR-1"].opened_at == datetime(2026, 10, 3, 6, 5)
    assert got["SR-2"].priority == "P3" and got["SR-2"].closed_at == datetime(2026, 11, 1, 16, 0)


def test_excel_serial_dates_in_numbers_and_text(projects, db):
    serial = (datetime(2026, 10, 3, 14, 5) - datetime(1899, 12, 30)).total_seconds() / 86400
    headers = ("case_id", "project_code", "priority", "reporter", "closed_at")
    import_cases(xlsx_bytes([("X-1", "PRJ-2025-001", "P1", "王", serial)], headers), "s.xlsx", None, None)
    import_cases(csv_bytes([("X-2", "PRJ-2025-001", "P1", "王", f"{serial:.6f}")], headers), "s.csv", None, None)
    got = cases(db)
    assert got["X-1"].closed_at == got["X-2"].closed_at == datetime(2026, 10, 3, 6, 5)


@pytest.mark.parametrize("text", ["2026-10-03 14:05", "2026/10/03 14:05:00", "2026-10-03T14:05:00",
                                  "2026年10月3日 14:05", "2026.10.3 14:05", "２０２６年１０月３日 14时05分",
                                  "2026-10-03T06:05:00Z", "2026-10-03 14:05:00+08:00"])
def test_usual_date_formats(projects, db, text):
    headers = ("case_id", "project_code", "priority", "reporter", "closed_at")
    record = import_cases(csv_bytes([("D-1", "PRJ-2025-001", "P1", "王", text)], headers), "d.csv", None, None)
    assert record.state == "imported", record.errors
    assert cases(db)["D-1"].closed_at == datetime(2026, 10, 3, 6, 5)


def test_a_date_alone_is_local_midnight(projects, db):
    headers = ("case_id", "project_code", "priority", "reporter", "closed_at")
    import_cases(csv_bytes([("D-2", "PRJ-2025-001", "P1", "王", "2026年10月3日")], headers), "d.csv", None, None)
    assert cases(db)["D-2"].closed_at == datetime(2026, 10, 2, 16, 0)


@pytest.mark.parametrize("value, priority", [
    ("P1", "P1"), ("p2", "P2"), ("1", "P1"), ("1 - Critical", "P1"), ("Critical", "P1"), ("紧急", "P1"),
    ("高", "P2"), ("  MEDIUM ", "P3"), ("3_Normal", "P3"), ("低", "P4"), ("P4: low", "P4"), ("4.Minor", "P4"),
    ("P5", None), ("1 - Low", None), ("whatever", None)])
def test_priorities_through_the_settable_map(db, value, priority):
    from portal.services.cases.rows import normalize_priority_map
    from portal.services.settings import get_setting
    assert parse_priority(value, normalize_priority_map(get_setting("cases.priority_map"))) == priority


def test_a_changed_priority_map_is_used(projects, quality, db):
    from portal.services.settings import set_setting
    set_setting("cases.priority_map", {"sev-a": "P1", "sev-b": "P2"}, actor=quality)
    headers = ("case_id", "project_code", "priority", "reporter", "closed_at")
    record = import_cases(csv_bytes([("M-1", "PRJ-2025-001", "SEV-A", "王", "2026-10-03")], headers),
                          "m.csv", quality, None)
    assert record.state == "imported" and cases(db)["M-1"].priority == "P1"


# --- mapping ------------------------------------------------------------------------------------

def test_headers_are_recognised_in_chinese_english_and_canonical_names():
    assert guess_mapping(list(ZH)) == dict(zip(FIELDS, ZH))
    assert guess_mapping(list(FIELDS)) == {f: f for f in FIELDS}
    english = ["Ticket No", "Project Code", "Priority", "Reported By", "Contact Phone", "Created",
               "Resolved At", "Short Description", "Assigned To"]
    assert guess_mapping(english) == dict(zip(FIELDS, english))
    variants = guess_mapping(["事件单号", "项目代码", "紧急程度", "报障人", "手机", "开单时间", "结单时间", "标题", "处理人"])
    assert None not in variants.values()
    partial = guess_mapping(["工单编号", " 项目编号 ", "级别", "联系人", "备注"])
    assert partial["case_id"] == "工单编号" and partial["reporter"] == "联系人" and partial["closed_at"] is None


def test_a_header_is_guessed_for_one_field_only():
    mapping = guess_mapping(["工单号", "工单编号", "项目编号", "优先级", "申告人", "关闭时间"])
    assert list(mapping.values()).count("工单号") == 1 and "工单编号" not in mapping.values()


@pytest.mark.parametrize("change, field", [
    ({"closed_at": None}, "closed_at"),         # a required field left out
    ({"reporter": "报障人"}, "reporter"),        # a column the file lacks
    ({"engineer": "申告人"}, "engineer"),        # a column used twice
])
def test_an_unusable_mapping_is_refused_at_its_field(change, field):
    mapping = {**dict(zip(FIELDS, ZH)), **change}
    with pytest.raises(DomainError) as error:
        check_mapping(mapping, list(ZH))
    assert error.value.field == field


def test_a_mapping_to_a_header_the_file_has_twice_is_refused():
    with pytest.raises(DomainError) as error:
        check_mapping(dict(zip(FIELDS, ZH)), list(ZH) + ["工单号"])
    assert error.value.field == "case_id"


def test_an_unusable_mapping_rejects_the_import_with_the_reason(projects, db):
    record = import_cases(csv_bytes(TICKETS), "t.csv", None, {**dict(zip(FIELDS, ZH)), "priority": None})
    assert record.state == "rejected" and record.errors[0]["row"] is None and case_count(db) == 0


def test_mappings_are_saved_by_name_replaced_and_audited(quality, db):
    columns = {f: h for f, h in zip(FIELDS, ZH)}
    saved = save_mapping("工单系统导出", columns, quality)
    again = save_mapping("工单系统导出", {**columns, "summary": None, "engineer": None}, quality)
    db.session.commit()
    assert again.id == saved.id and "summary" not in mapping_by_name("工单系统导出").columns
    assert [m.name for m in saved_mappings()] == ["工单系统导出"]
    assert db.session.scalar(select(func.count(ImportMapping.id))) == 1
    assert len(events(db, "import_mapping_saved")) == 2
    with pytest.raises(DomainError):
        save_mapping("incomplete", {"case_id": "工单号"}, quality)
    with pytest.raises(DomainError):
        save_mapping("", columns, quality)


def test_a_saved_mapping_imports_a_file_with_other_headers(projects, quality, db):
    headers = ("单号X", "项目X", "级别X", "人X", "电话X", "开X", "关X", "述X", "工X")
    saved = save_mapping("老系统", dict(zip(FIELDS, headers)), quality)
    record = import_cases(csv_bytes(TICKETS, headers), "old.csv", quality, saved.columns)
    assert record.state == "imported" and record.rows_added == 4


# --- every row checked: any error imports nothing -------------------------------------------------

def _future():
    return (utcnow() + timedelta(days=3) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")


ERROR_CASES = [
    # (column index, bad value, header of the column reported, a word of the English message)
    (0, "", "工单号", "Required"),
    (0, "X" * 65, "工单号", "Too long"),
    (0, "GD-001", "工单号", "also in row 2"),       # duplicate of the first row's id
    (1, "PRJ-NOPE", "项目编号", "No project"),
    (1, "", "项目编号", "Required"),
    (2, "P9", "优先级", "priority"),
    (2, "", "优先级", "Required"),
    (3, "", "申告人", "Required"),
    (3, "名" * 121, "申告人", "Too long"),
    (4, "1" * 41, "联系电话", "Too long"),
    (5, "yesterday", "创建时间", "Not a date"),
    (6, "2026-13-45", "关闭时间", "Not a date"),
    (6, "", "关闭时间", "Required"),
    (6, "2026-10-01 08:00", "关闭时间", "before it was opened"),   # opened 2026-10-02
    (6, "FUTURE", "关闭时间", "future"),
    (6, "1999-12-31", "关闭时间", "outside the years"),
    (8, "工" * 121, "处理工程师", "Too long"),
]


@pytest.mark.parametrize("index, value, column, words", ERROR_CASES)
def test_every_error_is_reported_by_row_column_and_value_and_nothing_is_written(
        projects, quality, db, index, value, column, words):
    import_cases(csv_bytes([("OLD-1", "PRJ-2025-001", "P1", "王", "", "", "2026-10-01 10:00", "", "")]),
                 "before.csv", quality, None)
    db.session.commit()
    before = case_count(db)
    value = _future() if value == "FUTURE" else value
    bad = ["GD-900", "PRJ-2025-002", "P2", "李", "139", "2026-10-02 09:00", "2026-10-03 09:00", "x", "周"]
    bad[index] = value
    rows = [TICKETS[0], ("",) * 9, tuple(bad)]  # the blank line is row 3: the bad row is row 4
    record = import_cases(csv_bytes(rows), "bad.csv", quality, None)
    db.session.commit()
    assert record.state == "rejected" and record.rows_read == 2 and record.rows_rejected == 1
    assert record.rows_added == record.rows_updated == record.rows_unchanged == 0
    assert len(record.errors) == 1, record.errors
    error = record.errors[0]
    assert (error["row"], error["column"], error["value"]) == (4, column, value[:200])
    assert words.lower() in error["message"].lower(), error["message"]
    assert case_count(db) == before and "GD-001" not in cases(db)
    assert not events(db, "cases_imported")[1:]  # only the first, clean import is on the record


def test_all_errors_of_a_file_are_listed_and_kept_on_the_record(projects, db):
    rows = [(f"E-{n}", "PRJ-NOPE", "P1", "王", "", "", "2026-10-03") for n in range(1200)]
    record = import_cases(csv_bytes(rows, ZH[:7]), "many.csv", None, None)
    assert record.rows_rejected == 1200 and len(record.errors) == importer.MAX_STORED_ERRORS
    assert record.errors[0]["row"] == 2 and record.errors[-1]["row"] == 1001


def test_parse_rows_reports_progress():
    from portal.services.cases.reading import Table
    seen = []
    table = Table(headers=["case_id", "project_code", "priority", "reporter", "closed_at"],
                  rows=[[f"C{n}", "NOPE", "P1", "王", "2026-10-03"] for n in range(2500)])
    parsed = parse_rows(table, {f: f for f in REQUIRED}, priority_map={"p1": "P1"}, on_progress=
                        lambda done, total: seen.append((done, total)))
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)] and len(parsed.errors) == 2500


# --- re-importing, updating --------------------------------------------------------------------

def test_importing_the_same_file_again_changes_nothing(projects, quality, db):
    data = csv_bytes(TICKETS)
    first = import_cases(data, "t.csv", quality, None)
    db.session.commit()
    snapshot = {c.external_id: (c.id, c.priority, c.closed_at, c.updated_at, c.import_id) for c in cases(db).values()}
    again = import_cases(data, "t.csv", quality, None)
    db.session.commit()
    assert (again.state, again.rows_added, again.rows_updated, again.rows_unchanged) == ("imported", 0, 0, 4)
    assert again.sha256 == first.sha256 and again.id != first.id
    db.session.expire_all()
    assert {c.external_id: (c.id, c.priority, c.closed_at, c.updated_at, c.import_id)
            for c in cases(db).values()} == snapshot
    assert not events(db, "case_updated")
    assert [json.loads(e.detail)["unchanged"] for e in events(db, "cases_imported")] == [0, 4]


def test_a_changed_row_updates_its_case_with_an_audit_event(projects, quality, db):
    import_cases(csv_bytes(TICKETS), "t.csv", quality, None)
    db.session.commit()
    changed = [list(t) for t in TICKETS]
    changed[1][2] = "低"                      # priority P1 -> P4
    changed[1][6] = "2026/10/07 10:15:00"     # closed a day later
    record = import_cases(csv_bytes(changed), "t2.csv", quality, None)
    db.session.commit()
    assert (record.rows_added, record.rows_updated, record.rows_unchanged) == (0, 1, 3)
    case = cases(db)["GD-002"]
    assert case.priority == "P4" and case.closed_at == datetime(2026, 10, 7, 2, 15)
    assert case.updated_at is not None and case.import_id == record.id
    [event] = events(db, "case_updated")
    assert event.object_type == "ServiceCase" and event.object_id == str(case.id) and event.user_id == quality.id
    detail = json.loads(event.detail)
    assert detail["external_id"] == "GD-002" and set(detail["changes"]) == {"priority", "closed_at"}
    assert detail["changes"]["priority"] == ["P1", "P4"]
    summary = json.loads(events(db, "cases_imported")[-1].detail)
    assert summary["file"] == "t2.csv" and summary["sha256"] == record.sha256 and summary["updated"] == 1


def test_new_and_existing_cases_in_one_file_beyond_one_lookup_chunk(projects, db, monkeypatch):
    monkeypatch.setattr(importer, "ID_CHUNK", 3)
    monkeypatch.setattr(importer, "PG_ID_CHUNK", 3)
    monkeypatch.setattr(importer, "INSERT_CHUNK", 4)
    rows = [(f"N-{n:02d}", "PRJ-2025-001", "P3", "王", "", "", f"2026-10-{n + 1:02d} 10:00") for n in range(10)]
    assert import_cases(csv_bytes(rows[:6], ZH[:7]), "a.csv", None, None).rows_added == 6
    rows[2] = rows[2][:3] + ("李",) + rows[2][4:]
    record = import_cases(csv_bytes(rows, ZH[:7]), "b.csv", None, None)
    assert (record.rows_added, record.rows_updated, record.rows_unchanged) == (4, 1, 5)
    assert case_count(db) == 10 and cases(db)["N-02"].reporter == "李"


def test_stored_times_match_what_the_orm_writes(projects, db):
    """The bulk insert writes datetimes as the ORM does, so comparisons in SQL still hold."""
    import_cases(csv_bytes(TICKETS), "t.csv", None, None)
    closed = datetime(2026, 10, 3, 10, 30)
    assert db.session.scalar(select(ServiceCase.external_id).where(ServiceCase.closed_at == closed)) == "GD-001"
    assert db.session.scalar(select(func.count()).where(ServiceCase.closed_at >= closed)) == 4


# --- the job ------------------------------------------------------------------------------------

def test_an_import_job_imports_reports_and_deletes_the_file(app, projects, quality, db):
    job = queue_import(csv_bytes(TICKETS), "工单.csv", quality, dict(zip(FIELDS, ZH)))
    stored = job.params["stored_name"]
    assert importer.import_file_path(stored) is not None
    db.session.commit()  # runs the job (in-process under JOBS_IMMEDIATE)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.state == "done", job.error
    assert job.result["state"] == "imported" and job.result["rows_added"] == 4 and job.total == 4
    record = db.session.get(CaseImport, job.result["import_id"])
    assert record.file_name == "工单.csv" and record.imported_by_id == quality.id
    assert importer.import_file_path(stored) is None and case_count(db) == 4


def test_a_rejected_file_is_a_done_job_with_the_rejected_import(projects, quality, db):
    job = queue_import(csv_bytes([TICKETS[0], TICKETS[0]]), "dup.csv", quality, dict(zip(FIELDS, ZH)))
    db.session.commit()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.state == "done" and job.result["state"] == "rejected" and job.result["rows_rejected"] == 1
    assert case_count(db) == 0


def test_a_killed_import_leaves_nothing(projects, quality, db, monkeypatch):
    """The job dies in the middle of writing (after write_phase, a first chunk inserted): its one
    transaction rolls back, so no case and no import record remain, and the job says it failed."""
    monkeypatch.setattr(importer, "INSERT_CHUNK", 2)
    calls = []
    original = importer._insert_chunk

    def dying(rows):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        original(rows)
    monkeypatch.setattr(importer, "_insert_chunk", dying)
    job = queue_import(csv_bytes(TICKETS), "t.csv", quality, dict(zip(FIELDS, ZH)))
    stored = job.params["stored_name"]
    db.session.commit()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert calls == [2, 2] and job.state == "failed" and "worker killed" in job.error
    assert job.stage == "writing"  # it died writing, after write_phase
    assert case_count(db) == 0 and db.session.scalar(select(func.count(CaseImport.id))) == 0
    assert not events(db, "cases_imported") and importer.import_file_path(stored) is None


def test_a_job_whose_file_is_gone_fails_with_a_message(quality, db):
    from portal.jobs import start_job
    job = start_job("import_cases", quality, stored_name="0" * 32, filename="x.csv", mapping={}, user_id=quality.id)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Job, job.id).state == "failed"


# --- refused files ------------------------------------------------------------------------------

def billion_laughs(data):
    lol = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                     for i in range(1, 10))
           + ']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
           '<si><t>&lol9;</t></si></sst>').encode()
    return rewrite_zip(data, change=lambda name, content: lol if name == "xl/sharedStrings.xml" else content)


def zeros_member(data):
    """50 MB of zeros, deflated to some 50 KB (within the total limit: the ratio gives it away)."""
    return rewrite_zip(data, add=[("xl/media/image1.png", b"\0" * (50 * 1024 * 1024))])


def sparse_sheet(data):
    """Two cells, at A1 and XFD1048576: calamine would allocate 17 billion cells for them."""
    def change(name, content):
        if name == "xl/worksheets/sheet1.xml":
            return content.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
                                                    b"</sheetData>")
        return content
    return rewrite_zip(data, change=change)


def sparse_sheet_without_references(data):
    """Cells without references are placed one after the other: five of them in the last row."""
    def change(name, content):
        if name == "xl/worksheets/sheet1.xml":
            return content.replace(b"</sheetData>", b'<row r="1048576">' + b"<c><v>1</v></c>" * 5 + b"</row>"
                                                    b"</sheetData>")
        return content
    return rewrite_zip(data, change=change)


def without_references(data):
    def change(name, content):
        return re.sub(rb' r="[A-Z]+\d+"', b"", content) if name == "xl/worksheets/sheet1.xml" else content
    return rewrite_zip(data, change=change)


def test_cells_without_references_are_read_in_order(projects, db):
    data = without_references(xlsx_bytes([TICKETS[0], TICKETS[1]], sheet="Sheet1"))
    assert b' r="A1"' not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    record = import_cases(data, "plain.xlsx", None, None)
    assert record.state == "imported" and record.rows_added == 2, record.errors


@pytest.mark.parametrize("spoil, words", [
    (billion_laughs, "DOCTYPE"),
    (zeros_member, "zip bomb"),
    (sparse_sheet, "cells"),
    (sparse_sheet_without_references, "cells"),
    (lambda data: b"PK\x03\x04" + b"\0" * 200, "XLSX"),
    (lambda data: rewrite_zip(data, add=[(f"x/{n}.xml", b"<a/>") for n in range(5001)]), "parts"),
])
def test_malicious_or_broken_workbooks_are_refused_and_nothing_is_written(projects, quality, db, spoil, words):
    clean = xlsx_bytes([TICKETS[0]], sheet="Sheet1")
    assert read_table(clean, "ok.xlsx").rows
    data = spoil(clean)
    with pytest.raises(FileRefused) as error:
        read_table(data, "evil.xlsx")
    assert words.lower() in str(error.value.message).lower()
    record = import_cases(data, "evil.xlsx", quality, None)
    db.session.commit()
    assert record.state == "rejected" and record.rows_read == 0 and case_count(db) == 0
    assert record.errors[0]["message"] == str(error.value.message)


def test_a_workbook_unzipping_beyond_the_limit_is_refused(app, projects, monkeypatch):
    data = xlsx_bytes([TICKETS[0]])
    monkeypatch.setitem(app.config, "CASE_IMPORT_MAX_UNZIPPED", 4096)
    with pytest.raises(FileRefused):
        read_table(data, "t.xlsx")


def test_too_large_empty_and_legacy_files_are_refused(app, monkeypatch, db):
    with pytest.raises(FileRefused):
        read_table(b"", "t.csv")
    with pytest.raises(FileRefused):
        read_table(b"\r\n \r\n", "t.csv")
    with pytest.raises(FileRefused):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls")
    monkeypatch.setitem(app.config, "CASE_IMPORT_MAX_BYTES", 100)
    with pytest.raises(FileRefused) as error:
        read_table(csv_bytes(TICKETS), "t.csv")
    assert "too large" in str(error.value.message)
    with pytest.raises(FileRefused):
        queue_import(csv_bytes(TICKETS), "t.csv", None, {})
    assert db.session.scalar(select(func.count(Job.id))) == 0


def test_text_in_neither_utf8_nor_gb18030_is_refused():
    with pytest.raises(FileRefused):
        read_table("工单号,项目编号\n".encode("utf-16"), "t.csv")


# --- the error list as CSV ----------------------------------------------------------------------

def test_errors_csv_has_a_bom_and_neutralises_formulas(projects, db):
    evil = "=cmd|' /C calc'!A0"
    rows = [("E-1", evil, "@SUM(1+1)", "王", "", "", "2026-10-03")]
    record = import_cases(csv_bytes(rows, ZH[:7]), "evil.csv", None, None)
    data = errors_csv(record)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0] == ["row", "column", "value", "message"]
    values = {line[1]: line[2] for line in lines[1:]}
    assert values["项目编号"] == "'" + evil and values["优先级"] == "'@SUM(1+1)"
    assert all(not line[2].startswith(("=", "+", "-", "@")) for line in lines[1:])


@pytest.mark.parametrize("value, safe", [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@x", "'@x"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("PRJ-1", "PRJ-1"), ("", ""), (5, 5), (None, None)])
def test_safe_cell(value, safe):
    assert safe_cell(value) == safe


# --- the example files --------------------------------------------------------------------------

def test_the_example_files_import_cleanly_into_the_demo_data(db):
    from portal.demo import load_demo_data
    from portal.seed.examples import example_csv, example_xlsx
    load_demo_data("demo-password-1")
    db.session.commit()
    before = case_count(db)  # the demo's own tickets
    data = example_csv()
    assert read_table(data, "example.csv").encoding == "gb18030"
    first = import_cases(data, "example.csv", None, None)
    workbook = import_cases(example_xlsx(), "example.xlsx", None, None)
    db.session.commit()
    assert first.state == "imported", first.errors[:3]
    assert workbook.state == "imported", workbook.errors[:3]
    assert first.rows_added == workbook.rows_added == 30 and case_count(db) == before + 60
    priorities = set(db.session.scalars(select(ServiceCase.priority).where(ServiceCase.import_id.in_(
        [first.id, workbook.id]))))
    assert priorities == {"P1", "P2", "P3", "P4"}
    again = import_cases(example_csv(), "example.csv", None, None)
    assert again.rows_unchanged == 30
