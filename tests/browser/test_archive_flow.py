"""The archive by clicking, in Chinese (issue 14): the PMO hands the published quarter over to the
archive; the archive confirms receipt, downloads a stored PDF (its checksum the one recorded),
puts a form of an old quarter on legal hold in place, chooses two forms past their three years,
confirms the disposal with its count and dates and a reason, and sees the tombstones; the
database keeps the tombstones and nothing of the two forms' answers, and the held form intact."""
import hashlib
import os
from datetime import datetime, timedelta
from pathlib import Path

from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Answer, ArchiveHandover, Response, Tombstone
from portal.models.base import utcnow
from portal.services.answers import parse_answers
from portal.services.archive import handover
from portal.services.quarters import current_quarter, quarter_bounds, shift_quarter
from portal.services.responses import submit_response
from portal.services.rollup import publication
from portal.services.verification import judge
from tests import factories
from tests.pdftools import embedded_cjk_fonts

WAIT = 15000
SHOTS = "/tmp/shots"
OLD = "2022Q3"
OLD_HANDED_OVER = datetime(2022, 10, 20, 9, 0)  # kept until 2025-10-20: eligible today
HOLD_REASON = "合同纠纷，法务要求保全"
DISPOSAL_REASON = "保存期满，按档案制度销毁"
RECEIPT_NOTE = "纸质件已清点入柜"


def text(message, **variables):
    with force_locale("zh"):
        return gettext(message, **variables)


def _forms(version, project, contact, quarter, when, n, quality):
    made = []
    for i in range(n):
        answers = {"q_attitude": "5", "q_timeliness": "4", "q_technical": str(9 - i % 2)}
        made.append(submit_response(version, parse_answers(version, answers, complete=True), channel="paper",
                                    project=project, quarter=quarter, contact=contact, entered_by=quality,
                                    submitted_at=when + timedelta(days=3 * i)))
    db.session.commit()
    judge(made, "authentic", actor=quality, now=when + timedelta(days=40))
    db.session.commit()
    return [f.id for f in made]


def _world(app):
    """An old quarter handed over (and received) years ago, its forms past their date; last
    quarter published and not handed over yet."""
    with app.test_request_context():  # the old quarter's PDFs are rendered at the commit below
        quality = factories.user("quality_a", roles=("quality",))
        pmo = factories.user("pmo_a", roles=("pmo",), display_name="PMO 李强")
        archive = factories.user("archive_a", roles=("archive",), display_name="行政部 赵敏")
        project = factories.project(pm=factories.user("pm_a", roles=("pm",)), code="P-ARCH", name="数据中心运维服务")
        contact = factories.contact(project.client, name="王建国")
        version = factories.template_version()
        old = _forms(version, project, contact, OLD, datetime(2022, 7, 12, 10), 4, quality)
        publication.publish(OLD, actor=quality, now=datetime(2022, 10, 10))
        db.session.commit()
        done = handover.hand_over(OLD, actor=pmo, now=OLD_HANDED_OVER)
        db.session.commit()
        handover.confirm_receipt(done, actor=archive, note="旧季度纸质件", now=OLD_HANDED_OVER + timedelta(days=1))
        db.session.commit()
        quarter = shift_quarter(current_quarter(), -1)
        first, _last = quarter_bounds(quarter)
        recent = _forms(version, project, contact, quarter, datetime.combine(first, datetime.min.time())
                        + timedelta(days=20, hours=10), 2, quality)
        publication.publish(quarter, actor=quality)
        db.session.commit()
    return quarter, recent, old


def test_the_archive_hands_over_holds_and_disposes_in_the_browser(app, signed_in):
    quarter, recent, (held, first, second, kept) = _world(app)
    os.makedirs(SHOTS, exist_ok=True)

    # the PMO hands the published quarter over
    pmo = signed_in("pmo_a")
    pmo.locator("nav.mainnav").get_by_role("link", name=text("Archive"), exact=True).click()
    pmo.wait_for_url("**/archive/")
    expect(pmo.locator("h1")).to_have_text(text("Archive"))
    row = pmo.locator(f'#archive-quarters tr[data-quarter="{quarter}"]')
    expect(row.locator(f"#hand-over-{quarter}")).to_have_text(text("Hand %(n)d forms over to the archive", n=2))
    expect(pmo.locator(f'#archive-quarters tr[data-quarter="{OLD}"] [data-received="yes"]')).to_be_visible()
    pmo.screenshot(path=f"{SHOTS}/archive-index-pmo.png", full_page=True)
    row.locator(f"#hand-over-{quarter}").click()
    pmo.wait_for_load_state()
    handed = pmo.locator(f'#archive-quarters tr[data-quarter="{quarter}"] [data-handover]')
    expect(handed).to_have_attribute("data-received", "no", timeout=WAIT)
    expect(handed).to_contain_text(text("awaiting receipt"))
    expect(pmo.locator(f"#hand-over-{quarter}")).to_have_count(0)
    pmo.screenshot(path=f"{SHOTS}/archive-handed-over.png", full_page=True)
    db.session.rollback()
    item = db.session.scalar(db.select(ArchiveHandover).where(ArchiveHandover.quarter == quarter))
    assert item.responses == 2 and item.job.state == "done", item.job.error
    item_id = item.id
    db.session.rollback()  # no read left open: the disposal's checkpoint waits for every reader

    # the archive confirms receipt
    page = signed_in("archive_a")
    page.goto("/archive/")
    handed = page.locator(f'[data-handover="{item_id}"]')
    handed.locator("input[name=note]").fill(RECEIPT_NOTE)
    handed.get_by_role("button", name=text("Confirm receipt")).click()
    expect(page.locator(f'[data-handover="{item_id}"]')).to_have_attribute("data-received", "yes", timeout=WAIT)
    expect(page.locator(f'[data-handover="{item_id}"]')).to_contain_text("行政部 赵敏")
    expect(page.locator("#eligible-now")).to_have_text("4")
    page.screenshot(path=f"{SHOTS}/archive-received.png", full_page=True)

    # ... opens the quarter and downloads a stored PDF
    page.get_by_role("link", name=quarter, exact=True).click()
    page.wait_for_url(f"**/archive/{quarter}")
    record = page.locator(f"#record-{recent[0]}")
    expect(record).to_have_attribute("data-flags", "archived retained")
    page.screenshot(path=f"{SHOTS}/archive-quarter.png", full_page=True)
    with page.expect_download() as download:
        record.locator("a.pdf-link").click()
    pdf = Path(download.value.path()).read_bytes()
    db.session.rollback()
    stored = db.session.get(Response, recent[0])
    assert download.value.suggested_filename == f"archive-{recent[0]}-{quarter}.pdf"
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == stored.archive_pdf_sha256
    assert embedded_cjk_fonts(pdf)
    db.session.rollback()

    # ... opens the old quarter, puts one form on legal hold (the row is swapped in place)
    page.goto("/archive/")
    page.get_by_role("link", name=OLD, exact=True).click()
    page.wait_for_url(f"**/archive/{OLD}")
    for form_id in (held, first, second, kept):
        expect(page.locator(f"#record-{form_id}")).to_have_attribute("data-flags", "archived eligible")
    row = page.locator(f"#record-{held}")
    row.locator("input[name=reason]").fill(HOLD_REASON)
    row.get_by_role("button", name=text("Put on hold")).click()
    expect(page.locator(f"#record-{held}")).to_have_attribute("data-flags", "archived hold", timeout=WAIT)
    expect(page.locator(f"#record-{held} input[name=ids]")).to_have_count(0)  # no longer to be chosen
    expect(page.locator(f"#record-{held}").get_by_role("button", name=text("Lift the hold"))).to_be_visible()
    page.screenshot(path=f"{SHOTS}/archive-old-quarter-hold.png", full_page=True)

    # ... chooses two eligible forms, confirms the count, the dates and the reason
    for form_id in (first, second):
        page.locator(f"#record-{form_id} input[name=ids]").check()
    page.locator("#dispose-chosen").click()
    page.wait_for_url("**/archive/dispose/confirm")
    expect(page.locator("#disposal-batch")).to_have_attribute("data-count", "2")
    expect(page.locator("#disposal-batch")).to_contain_text(text("%(n)d forms will be disposed of.", n=2))
    expect(page.locator("#batch-oldest")).to_have_text("2022-07-15")
    expect(page.locator("#batch-newest")).to_have_text("2022-07-18")
    expect(page.locator("#disposal-batch")).to_contain_text("2025-10-20")
    page.screenshot(path=f"{SHOTS}/archive-confirm.png", full_page=True)
    page.locator("#reason").fill(DISPOSAL_REASON)
    page.get_by_role("button", name=text("Dispose of %(n)d forms", n=2)).click()
    page.wait_for_url("**/archive/disposals/*")
    expect(page.locator("#disposal-summary")).to_contain_text(DISPOSAL_REASON)
    expect(page.locator("#tombstones [data-tombstone]")).to_have_count(2)
    for form_id in (first, second):
        expect(page.locator(f'#tombstones [data-tombstone="{form_id}"]')).to_contain_text("P-ARCH")
    page.screenshot(path=f"{SHOTS}/archive-disposal.png", full_page=True)
    page.goto(f"/archive/{OLD}")
    expect(page.locator(f"#record-{first}")).to_have_attribute("data-flags", "archived disposed")
    expect(page.locator(f"#record-{kept}")).to_have_attribute("data-flags", "archived eligible")
    page.screenshot(path=f"{SHOTS}/archive-old-quarter-after.png", full_page=True)

    # the database: the two forms emptied with their tombstones; the held one untouched
    db.session.rollback()
    answers = {rid: db.session.scalar(db.select(db.func.count(Answer.id)).where(Answer.response_id == rid))
               for rid in (held, first, second, kept)}
    assert answers[first] == answers[second] == 0 and answers[held] == answers[kept] > 0
    tombstones = db.session.scalars(db.select(Tombstone).order_by(Tombstone.response_id)).all()
    assert [t.response_id for t in tombstones] == [first, second]
    assert all(t.disposal.reason == DISPOSAL_REASON and t.pdf_sha256 for t in tombstones)
    for rid in (first, second):
        form = db.session.get(Response, rid)
        assert form.disposed_at is not None and form.contact_id is None and form.archive_pdf is None
    kept_form = db.session.get(Response, held)
    assert kept_form.legal_hold and kept_form.disposed_at is None and kept_form.contact_id is not None
    assert kept_form.archive_pdf and kept_form.retain_until < utcnow()
