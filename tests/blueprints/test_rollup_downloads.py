"""The rollup's files from its pages: the workbook and the score sheets (a published revision's
stored figures, or a period's fresh ones), and the PDF report through the job worker to its
starter's download. Readers only; a revision or period that does not exist is 404."""
import io

import openpyxl
import pytest

from portal.extensions import db
from portal.models import Job
from portal.services.rollup import publication as pub
from portal.services.verification import judge

from ..pdftools import embedded_cjk_fonts, text
from .test_rollup_pages import QUARTER, _verify, build_world

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def world(db):
    return build_world()  # the close pages' two forms


def _book(response):
    assert response.status_code == 200 and response.mimetype == XLSX
    return openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)


def _summary_responses(book):
    """The summary sheet's "Responses counted" figure."""
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    return next(row[1] for row in rows if row[0] == "Responses counted")  # the tests read English


def test_the_report_page_links_its_files(client, auth, world):
    _verify(world)
    auth.login("pmo1")
    html = client.get(f"/rollup/{QUARTER}/preview?with_pending=1").get_data(as_text=True)
    assert f'href="/rollup/report.xlsx?period={QUARTER}&amp;with_pending=1"' in html
    assert f'id="score-sheet-pm-pdf" download href="/rollup/score-sheet/pm.pdf?period={QUARTER}&amp;with_pending=1"' in html
    assert 'id="make-pdf"' in html and 'name="csrf_token"' in html
    rev = pub.publish(QUARTER, actor=world["quality"])
    db.session.commit()
    html = client.get(f"/rollup/{QUARTER}/revisions/{rev.number}").get_data(as_text=True)
    assert f'href="/rollup/report.xlsx?revision={QUARTER}:1"' in html
    period = client.get("/rollup/period?period=2026-11").get_data(as_text=True)
    assert 'href="/rollup/score-sheet/sales.xlsx?period=2026-11"' in period


def test_a_revisions_workbook_keeps_the_published_figures(client, auth, world):
    _verify(world)
    pub.publish(QUARTER, actor=world["quality"])
    db.session.commit()
    judge(world["forms"][:1], "rejected", actor=world["quality"], reason="同一设备")
    db.session.commit()
    auth.login("pmo1")
    published = client.get(f"/rollup/report.xlsx?revision={QUARTER}:1")
    assert "attachment" in published.headers["Content-Disposition"]
    assert f"satisfaction-report-{QUARTER}-r1.xlsx" in published.headers["Content-Disposition"]
    book = _book(published)
    assert _summary_responses(book) == 2  # as published, though one form is rejected since
    assert not [c for s in book.worksheets for row in s.iter_rows() for c in row if c.data_type == "f"]
    assert _summary_responses(_book(client.get(f"/rollup/report.xlsx?period={QUARTER}"))) == 1  # today's


def test_the_score_sheets_in_pdf_and_xlsx(client, auth, world):
    _verify(world)
    auth.login("quality1")
    sheet = client.get(f"/rollup/score-sheet/pm.pdf?period={QUARTER}")
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    assert sheet.headers["Content-Disposition"].startswith("attachment;")
    assert embedded_cjk_fonts(sheet.data)
    words = text(sheet.data)
    assert "满意率" in words and "head1" in words
    header = next(line for line in words.splitlines() if "满意率" in line and "得分" in line)
    assert header.index("满意率") < header.index("得分")  # the rate first
    book = _book(client.get(f"/rollup/score-sheet/pm.xlsx?period={QUARTER}"))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[1][2] == "head1" and rows[1][9] == 2


def test_the_pdf_report_is_made_by_a_job_and_downloaded_by_its_starter(client, auth, world):
    _verify(world)
    auth.login("pmo1")
    started = client.post_form("/rollup/report-pdf", {"period": QUARTER}, token_from=f"/rollup/{QUARTER}/preview",
                               htmx=True)
    assert started.status_code == 204
    job_url = started.headers["HX-Redirect"]
    job = db.session.scalars(db.select(Job).where(Job.kind == "rollup_report")).one()
    assert job_url.endswith(f"/jobs/{job.id}") and job.params["period"] == QUARTER
    page = client.get(job_url).get_data(as_text=True)
    assert 'data-state="done"' in page and 'id="job-file"' in page
    pdf = client.get(f"/jobs/{job.id}/file")
    data = pdf.data
    pdf.close()  # send_file's open file
    assert pdf.status_code == 200 and data.startswith(b"%PDF") and embedded_cjk_fonts(data)
    assert "数据中心运维" in text(data)
    auth.logout()
    auth.login("vp1")  # a reader, but not the job's starter
    assert client.get(f"/jobs/{job.id}/file").status_code == 404


def test_a_revisions_pdf_job_renders_the_revision(client, auth, world):
    _verify(world)
    pub.publish(QUARTER, actor=world["quality"])
    db.session.commit()
    auth.login("quality1")
    started = client.post_form("/rollup/report-pdf", {"revision": f"{QUARTER}:1"},
                               token_from=f"/rollup/{QUARTER}/revisions/1")
    assert started.status_code == 303
    job = db.session.scalars(db.select(Job).where(Job.kind == "rollup_report")).one()
    assert job.state == "done" and job.result["filename"] == f"satisfaction-report-{QUARTER}-r1.pdf"


@pytest.mark.parametrize("url", [
    "/rollup/report.xlsx?revision=2026Q4:7", "/rollup/report.xlsx?revision=nonsense",
    "/rollup/report.xlsx?period=2026-13", "/rollup/report.xlsx",
    f"/rollup/score-sheet/engineer.pdf?period={QUARTER}", f"/rollup/score-sheet/pm.docx?period={QUARTER}",
])
def test_what_does_not_exist_is_404(client, auth, world, url):
    auth.login("pmo1")
    assert client.get(url).status_code == 404


def test_only_readers_get_the_files_and_making_a_pdf_needs_the_token(client, auth, world):
    _verify(world)
    auth.login("sales1")
    assert client.get(f"/rollup/report.xlsx?period={QUARTER}").status_code == 403
    assert client.get(f"/rollup/score-sheet/pm.xlsx?period={QUARTER}").status_code == 403
    assert client.post_form("/rollup/report-pdf", {"period": QUARTER}, token_from="/").status_code == 403
    auth.logout()
    auth.login("pmo1")
    assert client.post("/rollup/report-pdf", data={"period": QUARTER}).status_code == 400  # no CSRF token
    assert db.session.scalar(db.select(db.func.count(Job.id))) == 0
