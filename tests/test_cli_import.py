"""flask import-cases FILE [--mapping NAME] [--sheet S] [--user USERNAME]: the import in the
process, with a human summary; a refused file lists its errors and exits 1."""
import csv
import io

import pytest
from sqlalchemy import func, select

from portal.models import CaseImport, ServiceCase
from portal.services.cases.mapping import save_mapping

HEADERS = ("工单号", "项目编号", "优先级", "申告人", "联系电话", "创建时间", "关闭时间", "问题描述", "处理工程师")
ROWS = [("GD-1", "PRJ-2025-001", "紧急", "王建国", "13900000001", "2026-10-03 14:05", "2026-10-03 18:30", "断网", "周磊"),
        ("GD-2", "PRJ-2025-002", "2 - High", "李晓红", "", "2026/10/05 09:00:00", "2026/10/06 10:15:00", "告警", "")]


def write_csv(path, rows, headers=HEADERS, encoding="gb18030"):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


@pytest.fixture
def projects(make):
    return [make.project(code=code) for code in ("PRJ-2025-001", "PRJ-2025-002")]


def count(db, model):
    return db.session.scalar(select(func.count(model.id)))


def test_import_cases_command_imports_a_gb18030_file(runner, db, projects, make, tmp_path):
    make.user("quality7", roles=("quality",))
    path = write_csv(tmp_path / "工单导出.csv", ROWS)
    result = runner.invoke(args=["import-cases", str(path), "--user", "quality7"])
    assert result.exit_code == 0, result.output
    assert "工单导出.csv" in result.output and "gb18030" in result.output
    assert "rows read 2, added 2, updated 0, unchanged 0, rejected 0" in result.output
    record = db.session.scalar(select(CaseImport))
    assert record.state == "imported" and record.imported_by.username == "quality7"
    assert count(db, ServiceCase) == 2

    again = runner.invoke(args=["import-cases", str(path)])
    assert again.exit_code == 0 and "added 0, updated 0, unchanged 2" in again.output


def test_import_cases_command_lists_the_errors_of_a_bad_file_and_exits_1(runner, db, projects, tmp_path):
    bad = [ROWS[0], ("GD-1", "PRJ-NOPE", "P9", "", "", "", "2026-13-01", "", "")]
    path = write_csv(tmp_path / "bad.csv", bad)
    result = runner.invoke(args=["import-cases", str(path)])
    assert result.exit_code == 1
    assert "rejected 1" in result.output
    for expected in ("row 3, 工单号 = 'GD-1'", "row 3, 项目编号 = 'PRJ-NOPE'", "row 3, 优先级 = 'P9'",
                     "row 3, 申告人", "row 3, 关闭时间 = '2026-13-01'", "nothing was imported"):
        assert expected in result.output, result.output
    assert count(db, ServiceCase) == 0
    assert db.session.scalar(select(CaseImport.state)) == "rejected"


def test_import_cases_command_with_a_saved_mapping_and_a_sheet(runner, db, projects, make, tmp_path):
    import xlsxwriter
    headers = ("Ref", "Proj", "Sev", "Who", "Phone", "Open", "Close", "Text", "Tech")
    save_mapping("old-system", dict(zip(("case_id", "project_code", "priority", "reporter", "reporter_phone",
                                         "opened_at", "closed_at", "summary", "engineer"), headers)), None)
    db.session.commit()
    path = tmp_path / "export.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet("readme").write(0, 0, "x")
    sheet = workbook.add_worksheet("tickets")
    sheet.write_row(0, 0, headers)
    for r, row in enumerate(ROWS, 1):
        sheet.write_row(r, 0, row)
    workbook.close()
    without = runner.invoke(args=["import-cases", str(path), "--sheet", "tickets"])
    assert without.exit_code == 1  # the headers are not recognised without the mapping
    result = runner.invoke(args=["import-cases", str(path), "--mapping", "old-system", "--sheet", "tickets"])
    assert result.exit_code == 0, result.output
    assert "sheet tickets" in result.output and "added 2" in result.output


@pytest.mark.parametrize("option", [["--mapping", "nope"], ["--user", "nobody"]])
def test_import_cases_command_refuses_unknown_names(runner, db, projects, tmp_path, option):
    path = write_csv(tmp_path / "t.csv", ROWS)
    result = runner.invoke(args=["import-cases", str(path), *option])
    assert result.exit_code != 0 and count(db, CaseImport) == 0
