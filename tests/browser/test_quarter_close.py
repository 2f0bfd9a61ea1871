"""Closing a quarter by clicking, in Chinese (issue 13): the quality desk verifies the quarter's
forms in the queue (one rejected, with its reason), reads the close dashboard and the preview
beside the pending forms and publishes the quarter; the stored revision holds the numbers
the page showed; the revision's workbook downloads with those numbers, and its PDF report is
made by the job worker, shown finished on the job's page and downloaded; the VP sees the
report waiting for acknowledgement."""
import io
import os
from datetime import timedelta
from pathlib import Path

import openpyxl

from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Department, Response, RollupRevision
from portal.models.base import utcnow
from portal.services.answers import parse_answers
from portal.services.quarters import current_quarter
from portal.services.responses import submit_response
from tests import factories
from tests.pdftools import embedded_cjk_fonts
from tests.pdftools import text as pdf_text

WAIT = 15000
SHOTS = "/tmp/shots"
REASON = "同一设备连续提交，电话核实为代填"


def text(message, **variables):
    with force_locale("zh"):
        return gettext(message, **variables)


def _world():
    quality = factories.user("quality_c", roles=("quality",))
    factories.user("vp_c", roles=("exec",))
    head = factories.user("head_c", roles=("pm",))
    db.session.add(Department(name="运维服务部", head_id=head.id))
    project = factories.project(pm=head, code="P-CLOSE", name="数据中心运维服务")
    version = factories.template_version()
    quarter = current_quarter()
    submitted = utcnow() - timedelta(days=1)
    for answers in ({"q_attitude": "5", "q_timeliness": "5", "q_technical": "9"},
                    {"q_attitude": "4", "q_timeliness": "4", "q_technical": "8"},
                    {"q_attitude": "1", "q_timeliness": "1", "q_technical": "1"}):
        submit_response(version, parse_answers(version, answers, complete=True), channel="paper", project=project,
                        quarter=quarter, entered_by=quality, submitted_at=submitted)
    db.session.commit()
    ids = sorted(db.session.scalars(db.select(Response.id)).all())
    return quarter, ids


def test_quality_closes_the_quarter_in_the_browser(signed_in):
    quarter, (good, fair, bad) = _world()
    os.makedirs(SHOTS, exist_ok=True)
    page = signed_in("quality_c")
    page.goto(f"/verification/?quarter={quarter}&state=pending")
    for response_id in (good, fair):
        row = page.locator(f"#verify-{response_id}")
        row.get_by_role("button", name=text("Authentic")).click()
        expect(page.locator(f"#verify-{response_id}")).to_have_attribute("data-state", "authentic", timeout=WAIT)
    row = page.locator(f"#verify-{bad}")
    row.locator("input[name=reason]").fill(REASON)
    row.get_by_role("button", name=text("Reject")).click()
    expect(page.locator(f"#verify-{bad}")).to_have_attribute("data-state", "rejected", timeout=WAIT)
    expect(page.locator(f"#verify-{bad}")).to_contain_text(REASON)

    page.goto(f"/rollup/{quarter}")
    expect(page.locator("#countdown")).to_be_visible()
    expect(page.locator("#preview-n")).to_have_text("2")
    page.screenshot(path=f"{SHOTS}/rollup-close.png", full_page=True)
    page.get_by_role("link", name=text("Open the full preview")).click()
    expect(page.locator("h1")).to_contain_text(text("Preview — not published"))
    page.go_back()

    page.locator("#publish-button").click()
    page.wait_for_url(f"**/rollup/{quarter}/revisions/1")
    expect(page.locator("h1")).to_contain_text(text("Revision %(n)d", n=1))
    expect(page.locator('[data-recipient="vp_c"]')).to_have_attribute("data-acknowledged", "no")
    expect(page.locator("body")).to_contain_text("数据中心运维服务")
    page.screenshot(path=f"{SHOTS}/rollup-revision.png", full_page=True)

    db.session.rollback()
    rev = db.session.scalar(db.select(RollupRevision).where(RollupRevision.quarter == quarter))
    assert rev.figures["overall"]["responses"] == 2
    assert rev.figures["excluded"]["rejected"] == 1

    # the XLSX workbook of the revision: the published figures and the two counted forms' answers
    with page.expect_download() as download:
        page.locator("#download-xlsx").click()
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True)
    summary = {row[0]: row[1] for row in book.worksheets[0].iter_rows(values_only=True) if row}
    assert summary[text("Responses counted")] == 2
    assert book.worksheets[-1].max_row - 1 == 2 * 3  # three scale answers on each counted form
    assert not [c for s in book.worksheets for row in s.iter_rows() for c in row if c.data_type == "f"]

    # the PDF report: made by the job worker, its page shows the progress and then the file
    page.get_by_role("button", name=text("Make the PDF report")).click()
    page.wait_for_url("**/jobs/*")
    expect(page.locator("#job-status")).to_have_attribute("data-state", "done", timeout=60000)
    progress = page.locator("#job-status progress")
    expect(progress).to_have_attribute("value", progress.get_attribute("max"))
    page.screenshot(path=f"{SHOTS}/rollup-pdf-job.png", full_page=True)
    with page.expect_download() as download:
        page.locator("#job-file a").click()
    assert download.value.suggested_filename == f"satisfaction-report-{quarter}-r1.pdf"
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and embedded_cjk_fonts(pdf)
    assert "数据中心运维服务" in pdf_text(pdf)

    vp = signed_in("vp_c")
    vp.goto("/")
    expect(vp.locator("#home-rollup-acknowledge")).to_be_visible()
