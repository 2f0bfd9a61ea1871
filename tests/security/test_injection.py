"""Script, template, SQL and formula injection through the real forms come back inert.

Hostile strings are typed, through the portal's own forms, as client names, project names,
contact names, a client's survey comment and a public complaint's description. Every page and
htmx fragment showing them escapes them (no raw tag, no evaluated template), the PDFs print them
literally, every XLSX export (the URL map's .xlsx routes, whatever their figures) holds no
formula and no text that a spreadsheet would read as one, and SQL-like search text neither
errors nor matches everything.

Also proved elsewhere: the rollup workbook and report (tests/services/test_rollup_outputs.py
``test_nothing_a_client_typed_becomes_a_formula``), the complaint report
(tests/blueprints/test_complaint_report_page.py), the callback summary
(tests/services/test_callback_summary.py) and the import error list CSV
(tests/services/test_case_import.py ``test_errors_csv_has_a_bom_and_neutralises_formulas``).
"""
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from portal.extensions import db as _db
from portal.extensions import limiter
from portal.models import Client, Contact, Project
from portal.services.spreadsheets import FORMULA_STARTS

from .. import factories, pdftools

SCRIPT = "<script>alert(1)</script>"
TEMPLATE = "{{7*7}}"
CONFIG = "{{config}}{% if 1 %}X{% endif %}"
SQL = "' OR 1=1 --"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "@SUM(A1)", "-2+3"]
PAYLOADS = [SCRIPT, TEMPLATE, CONFIG, SQL, ATTRIBUTE, *FORMULAS]
RAW_MARKUP = (SCRIPT, "<img src=x", "onerror=alert(1)>")


@pytest.fixture
def world(app, db):
    """Everything typed through the forms by an admin (clients, projects, contacts), the client
    (the survey comment) and the public (a complaint)."""
    limiter.enabled = False
    factories.user("root", roles=("admin", "quality", "pmo"))
    pm = factories.user("pm_x", roles=("pm",), display_name="项目经理")
    admin = app.test_client()
    admin.post_form("/login", {"username": "root", "password": factories.PASSWORD})
    for i, payload in enumerate(PAYLOADS):
        assert admin.post_form("/clients/new", {"name": f"{payload}{i}"}, token_from="/clients/new").status_code == 303
        client = _db.session.scalar(select(Client).where(Client.name == f"{payload}{i}"))
        saved = admin.post_form("/projects/new", {"code": f"INJ-{i}", "name": f"{payload}", "client_id": client.id,
                                                 "pm_id": pm.id, "status": "active", "start_date": "2026-01-05"},
                                token_from="/projects/new")
        assert saved.status_code == 303, saved.get_data(as_text=True)[:800]
        saved = admin.post_form(f"/clients/{client.id}/contacts/new",
                                {"name": payload, "function": "site_admin", "language": "zh", "email": f"c{i}@x.cn"},
                                token_from=f"/clients/{client.id}/contacts/new")
        assert saved.status_code in (200, 303), saved.status_code
    projects = _db.session.scalars(select(Project).order_by(Project.id)).all()
    answered = []
    for project, payload in list(zip(projects, PAYLOADS))[:6]:
        contact = _db.session.scalar(select(Contact).where(Contact.client_id == project.client_id))
        invitation, token = factories.invitation(contact_=contact, project_=project)
        survey = app.test_client()
        assert survey.get(f"/s/{token}").status_code == 303
        answers = {"q_attitude": "4", "q_timeliness": "5", "q_technical": "8", "q_opinion": payload}
        assert survey.post_form("/survey/submit", answers, token_from="/survey").status_code == 303
        answered.append(invitation.id)
    public = app.test_client()
    page = public.get("/complaint").get_data(as_text=True)
    key = re.search(r'name="submission_key" type="hidden" value="([0-9a-f]{32})"', page).group(1)
    sent = public.post_form("/complaint", {"description": " ".join(PAYLOADS), "complainant_name": ATTRIBUTE,
                                           "complainant_phone": "13800000000", "submission_key": key},
                            token_from="/complaint")
    assert sent.status_code == 303, sent.get_data(as_text=True)[:500]
    yield admin, projects
    limiter.enabled = True


def _assert_inert(html, where):
    for raw in RAW_MARKUP:
        assert raw not in html, f"{where}: raw {raw!r}"
    assert "test-secret-key" not in html and "SQLALCHEMY" not in html, f"{where}: the config was rendered"


def test_pages_and_fragments_show_the_payloads_escaped(world):
    admin, projects = world
    from portal.models import Complaint, Response
    complaint = _db.session.scalar(select(Complaint))
    responses = _db.session.scalars(select(Response)).all()
    urls = ["/clients/", "/projects/", "/complaints/", f"/complaints/{complaint.id}",
            *(f"/projects/{p.id}" for p in projects), *(f"/clients/{p.client_id}" for p in projects),
            *(f"/responses/{r.id}" for r in responses), "/followups", "/verification/"]
    for url in urls:
        for headers in ({}, {"HX-Request": "true"}):
            response = admin.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code)
            _assert_inert(response.get_data(as_text=True), (url, headers))
    listing = admin.get("/projects/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing  # shown, as text
    assert TEMPLATE in listing and "{{config}}" in listing  # typed braces shown, not evaluated
    assert ">49<" not in listing and "X{% endif" not in listing.replace("{% if 1 %}X{% endif %}", "")
    detail = admin.get(f"/responses/{responses[0].id}").get_data(as_text=True)
    assert "&lt;script&gt;" in detail or "&lt;script&gt;" in admin.get(f"/responses/{responses[1].id}").get_data(
        as_text=True)
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in admin.get(f"/complaints/{complaint.id}").get_data(
        as_text=True).replace("&quot;", "&#34;")


SEARCHABLE = ["/projects/", "/clients/", "/cases/", "/complaints/", "/followups", "/users/", "/improvement/",
              "/inquiries", "/key-accounts/", "/rounds/", "/callbacks/"]


def test_sql_in_a_search_box_is_just_text(world):
    admin, projects = world
    for url in SEARCHABLE:
        for q in (SQL, "%", "_", "\\", "' UNION SELECT password_hash FROM users --", "1; DROP TABLE projects"):
            for headers in ({}, {"HX-Request": "true"}):
                response = admin.get(url, query_string={"q": q}, headers=headers)
                assert response.status_code == 200, (url, q)
                assert "$argon2" not in response.get_data(as_text=True)  # no row of another table came back
    found = admin.get("/projects/", query_string={"q": SQL}).get_data(as_text=True)
    assert "INJ-3" in found and "INJ-0" not in found  # the project named so, and only it
    assert "INJ-1" not in admin.get("/projects/", query_string={"q": "%"}).get_data(as_text=True)
    assert _db.session.scalar(select(Project).where(Project.code == "INJ-0")) is not None


def test_pdfs_print_the_payloads_literally(world):
    admin, _projects = world
    from portal.models import Response
    texts = []
    for response in _db.session.scalars(select(Response)).all():
        pdf = admin.get(f"/pdf/responses/{response.id}.pdf")
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        texts.append(pdftools.text(pdf.data))
    shown = "\n".join(texts)
    assert SCRIPT in shown and TEMPLATE in shown and "{{config}}" in shown and SQL in shown
    assert "test-secret-key" not in shown


def _xlsx_routes(app):
    with app.test_request_context():
        from flask import url_for
        for rule in app.url_map.iter_rules():
            if ".xlsx" in rule.rule or "<fmt>" in rule.rule:
                if rule.endpoint == "callbacks.summary_xlsx":
                    yield url_for(rule.endpoint, quarter="2026Q4")
                elif rule.endpoint == "rollup.score_sheet_file":
                    yield from (url_for(rule.endpoint, who=w, fmt="xlsx") for w in ("pm", "sales"))
                elif rule.arguments:
                    yield url_for(rule.endpoint, **{a: "xlsx" for a in rule.arguments})
                else:
                    yield url_for(rule.endpoint)


def test_no_xlsx_export_holds_a_formula(app, world):
    admin, _projects = world
    from portal.services.quarters import current_quarter
    period = {"period": current_quarter(), "with_pending": "1"}
    seen, cells_with_payload = [], []
    for url in _xlsx_routes(app):
        response = admin.get(url, query_string=period)
        assert response.status_code == 200, (url, response.status_code)
        book = openpyxl.load_workbook(io.BytesIO(response.data))
        seen.append(url)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (url, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        assert not cell.value.startswith(FORMULA_STARTS), (url, cell.coordinate, cell.value)
                        cells_with_payload.append(cell.value)
    assert {"/complaints/report.xlsx", "/rollup/report.xlsx", "/rollup/score-sheet/pm.xlsx",
            "/history/template.xlsx", "/callbacks/summary/2026Q4.xlsx"} <= set(seen), seen
    joined = "\n".join(cells_with_payload)
    for formula in FORMULAS:  # the project names and comments typed, quoted as text
        assert "'" + formula in joined, formula
    assert SCRIPT in joined and TEMPLATE in joined
