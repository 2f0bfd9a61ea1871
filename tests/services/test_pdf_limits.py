"""PDF layout under hostile input: the longest allowed answers render quickly, and every
render runs in a render process with a hard time limit (DESIGN §7; issue: a 4,000-character
comment once took 80 s and held a worker)."""
import pytest

from portal.services.answers import TEXT_LIMIT, parse_answers
from portal.services.pdf import render
from portal.services.pdf.filled_response import render_filled_response
from portal.services.responses import submit_response

from .. import pdftools

#: unbroken CJK runs and one very long line without spaces: the layouts that used to go quadratic
LONG_TEXTS = {
    "opinion": ("夜间故障响应偏慢希望改进值守安排" * 300)[:TEXT_LIMIT],
    "praise": ("工程师" + "很" * 5000)[:TEXT_LIMIT],
    "english": ("x" * TEXT_LIMIT),
    "lines": ("第一行意见\n" * 1000)[:TEXT_LIMIT],
}


def _long_response(make, db):
    questions = [dict(code="attitude", text="服务态度", type="scale", scale="sat5_a", dimension="attitude")]
    questions += [dict(code=code, text=f"意见和建议（{code}）", type="text", required=False) for code in LONG_TEXTS]
    version = make.template_version(questions=questions)
    data = {"q_attitude": "4", **{f"q_{code}": text for code, text in LONG_TEXTS.items()}}
    parsed = parse_answers(version, data, complete=True)
    assert parsed.ok, parsed.errors
    assert all(len(parsed.values[code].text_value) == TEXT_LIMIT for code in LONG_TEXTS)
    response = submit_response(version, parsed, channel="paper", project=make.project())
    db.session.commit()
    return response


def test_the_longest_allowed_answers_render_within_the_time_limit(app, make, db):
    """Four text answers of the maximum length, within a 20 s hard limit (before the fix one
    such answer alone took 80 s; an ordinary response takes about 1 s: see bench/pdf_render.py)."""
    response = _long_response(make, db)
    saved = app.config["PDF_TIME_LIMIT"]
    app.config["PDF_TIME_LIMIT"] = 20
    try:
        with app.test_request_context("/"):
            pdf = render_filled_response(response)  # PdfTimeout if it took longer
    finally:
        app.config["PDF_TIME_LIMIT"] = saved
    text = pdftools.text(pdf.data).replace("\n", "")
    assert "夜间故障响应偏慢" in text and "第一行意见" in text
    assert pdftools.page_count(pdf.data) >= 3


def test_a_render_past_its_limit_is_killed_and_the_next_one_works(app, make, db):
    response = _long_response(make, db)
    saved = app.config["PDF_TIME_LIMIT"]
    app.config["PDF_TIME_LIMIT"] = 0.05
    try:
        with app.test_request_context("/"), pytest.raises(render.PdfTimeout):
            render_filled_response(response)
    finally:
        app.config["PDF_TIME_LIMIT"] = saved
    with app.test_request_context("/"):
        assert render_filled_response(response).data.startswith(b"%PDF-")


def test_layouts_run_in_reused_render_processes(app):
    import os
    html = "<html><body><p>中文</p></body></html>"
    first = render.layout_with_time_limit(html, app.static_folder, "/static", 30)
    second = render.layout_with_time_limit(html, app.static_folder, "/static", 30)
    assert first.data.startswith(b"%PDF-") and first.pid != os.getpid()
    assert second.pid in {first.pid} | {p.pid for p in render._pool._processes.values()}


def test_a_timed_out_pdf_page_answers_503_with_a_message(app, client, auth, make, db):
    response = _long_response(make, db)
    pm = response.project.pm
    auth.login(pm.username)
    saved = app.config["PDF_TIME_LIMIT"]
    app.config["PDF_TIME_LIMIT"] = 0.05
    try:
        page = client.get(f"/pdf/responses/{response.id}.pdf")
    finally:
        app.config["PDF_TIME_LIMIT"] = saved
    assert page.status_code == 503
    assert "took too long" in page.get_data(as_text=True)
