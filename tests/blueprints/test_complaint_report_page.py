"""The complaints' monthly report page and its workbook: the quality desk (and PMO, executives,
admin) read the shares within each limit, PMs and salespeople are refused, a bad month is a 400
with its message, the list links to it, and the XLSX reads back with formula-looking text as text."""
import io
import re
import zipfile

import pytest
from python_calamine import CalamineWorkbook

from portal.extensions import db as _db
from portal.services.complaints import report as report_module
from portal.services.complaints.report import last_month, month_key

from ..services.test_complaints import build_world, local, register, step

NOW = local(2026, 11, 3, 12)
FORMULA = '=HYPERLINK("http://evil.example","点我")'


@pytest.fixture
def world(make, db, monkeypatch):
    monkeypatch.setattr(report_module, "utcnow", lambda: NOW)  # the clocks read as of NOW
    world = build_world(make, db)
    make.user("r_pmo", roles=("pmo",))
    make.user("r_archive", roles=("archive",))
    # a department whose name looks like a formula, to see it stays text in the workbook
    world["other"].name = FORMULA
    # within both limits: contacted after 2 h, told the outcome after 18 h
    a = register(world, now=local(2026, 10, 12, 9))
    step(a, "accept", world["quality"], now=local(2026, 10, 12, 9))
    step(a, "record_contact", world["quality"], now=local(2026, 10, 12, 11), how="phone")
    _resolve(world, a, local(2026, 10, 14, 9))
    # late on both: contacted after 25 h (Friday 09:00 to Tuesday 16:00, the weekend not counted),
    # told after 49 h (the next Friday 13:00)
    b = register(world, now=local(2026, 10, 16, 9), channel="email")
    step(b, "accept", world["quality"], now=local(2026, 10, 16, 9))
    step(b, "record_contact", world["quality"], now=local(2026, 10, 20, 16), how="phone")
    _resolve(world, b, local(2026, 10, 23, 13))
    # pending on both at NOW: 31 October 23:30 in Shanghai, its clocks start on Monday 2 November
    register(world, now=local(2026, 10, 31, 23, 30), channel="chat")
    _db.session.commit()
    return world


def _resolve(world, c, at):
    step(c, "assign", world["quality"], now=at, department=world["other"], owner=world["outsider"])
    step(c, "investigate", world["outsider"], now=at, findings="排班冲突", company_fault=True)
    step(c, "propose_remedy", world["outsider"], now=at, kind="apology", text="书面致歉")
    step(c, "approve", world["exec"], now=at)
    step(c, "notify_client", world["outsider"], now=at, how="phone", said="结果与原因")


def _text_of(html, selector_attr):
    match = re.search(rf'<span class="stat" {selector_attr}>([^<]*)</span>', html)
    return match.group(1) if match else None


def _limit_block(html, name):
    start = html.index(f'data-limit="{name}"')
    return html[start:html.index("</div>\n    </div>", start)]


@pytest.mark.parametrize("username", ["c_quality", "r_pmo", "c_exec"])
def test_the_readers_see_the_shares_and_counts(client, auth, world, username):
    auth.login(username)
    response = client.get("/complaints/report?month=2026-10")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    first, resolution = _limit_block(html, "first_contact"), _limit_block(html, "resolution")
    assert '<div class="stat" data-share>50.0 %</div>' in first
    assert (_text_of(first, "data-within"), _text_of(first, "data-late"), _text_of(first, "data-pending")) == (
        "1", "1", "1")
    assert (_text_of(resolution, "data-within"), _text_of(resolution, "data-late"),
            _text_of(resolution, "data-pending")) == ("1", "1", "1")
    assert re.search(r'data-state-group="done"><td>[^<]*</td><td>2</td>', html)
    assert re.search(r'data-state-group="registered"><td>[^<]*</td><td>1</td>', html)
    assert re.search(r'data-channel="email"><td>[^<]*</td><td>1</td>', html)
    assert 'data-channel="letter"' not in html  # channels without complaints are left out
    department = re.search(rf'<tr data-department="{world["other"].id}">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td>(?:<strong>)?([^<]*)", department)[1:] == [
        "2", "1", "1", "0", "50.0 %", "1", "1", "0", "50.0 %"]
    assert 'data-month="2026-05"' in html and 'data-month="2026-10"' in html
    assert "/complaints/report.xlsx?month=2026-10" in html


def test_without_a_month_the_report_shows_last_month(client, auth, world, app):
    auth.login("c_quality")
    html = client.get("/complaints/report").get_data(as_text=True)
    with app.app_context():
        expected = month_key(*last_month(NOW))
    assert expected == "2026-10" and f'name="month" value="{expected}"' in html


@pytest.mark.parametrize("username", ["c_pm", "c_sales", "r_archive"])
def test_pms_salespeople_and_the_archive_are_refused(client, auth, world, username):
    auth.login(username)
    assert client.get("/complaints/report?month=2026-10").status_code == 403
    assert client.get("/complaints/report.xlsx?month=2026-10").status_code == 403


def test_anonymous_users_are_sent_to_log_in(client, world):
    response = client.get("/complaints/report")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "nonsense", "1999-12", "2026-10-01", "<script>"])
def test_a_bad_month_is_a_400_with_its_message(client, auth, world, month):
    auth.login("c_quality")
    response = client.get("/complaints/report", query_string={"month": month})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="month-error"' in html and "YYYY-MM" in html
    assert "data-limit" not in html and 'value="<script>"' not in html
    assert client.get("/complaints/report.xlsx", query_string={"month": month}).status_code == 400


def test_the_list_links_to_the_report_for_its_readers_only(client, auth, world):
    auth.login("c_quality")
    assert "/complaints/report" in client.get("/complaints/").get_data(as_text=True)
    auth.logout()
    auth.login("c_pm")
    assert "/complaints/report" not in client.get("/complaints/").get_data(as_text=True)


def _sheets(data):
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def test_the_workbook_reads_back_with_formula_text_as_text(client, auth, world):
    auth.login("c_quality")
    response = client.get("/complaints/report.xlsx?month=2026-10")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="complaints-report-2026-10.xlsx"' in response.headers["Content-Disposition"]
    data = response.data
    sheets = _sheets(data)
    assert list(sheets) == ["Limits 2026-10", "Counts 2026-10", "Departments 2026-10", "Trend"]
    limits = sheets["Limits 2026-10"]
    assert [row[1:] for row in limits[1:]] == [[1, 1, 1, pytest.approx(0.5)], [1, 1, 1, pytest.approx(0.5)]]
    counts = dict((row[0], row[1]) for row in sheets["Counts 2026-10"][1:])
    assert counts["Complaints registered"] == 3 and counts["Major"] == 0
    departments = sheets["Departments 2026-10"]
    formula_row = next(row for row in departments[1:] if "HYPERLINK" in str(row[0]))
    assert formula_row[0] == "'" + FORMULA and formula_row[1:6] == [2, 1, 1, 0, pytest.approx(0.5)]
    trend = sheets["Trend"]
    assert [row[0] for row in trend[1:]] == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    assert trend[-1][1] == 3 and trend[1][1] == 0 and trend[1][5] == ""  # no share without a count
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in (n for n in z.namelist() if n.startswith("xl/worksheets/")):
            xml = z.read(name).decode()
            assert "<f>" not in xml and "<f " not in xml and "<hyperlink" not in xml
