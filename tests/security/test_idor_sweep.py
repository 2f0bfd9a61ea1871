"""IDOR sweep: every object of PM B / sales B / department B, tried by PM A, sales A and a member
of another department.

tests/blueprints/test_authorization_matrix.py already proves, for every route of the URL map and
every method, that PM A and sales A get 403/404 wherever an id of B's objects is in the path.
This sweep adds what it does not look at: the body of every answer (a 200 on a list, a search,
a fragment, a download or a "new" form preset by a query string must not carry B's data), the
object's id in query strings (?project_id=, ?client_id=, ?complaint_id=, ...), htmx fragments,
and a third outsider: a member of another department (department B's queue is not theirs).
"""
import pytest

from portal.extensions import db as _db
from portal.extensions import limiter
from portal.models import Complaint, Department, DepartmentMember, ImprovementPlan, Project, SalesInquiry

from .. import factories
from ..blueprints.test_authorization_matrix import _build_world, _resolve

#: B's texts, each on one object of B's; none may reach an outsider
SECRETS = {"project": "PRJSECRETB", "complaint": "CMPSECRETB", "inquiry": "INQSECRETB", "plan": "PLANSECRETB"}
#: query-string names under which pages accept an object id
QUERY_KEYS = ("project_id", "project", "client_id", "complaint_id", "followup_id", "response_id", "round_id",
              "inquiry_id", "department_id", "department", "plan_id", "invitation_id", "contact_id", "key_account_id")
OUTSIDERS = ("r_pm", "r_sales", "dept_a_member")


@pytest.fixture
def world(app, db):
    limiter.enabled = False
    world = _build_world()
    ids = world.ids
    _db.session.get(Project, ids["project"]).name = "项目" + SECRETS["project"]
    _db.session.get(Complaint, ids["complaint"]).description = "投诉" + SECRETS["complaint"]
    _db.session.get(SalesInquiry, ids["inquiry"]).major_problem_description = "问题" + SECRETS["inquiry"]
    _db.session.get(ImprovementPlan, ids["plan"]).title = "计划" + SECRETS["plan"]
    member = factories.user("dept_a_member", roles=("pm",))
    _db.session.add(Department(name="甲部门", memberships=[DepartmentMember(user_id=member.id)]))
    _db.session.commit()
    yield world
    limiter.enabled = True


def _signed_in(app, username):
    client = app.test_client()
    client.post_form("/login", {"username": username, "password": factories.PASSWORD})
    return client


def _get_urls(app, world):
    """Every GET route, resolved with B's objects, plain and with B's ids in the query string."""
    query = "&".join(f"{key}={world.ids[key.removesuffix('_id')] if key.removesuffix('_id') in world.ids else ''}"
                     for key in QUERY_KEYS)
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" in rule.methods and rule.endpoint not in ("static", "auth.logout"):
                url = _resolve(rule, world)
                yield rule.endpoint, url
                yield rule.endpoint, f"{url}?{query}"


def _leaks(body):
    return [name for name, secret in SECRETS.items() if secret in body]


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_no_get_page_fragment_or_download_shows_b_objects_to_an_outsider(app, world, outsider):
    client = _signed_in(app, outsider)
    assert client.get("/").status_code == 200
    found = []
    for endpoint, url in _get_urls(app, world):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            assert response.status_code != 500, (outsider, url)
            body = response.get_data(as_text=True) if response.mimetype.startswith("text") else ""
            if response.mimetype == "application/pdf":
                from .. import pdftools
                body = pdftools.text(response.data)
            elif "spreadsheet" in response.mimetype:
                body = _xlsx_text(response.data)
            response.close()
            leaked = _leaks(body)
            if leaked:
                found.append((endpoint, url, bool(headers), response.status_code, leaked))
    assert not found, f"{outsider} saw B's data: {found}"


def _xlsx_text(data):
    import io
    import openpyxl
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return " ".join(str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row)


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_no_post_action_on_b_objects_succeeds_for_an_outsider(app, world, outsider):
    """POSTs naming B's objects (path or form field) are refused, and change nothing of B's."""
    client = _signed_in(app, outsider)
    token = client.csrf_token("/")
    fields = {key: str(world.ids[key.removesuffix("_id")]) for key in QUERY_KEYS if key.removesuffix("_id") in world.ids}
    scoped = ("project", "round", "invitation", "response", "attachment", "milestone", "message", "followup",
              "inquiry", "task", "complaint", "evidence", "plan", "key_account", "department")
    refused_everywhere = []
    with app.test_request_context():
        cases = [(r.endpoint, _resolve(r, world)) for r in app.url_map.iter_rules()
                 if "POST" in r.methods and any(p in a for a in r.arguments for p in scoped)]
    assert len(cases) > 40
    for endpoint, url in cases:
        for headers in ({}, {"HX-Request": "true", "X-CSRFToken": token}):
            response = client.post(url, data={"csrf_token": token, **fields}, headers=headers)
            if response.status_code not in (403, 404):
                refused_everywhere.append((endpoint, url, bool(headers), response.status_code))
            assert not _leaks(response.get_data(as_text=True)), (endpoint, url)
    assert not refused_everywhere, f"{outsider} was not refused: {refused_everywhere}"
    assert SECRETS["project"] in _db.session.get(Project, world.ids["project"]).name


def test_the_owners_do_see_those_texts(app, world):
    """Positive control: the sweep looks for texts that B's own people are shown."""
    ids = world.ids
    pm_b = _signed_in(app, "pm_b")
    assert SECRETS["project"] in pm_b.get("/projects/").get_data(as_text=True)
    assert SECRETS["complaint"] in pm_b.get(f"/complaints/{ids['complaint']}").get_data(as_text=True)
    assert SECRETS["plan"] in pm_b.get(f"/improvement/{ids['plan']}").get_data(as_text=True)
    sales_b = _signed_in(app, "sales_b")
    assert SECRETS["inquiry"] in sales_b.get(f"/inquiries/{ids['inquiry']}").get_data(as_text=True)
