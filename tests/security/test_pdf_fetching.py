"""PDFs never fetch file://, http:// or a redirect.

Every PDF the URL map serves is rendered from a world whose names, descriptions, answers and
question texts carry markup pointing at a local HTTP server (which records every request), at
a URL of it that redirects, and at file:///etc/passwd: the server receives nothing, the text
comes out literally (escaped, not interpreted) and no file is embedded. The fetcher itself is
then called directly with those URLs and with tricks that look like the PDF origin.

Also proved in tests/services/test_pdf.py: a template that itself contains such markup
(``test_pdf_fetches_nothing_from_the_network_or_outside_static``) and paths escaping the static
folder by ``..``, %2e%2e or a symlink.
"""
import http.server
import threading

import pytest

from portal.extensions import limiter
from portal.services.pdf.render import PDF_ORIGIN, ResourceRefused, SafeFetcher

from .. import factories, pdftools
from .hostile import build_hostile_world, fetching_payload

from . import APP_LAYER_ONLY

pytestmark = APP_LAYER_ONLY


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.seen.append(self.path)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Recorder.seen
    server.shutdown()
    server.server_close()
    thread.join()


#: routes whose PDF is one of several formats chosen by a URL parameter
PDF_BY_PARAMETER = {"rollup.score_sheet_file"}


def _pdf_routes(app, world):
    """(endpoint, method, url) of every route answering with a PDF."""
    from ..blueprints.test_authorization_matrix import _resolve
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "pdf" in rule.rule or "pdf" in rule.endpoint or rule.endpoint in PDF_BY_PARAMETER:
                url = _resolve(rule, world)  # the matrix's fmt is "pdf"
                yield rule.endpoint, sorted(rule.methods & {"GET", "POST"})[0], url


def _fetch_pdf(app, client, owner, endpoint, method, url):
    if endpoint in ("rollup.score_sheet_file",):
        url += "?period=2026Q4&with_pending=1"
    if method == "GET":
        return client.get(url)
    if endpoint == "rollup.report_pdf":
        started = client.post_form(url, {"period": "2026Q4", "with_pending": "1"}, token_from="/")
        job_url = started.headers.get("HX-Redirect") or started.headers["Location"]
        return client.get(job_url.rstrip("/") + "/file")
    response = client.post_form(url, token_from="/")
    if response.status_code == 403:  # printing a contact's form: the PM running the round only
        response = owner.post_form(url, token_from="/")
    return response


def test_no_pdf_fetches_what_user_text_points_at(app, db, http_server):
    port, seen = http_server
    payload = fetching_payload(port)
    limiter.enabled = False
    try:
        world, _everything = build_hostile_world(payload, short=f'<img src="http://127.0.0.1:{port}/n">')
        client, owner = app.test_client(), app.test_client()
        client.post_form("/login", {"username": "everything", "password": factories.PASSWORD})
        owner.post_form("/login", {"username": "pm_b", "password": factories.PASSWORD})
        rendered = {}
        for endpoint, method, url in _pdf_routes(app, world):
            if endpoint == "archive.record_pdf":
                continue  # the stored archive copy: made at hand-over from these same templates
            response = _fetch_pdf(app, client, owner, endpoint, method, url)
            assert response.status_code == 200 and response.data.startswith(b"%PDF-"), (endpoint, response.status_code)
            rendered[endpoint] = response.data
            response.close()  # a job's file is served from disk
    finally:
        limiter.enabled = True
    assert seen == [], f"the PDF renderer fetched {seen}"
    assert {"responses.pdf", "inquiries.pdf", "pdfs.blank_form", "pdfs.invitation_form", "callbacks.summary_pdf",
            "key_accounts.report_pdf", "rollup.score_sheet_file", "rollup.report_pdf"} <= set(rendered)
    for endpoint, data in rendered.items():
        assert b"root:x:0:0" not in data and pdftools.embedded_files(data) == [], endpoint
    shown = pdftools.text(rendered["responses.pdf"]) + pdftools.text(rendered["pdfs.blank_form"])
    assert f"127.0.0.1:{port}/img" in shown.replace("\n", "")  # printed as text, not loaded


@pytest.fixture
def fetcher(app):
    return SafeFetcher(app.static_folder, "/static", log_refusals=False)


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "file://localhost/etc/passwd",
    "http://127.0.0.1:{port}/img",
    "https://127.0.0.1:{port}/img",
    "http://127.0.0.1:{port}/redirect",
    "http://127.0.0.1:{port}/static/css/app.css",          # a static path, but on another host
    "http://portal-pdf.invalid@127.0.0.1:{port}/static/css/app.css",  # the origin as user name
    "http://127.0.0.1:{port}#@portal-pdf.invalid/static/css/app.css",
    "http://portal-pdf.invalid:{port}/static/css/app.css",  # the origin's name on another port
    "//127.0.0.1:{port}/img",
    "ftp://127.0.0.1:{port}/img",
    "data:text/css,body{color:red}",
    PDF_ORIGIN + "/static/%2e%2e/%2e%2e/etc/passwd",
    PDF_ORIGIN + "/static/css/app.css%00.png",
])
def test_the_fetcher_refuses_everything_but_its_static_files(fetcher, http_server, url):
    port, seen = http_server
    with pytest.raises(ResourceRefused):
        fetcher.fetch(url.replace("{port}", str(port)))
    assert seen == []
    assert fetcher.refused == [url.replace("{port}", str(port))]


def test_the_fetcher_serves_a_static_file_without_any_request(fetcher, http_server):
    port, seen = http_server
    response = fetcher.fetch(PDF_ORIGIN + "/static/css/app.css")
    assert response.url == PDF_ORIGIN + "/static/css/app.css"
    assert seen == [] and fetcher.refused == []
