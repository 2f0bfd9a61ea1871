"""The historical results import's pages: a file uploaded with its CSRF token is imported and its
outcome shown; a wrong file comes back 422 with its rows; a larger file runs as a job; the template
downloads with the documented headers; the quality department imports, PMO and executives read,
PMs are refused."""
import csv
import io
import re

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from portal.models import HistoricalResult, HistoryImport, Job
from portal.services.history import importer
from portal.services.history.format import COLUMNS
from portal.services.quarters import current_quarter, shift_quarter

HX = {"HX-Request": "true"}
HEADERS = ("季度", "项目编号", "维度", "样本数", "得分", "满意率")
LAST = shift_quarter(current_quarter(), -1)
ROWS = [(LAST, "PRJ-HP-1", "总体", 12, 4.25, "85%"), (LAST, "PRJ-HP-1", "服务态度", 12, 4.5, "90")]


@pytest.fixture
def people(make):
    make.user("q_h", roles=("quality",))
    make.user("pmo_h", roles=("pmo",))
    make.user("exec_h", roles=("exec",))
    pm = make.user("pm_h", roles=("pm",))
    make.project(pm=pm, code="PRJ-HP-1")


def export(rows, encoding="gb18030"):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def upload(client, data, name="历史结果.csv", headers=None, token=None):
    token = token or client.csrf_token("/history/import")
    return client.post("/history/import", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", headers=headers or {})


def result_count(db):
    return db.session.scalar(select(func.count(HistoricalResult.id)))


def test_a_file_uploaded_through_the_page_is_imported(client, auth, people, db):
    auth.login("q_h")
    page = client.get("/history/import")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.get_data(as_text=True)
    response = upload(client, export(ROWS))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="history-outcome" data-ok="true"' in html
    assert "gb18030" in html and LAST in html
    assert result_count(db) == 2
    record = db.session.scalar(select(HistoryImport))
    assert record.file_name == "历史结果.csv" and record.rows == 2
    assert f'/history/imports/{record.id}' in html
    again = upload(client, export(ROWS)).get_data(as_text=True)
    assert "Nothing changed" in again and "already imported" in again
    assert db.session.scalar(select(func.count(HistoryImport.id))) == 1


def test_without_the_csrf_token_nothing_is_imported(client, auth, people, db):
    auth.login("q_h")
    response = client.post("/history/import", data={"file": (io.BytesIO(export(ROWS)), "h.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and result_count(db) == 0


def test_a_wrong_file_comes_back_422_with_its_rows(client, auth, people, db):
    auth.login("q_h")
    rows = [ROWS[0], (LAST, "PRJ-NOPE", "总体", 0, 6, ""), (current_quarter(), "PRJ-HP-1", "总体", 3, 4, "")]
    response = upload(client, export(rows))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'data-ok="false"' in html and "Rejected: nothing imported" in html
    errors = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td>", html.split('id="history-errors"')[1])
    assert errors == [("3", "项目编号"), ("3", "样本数"), ("3", "得分"), ("4", "季度")]
    assert "No project has this code." in html and "Only past quarters" in html
    assert result_count(db) == 0 and db.session.scalar(select(func.count(HistoryImport.id))) == 0


def test_htmx_gets_the_import_box_alone(client, auth, people, db):
    auth.login("q_h")
    token = client.csrf_token("/history/import")
    bad = upload(client, export([(LAST, "PRJ-NOPE", "总体", 1, 4, "")]), headers={**HX, "X-CSRFToken": token},
                 token=token)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and html.lstrip().startswith('<div id="history-import">') and "<html" not in html
    assert bad.headers["Vary"] and "HX-Request" in bad.headers["Vary"]
    good = upload(client, export(ROWS), headers={**HX, "X-CSRFToken": token}, token=token)
    assert good.status_code == 200 and 'data-ok="true"' in good.get_data(as_text=True) and result_count(db) == 2


def test_no_file_chosen_is_shown_at_the_field(client, auth, people, db):
    auth.login("q_h")
    token = client.csrf_token("/history/import")
    response = client.post("/history/import", data={"csrf_token": token}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="err-file"' in html and "Choose a file." in html


def test_a_larger_file_runs_as_a_job_and_its_page_shows_the_outcome(client, auth, people, db, monkeypatch):
    monkeypatch.setattr(importer, "INLINE_MAX_BYTES", 10)
    auth.login("q_h")
    response = upload(client, export(ROWS))
    assert response.status_code == 303
    job = db.session.scalar(select(Job).where(Job.kind == "import_history"))
    assert response.headers["Location"].endswith(f"/history/jobs/{job.id}")
    page = client.get(f"/history/jobs/{job.id}").get_data(as_text=True)
    assert 'data-state="done"' in page and 'data-ok="true"' in page and result_count(db) == 2
    auth.logout()
    auth.login("pmo_h")
    assert client.get(f"/history/jobs/{job.id}").status_code == 403  # importing is the quality department's


def test_the_template_downloads_with_the_documented_headers(client, auth, people):
    auth.login("q_h")
    response = client.get("/history/template.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.data))
    sheets = [book.get_sheet_by_name(name).to_python() for name in book.sheet_names]
    assert sheets[0][0] == ["季度", "项目编号", "维度", "样本数", "得分", "满意率"]
    assert len(sheets[0]) == 3  # the header and two examples
    assert [row[0] for row in sheets[1][1:] if row[0]] == [c.header_zh for c in COLUMNS]
    assert sheets[1][0][:2] == ["Header", "English header"]  # the notes follow the user's language


def test_the_list_shows_imports_and_imported_quarters_to_readers(client, auth, people, db):
    auth.login("q_h")
    upload(client, export(ROWS))
    home = client.get("/").get_data(as_text=True)
    assert 'href="/history/"' in home and "History import" in home  # the quality user's top bar
    auth.logout()
    for reader in ("pmo_h", "exec_h"):
        auth.login(reader)
        page = client.get("/history/")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "历史结果.csv" in html
        quarters = html.split('id="imported-quarters"')[1].split("</section>")[0]
        assert LAST in quarters and "Imported" in quarters and "4.25" in quarters and "85.0%" in quarters
        record = db.session.scalar(select(HistoryImport))
        detail = client.get(f"/history/imports/{record.id}")
        assert detail.status_code == 200 and record.sha256 in detail.get_data(as_text=True)
        assert client.get("/history/import").status_code == 403
        auth.logout()


def test_a_pm_is_refused(client, auth, people, db):
    auth.login("pm_h")
    token = client.csrf_token("/")
    for url in ("/history/", "/history/import", "/history/template.xlsx"):
        assert client.get(url).status_code == 403, url
    response = upload(client, export(ROWS), token=token)
    assert response.status_code == 403 and result_count(db) == 0
    assert 'href="/history/"' not in client.get("/").get_data(as_text=True)


def test_an_unknown_import_is_404(client, auth, people):
    auth.login("q_h")
    assert client.get("/history/imports/999").status_code == 404
