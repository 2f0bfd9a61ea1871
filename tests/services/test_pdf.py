"""PDF rendering: real CJK glyphs from an embedded font, the archive copy's content,
and a fetcher that never reaches the network or files outside the static folder."""
import http.server
import logging
import os
import re
import threading
from datetime import datetime

import pytest
from flask_babel import force_locale
from jinja2 import ChoiceLoader, DictLoader

from portal.labels import CHANNEL_LABELS
from portal.models import Attachment
from portal.services.answers import parse_answers
from portal.services.pdf.render import (PDF_ORIGIN, ResourceRefused, SafeFetcher, css_string,
                                        page_counter_css, render_pdf, safe_fetcher)
from portal.services.pdf.blank_form import blank_form_context, render_blank_form
from portal.services.pdf.filled_response import filled_response_context, render_filled_response
from portal.services.pdf.qr import qr_matrix, qr_svg
from portal.services.responses import submit_response

from .. import pdftools

MIXED_QUESTIONS = [
    dict(code="attitude", text="服务态度", type="scale", scale="sat5_a", dimension="attitude"),
    dict(code="timeliness", text="响应及时性", type="scale", scale="sat5_a", allow_na=True),
    dict(code="technical", text="技术能力", type="scale", scale="points10"),
    dict(code="score", text="总体打分", type="scale", scale="score100"),
    dict(code="renew", text="是否愿意续约", type="yes_no", scale="yes_no"),
    dict(code="channel", text="您最常用的报修方式", type="choice", choices=["电话", "邮件", "微信群"]),
    dict(code="opinion", text="意见和建议", type="text", required=False),
]


@pytest.fixture
def request_ctx(app):
    with app.test_request_context("/"):
        yield


def make_response(make, db, channel="paper", data=None, questions=None, **kw):
    version = make.template_version(questions=questions or MIXED_QUESTIONS)
    pm = make.user(roles=("pm",), display_name="王建国")
    project = make.project(pm=pm, code="P-2026-017", name="数据中心运维服务项目")
    contact = make.contact(project.client, name="陈晓明", function="noc_operator")
    data = data or {"q_attitude": "5", "q_timeliness": "3", "q_technical": "8", "q_score": "90",
                    "q_renew": "1", "q_channel": "微信群", "q_opinion": "夜间响应偏慢，希望改进。"}
    parsed = parse_answers(version, data, complete=True)
    assert parsed.ok, parsed.errors
    response = submit_response(version, parsed, channel=channel, project=project, contact=contact,
                               entered_by=pm, **kw)
    db.session.commit()
    return response


def assert_readable_cjk_pdf(data):
    """A real PDF whose page 1 shows text drawn with an embedded Noto CJK font."""
    assert data.startswith(b"%PDF-")
    assert pdftools.embedded_cjk_fonts(data), pdftools.fonts(data)
    page = pdftools.page_image(data, page=1, dpi=60)
    # the printable area (inside the margins) carries a real amount of ink, not a blank page
    assert pdftools.dark_share(page, box=(0.08, 0.08, 0.92, 0.92)) > 0.005  # a blank page is 0
    assert "满意" in pdftools.text(data)


# --- the two documents ---------------------------------------------------------------------

def test_blank_form_renders_chinese_with_an_embedded_cjk_font(make, request_ctx):
    version = make.template_version()
    pdf = render_blank_form(version)
    assert_readable_cjk_pdf(pdf.data)
    text = pdftools.text(pdf.data)
    assert "服务态度" in text and "较满意" in text and "很不满意" in text


def test_blank_form_lists_every_question_with_empty_boxes(make, request_ctx):
    version = make.template_version(questions=MIXED_QUESTIONS)
    with force_locale("zh"):
        form = blank_form_context(version)
    by_text = {q.text: q for q in form.questions}
    assert [q.number for q in form.questions] == list(range(1, len(MIXED_QUESTIONS) + 1))
    assert [b.label for b in by_text["服务态度"].boxes] == ["满意", "较满意", "一般", "不太满意", "很不满意"]
    assert by_text["响应及时性"].na is not None and by_text["服务态度"].na is None
    assert [b.label for b in by_text["技术能力"].boxes] == [str(v) for v in range(10, 0, -1)]
    assert by_text["总体打分"].layout == "number" and by_text["总体打分"].range_hint == "0–100"
    assert [b.label for b in by_text["是否愿意续约"].boxes] == ["是", "否"]
    assert [b.label for b in by_text["您最常用的报修方式"].boxes] == ["电话", "邮件", "微信群"]
    assert by_text["意见和建议"].layout == "lines"
    assert not any(b.checked for q in form.questions for b in q.boxes)
    assert form.qr_svg is None and form.doc.details == ()


def test_issued_form_names_the_contact_and_carries_the_link(make, request_ctx):
    invitation, _token = make.invitation()
    link = "http://localhost/s/" + "A" * 43
    with force_locale("zh"):
        form = blank_form_context(invitation.round.template_version, invitation, link)
    values = dict(form.doc.details)
    assert invitation.contact.name in " ".join(values.values())
    assert invitation.round.project.client.name in values.values()
    assert invitation.round.quarter in values.values()
    assert form.link == link and "<svg" in form.qr_svg
    pdf = render_blank_form(invitation.round.template_version, invitation, link)
    assert_readable_cjk_pdf(pdf.data)
    assert link in re.sub(r"\s+", "", pdftools.text(pdf.data))


def _modules_read_back(image, region, size, border):
    """The QR modules printed inside ``region`` (fractions of the page), sampled at their centres."""
    w, h = image.size
    crop = image.crop((int(region[0] * w), int(region[1] * h), int(region[2] * w), int(region[3] * h)))
    cw, ch = crop.size
    px = crop.load()
    dark_rows = [y for y in range(ch) if any(px[x, y] < 128 for x in range(cw))]
    top = dark_rows[0]
    bottom = top
    while bottom + 1 in dark_rows:
        bottom += 1  # the QR is the first block of rows with ink; its quiet zone separates it
    cols = [x for x in range(cw) if any(px[x, y] < 128 for y in range(top, bottom + 1))]
    left, right = cols[0], cols[-1]
    n = size - 2 * border
    step_x, step_y = (right - left + 1) / n, (bottom - top + 1) / n
    return [[px[int(left + (i + 0.5) * step_x), int(top + (j + 0.5) * step_y)] < 128 for i in range(n)]
            for j in range(n)]


def test_printed_qr_code_holds_exactly_the_link(make, request_ctx):
    invitation, _token = make.invitation()
    link = "http://localhost/s/" + "Zq9_-" * 8 + "abc"
    pdf = render_blank_form(invitation.round.template_version, invitation, link)
    page = pdftools.page_image(pdf.data, dpi=300)
    expected = qr_matrix(link)
    border = 4
    inner = [row[border:-border] for row in expected[border:-border]]
    # the QR sits top right, right of the details table and below the running header
    assert _modules_read_back(page, (0.71, 0.09, 0.93, 0.30), len(expected), border) == inner


def test_qr_svg_draws_every_dark_module():
    link = "https://portal.example.cn/s/" + "x" * 43
    matrix = qr_matrix(link)
    drawn = [[False] * len(matrix) for _ in matrix]
    for x, y, run in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", str(qr_svg(link))):
        for i in range(int(run)):
            drawn[int(y)][int(x) + i] = True
    assert drawn == [[bool(v) for v in row] for row in matrix]


def test_archive_copy_marks_the_chosen_options_and_scores(make, db, request_ctx):
    response = make_response(make, db, submitted_at=datetime(2026, 5, 2, 6, 30))
    with force_locale("zh"):
        filled = filled_response_context(response)
    by_text = {q.text: q for q in filled.questions}
    checked = {text: [b.label for b in q.boxes if b.checked] for text, q in by_text.items()}
    assert checked["服务态度"] == ["满意"] and by_text["服务态度"].score == "5.00"
    assert checked["响应及时性"] == ["一般"] and by_text["响应及时性"].score == "3.00"
    assert checked["技术能力"] == ["8"] and by_text["技术能力"].score == "4.11"
    assert by_text["总体打分"].value == "90" and by_text["总体打分"].score == "4.60"
    assert checked["是否愿意续约"] == ["是"] and by_text["是否愿意续约"].score == "5.00"
    assert checked["您最常用的报修方式"] == ["微信群"] and by_text["您最常用的报修方式"].score == ""
    assert by_text["意见和建议"].value == "夜间响应偏慢，希望改进。"
    assert filled.comment == ""  # already shown as the free-text answer, not repeated
    assert filled.score == f"{response.score:.2f}"
    details = dict(filled.doc.details)
    assert "2026-05-02 14:30 +08:00" in details.values()  # 06:30 UTC, shown in Asia/Shanghai
    assert "王建国" in details.values()
    assert "P-2026-017 数据中心运维服务项目" in details.values()
    assert filled.verification_code == "pending" and not filled.on_behalf


def test_archive_copy_shows_not_applicable_and_unanswered(make, db, request_ctx):
    response = make_response(make, db, data={"q_attitude": "4", "q_timeliness": "na", "q_technical": "10",
                                             "q_score": "0", "q_renew": "0", "q_channel": "电话"})
    with force_locale("zh"):
        filled = filled_response_context(response)
    by_text = {q.text: q for q in filled.questions}
    na = by_text["响应及时性"]
    assert na.na.checked and not any(b.checked for b in na.boxes) and na.score == ""
    assert not by_text["意见和建议"].answered
    assert by_text["总体打分"].score == "1.00"


def test_archive_copy_pdf_shows_on_behalf_verification_and_scans(make, db, request_ctx):
    response = make_response(make, db, channel="on_behalf")
    quality = make.user(roles=("quality",), display_name="李质检")
    response.verification_status = "authentic"
    response.verified_by_id = quality.id
    response.verified_at = datetime(2026, 5, 10, 2, 0)
    db.session.add(Attachment(response=response, original_name="扫描件第1页.pdf", stored_name="scan-1",
                              content_type="application/pdf", size=734003, sha256="ab" * 32))
    db.session.commit()
    with force_locale("zh"):
        filled = filled_response_context(response)
        on_behalf_label = str(CHANNEL_LABELS["on_behalf"])
    assert filled.on_behalf and filled.verification_code == "authentic"
    assert "李质检" in dict(filled.verification).values()
    assert [s.name for s in filled.scans] == ["扫描件第1页.pdf"] and filled.scans[0].size == "717 KB"
    pdf = render_filled_response(response)
    assert pdf.filename == f"response-{response.id}-P-2026-017-{response.quarter}.pdf"
    assert_readable_cjk_pdf(pdf.data)
    text = pdftools.text(pdf.data)
    for expected in (on_behalf_label, "李质检", "扫描件第1页.pdf", "王建国", "陈晓明", filled.score):
        assert expected in text


def test_archive_copy_is_chinese_whatever_the_reader_uses(make, db, app, monkeypatch):
    from portal.services.pdf import render as pdf
    response = make_response(make, db)
    pages = []
    original = pdf.render_template
    def spy(*args, **kwargs):
        pages.append(original(*args, **kwargs))
        return pages[-1]

    monkeypatch.setattr(pdf, "render_template", spy)
    with app.test_request_context("/"), force_locale("en"):
        render_filled_response(response)
        with force_locale("zh"):
            chinese = str(CHANNEL_LABELS["paper"])
    assert '<html lang="zh">' in pages[0]
    assert chinese in pages[0]


# --- the fetcher ---------------------------------------------------------------------------

@pytest.fixture
def static_dir(tmp_path):
    static = tmp_path / "static"
    (static / "img").mkdir(parents=True)
    (static / "img" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (tmp_path / "secret.txt").write_text("top secret")
    os.symlink(tmp_path / "secret.txt", static / "img" / "escape.txt")
    return static


def test_fetcher_serves_files_inside_the_static_folder(static_dir):
    fetcher = SafeFetcher(static_dir)
    response = fetcher.fetch(f"{PDF_ORIGIN}/static/img/logo.svg")
    assert response.read().startswith(b"<svg") and response.content_type == "image/svg+xml"
    assert fetcher.refused == []


@pytest.mark.parametrize("url", [
    f"{PDF_ORIGIN}/static/../secret.txt",
    f"{PDF_ORIGIN}/static/img/%2e%2e/%2e%2e/secret.txt",
    f"{PDF_ORIGIN}/static/img/escape.txt",          # symlink pointing outside
    f"{PDF_ORIGIN}/static//etc/passwd",
    f"{PDF_ORIGIN}/static/img/",                     # a folder, not a file
    f"{PDF_ORIGIN}/static/img/missing.png",
    f"{PDF_ORIGIN}/etc/passwd",                      # on the pretend origin but not under /static/
    "http://127.0.0.1/static/img/logo.svg",          # another host
    "https://portal-pdf.invalid/static/img/logo.svg",  # another scheme
    "file:///etc/passwd",
    "ftp://example.com/x",
    "data:text/plain,hello",
])
def test_fetcher_refuses_everything_else(static_dir, url, caplog):
    fetcher = SafeFetcher(static_dir)
    with caplog.at_level(logging.WARNING, logger="portal.services.pdf.render"):
        with pytest.raises(ResourceRefused):
            fetcher.fetch(url)
    assert fetcher.refused == [url]
    assert "PDF resource refused" in caplog.text


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    _RecordingHandler.seen = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _RecordingHandler.seen
    server.shutdown()
    server.server_close()
    thread.join()


HOSTILE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="http://127.0.0.1:{port}/style.css">
<link rel="stylesheet" href="/static/css/app.css">
<style>
@import url("http://127.0.0.1:{port}/import.css");
@font-face {{ font-family: Evil; src: url("http://127.0.0.1:{port}/font.ttf"); }}
body {{ font-family: Evil, "Noto Sans CJK SC"; background: url("file:///etc/passwd"); }}
</style></head><body>
<h1>满意度</h1>
<img src="file:///etc/passwd"><img src="http://127.0.0.1:{port}/x">
<img src="../../../../../../etc/passwd"><img src="ftp://127.0.0.1:{port}/y">
<a rel="attachment" href="file:///etc/passwd">passwd</a>
<a rel="attachment" href="http://127.0.0.1:{port}/attach">remote</a>
</body></html>"""


def test_pdf_fetches_nothing_from_the_network_or_outside_static(app, http_server, caplog, request_ctx):
    port, seen = http_server
    original = app.jinja_loader
    app.jinja_env.loader = ChoiceLoader([DictLoader({"pdf/_hostile.html": HOSTILE.format(port=port)}),
                                         original])
    fetcher = safe_fetcher(app)
    try:
        with caplog.at_level(logging.WARNING, logger="portal.services.pdf.render"):
            data = render_pdf("pdf/_hostile.html", fetcher=fetcher)
    finally:
        app.jinja_env.loader = original
        app.jinja_env.cache.clear()
    assert data.startswith(b"%PDF-")  # the document still renders, without the refused resources
    assert seen == []  # the HTTP server never got a single request
    refused = " ".join(fetcher.refused)
    assert "file:///etc/passwd" in refused and f"127.0.0.1:{port}/x" in refused
    assert f"127.0.0.1:{port}/style.css" in refused and f"127.0.0.1:{port}/font.ttf" in refused
    assert "/etc/passwd" in refused.replace("file:///etc/passwd", "")  # the ../ escape too
    assert not any(url.endswith("/static/css/app.css") for url in fetcher.refused)
    assert pdftools.embedded_files(data) == []
    assert b"root:" not in data
    assert "PDF resource refused" in caplog.text


# --- small pieces --------------------------------------------------------------------------

def test_page_counter_becomes_css_counters():
    assert page_counter_css("第 %(page)s 页 / 共 %(pages)s 页") == \
        '"第 " counter(page) " 页 / 共 " counter(pages) " 页"'
    assert page_counter_css("Page %(page)s of %(pages)s") == '"Page " counter(page) " of " counter(pages)'


def test_css_string_cannot_break_out_of_the_style_element():
    value = str(css_string('a"b</style><script>x'))
    assert value.startswith('"') and value.endswith('"')
    assert "</style" not in value and '"' not in value[1:-1] and "<" not in value
