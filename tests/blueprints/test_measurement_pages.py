"""Measurement plan pages: quality saves a version through the form (CSRF, htmx or plain), PMO,
executives and the administrator read every version, PMs and sales are refused, bad input comes
back beside its field with 422, and a version's page shows what it changed."""
import pytest

from portal.models import AuditEvent, MeasurementPlan
from portal.services.measurement_plans import save_plan
from portal.services.quarters import local_today

HX = {"HX-Request": "true"}
PLAN = {
    "purpose": "测量客户满意度",
    "scope": "全部在服务项目",
    "frequencies": {"pm_quarterly": "每季度", "sales_visit": "完工时", "callback": "每季度抽样",
                    "complaint_followup": "结案后"},
    "owners": {"pm_quarterly": "项目经理", "sales_visit": "销售", "callback": "质量部", "complaint_followup": "质量部"},
    "sampling_rates": {"P1": 0.8, "P2": 0.5, "P3": 0.2, "P4": 0.05},
}
FORM = {
    "purpose": "测量客户满意度", "scope": "全部在服务项目",
    "frequency_pm_quarterly": "每季度", "owner_pm_quarterly": "项目经理",
    "frequency_sales_visit": "完工时", "owner_sales_visit": "销售",
    "frequency_callback": "每季度抽样", "owner_callback": "质量部",
    "frequency_complaint_followup": "结案后", "owner_complaint_followup": "质量部",
    "rate_p1": "80", "rate_p2": "50", "rate_p3": "20", "rate_p4": "5", "note": "",
}


def _login(make, auth, username, roles):
    user = make.user(username, roles=roles, locale="en")
    auth.login(username)
    return user


def _plan(db, year=2026, actor=None, **changes):
    plan = save_plan(year, {**PLAN, **changes}, actor)
    db.session.commit()
    return plan


def test_quality_saves_the_first_version_through_the_form(client, auth, make, db):
    desk = _login(make, auth, "quality1", ("quality",))
    page = client.get("/measurement-plans/2026/edit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="plan-form"' in html and 'name="csrf_token"' in html
    assert 'name="rate_p3" ' in html and 'value="20"' in html  # the callback desk's rate, in percent
    response = client.post_form("/measurement-plans/2026/edit", {**FORM, "rate_p3": "12.5"},
                                token_from="/measurement-plans/2026/edit")
    assert response.status_code == 303 and response.headers["Location"].endswith("/measurement-plans/2026")
    plan = db.session.query(MeasurementPlan).one()
    assert (plan.year, plan.version, plan.created_by_id) == (2026, 1, desk.id)
    assert plan.sampling_rates == {"P1": 0.8, "P2": 0.5, "P3": 0.125, "P4": 0.05}
    assert plan.owners["callback"] == "质量部" and plan.frequencies["sales_visit"] == "完工时"
    assert db.session.query(AuditEvent).filter_by(object_type="MeasurementPlan", action="create").count() == 1
    year = client.get("/measurement-plans/2026").get_data(as_text=True)
    assert "Version 1 of the 2026 measurement plan was saved." in year and "12.5%" in year


def test_the_form_saves_the_next_version_with_htmx_and_an_unchanged_form_saves_none(client, auth, make, db):
    _login(make, auth, "quality1", ("quality",))
    _plan(db)
    page = client.get("/measurement-plans/2026/edit").get_data(as_text=True)
    assert "Filled in from version 1" in page and "每季度抽样" in page
    response = client.post_form("/measurement-plans/2026/edit", {**FORM, "rate_p3": "30", "note": "P3 提高"},
                                htmx=True, token_from="/measurement-plans/2026/edit")
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/measurement-plans/2026"
    assert [p.version for p in db.session.query(MeasurementPlan).order_by(MeasurementPlan.version)] == [1, 2]
    again = client.post_form("/measurement-plans/2026/edit", {**FORM, "rate_p3": "30"},
                             token_from="/measurement-plans/2026/edit")
    assert again.status_code == 303 and db.session.query(MeasurementPlan).count() == 2
    assert "Nothing was changed: version 2 stays in force." in client.get("/measurement-plans/2026").get_data(
        as_text=True)


def test_a_post_without_csrf_token_saves_nothing(client, auth, make, db):
    _login(make, auth, "quality1", ("quality",))
    response = client.post("/measurement-plans/2026/edit", data=FORM)
    assert response.status_code == 400 and db.session.query(MeasurementPlan).count() == 0


@pytest.mark.parametrize("changes, field, message", [
    ({"rate_p2": "150"}, "rate_p2", "A sampling rate is a percentage between 0 and 100."),
    ({"rate_p4": "abc"}, "rate_p4", "Enter a number from 0 to 100."),
    ({"owner_callback": "  "}, "owner_callback", "This field is required."),
    ({"purpose": ""}, "purpose", "This field is required."),
])
def test_bad_input_comes_back_beside_its_field(client, auth, make, db, changes, field, message):
    _login(make, auth, "quality1", ("quality",))
    response = client.post_form("/measurement-plans/2026/edit", {**FORM, **changes}, htmx=True,
                                token_from="/measurement-plans/2026/edit")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html and html.lstrip().startswith('<form id="plan-form"')
    box = html.split(f'id="field-{field}"')[1].split('<div class="field')[0]
    assert message in box and 'class="errors"' in box
    assert db.session.query(MeasurementPlan).count() == 0
    full = client.post_form("/measurement-plans/2026/edit", {**FORM, **changes},
                            token_from="/measurement-plans/2026/edit")
    assert full.status_code == 422 and "<html" in full.get_data(as_text=True) and message in full.get_data(as_text=True)


@pytest.mark.parametrize("role", ["pmo", "exec", "admin"])
def test_readers_see_every_version_but_cannot_edit(client, auth, make, db, role):
    desk = make.user("quality1", roles=("quality",), display_name="质量部 王芳")
    _plan(db, actor=desk)
    _plan(db, actor=desk, sampling_rates={**PLAN["sampling_rates"], "P3": 0.3}, note="P3 提高")
    _login(make, auth, f"r_{role}", (role,))
    listing = client.get("/measurement-plans/")
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200 and "2026" in html and "Version 2" in html and "/edit" not in html
    year = client.get("/measurement-plans/2026").get_data(as_text=True)
    current = year.split('id="plan-history"')[0]
    assert "30%" in current and "In force" in current and "质量部 王芳" in current
    assert "P3 提高" in year and "Compare with version 1" in year and "/measurement-plans/2026/edit" not in year
    old = client.get("/measurement-plans/2026/versions/1").get_data(as_text=True)
    assert "20%" in old and "Version 2 is in force now." in old
    assert client.get("/measurement-plans/2026/edit").status_code == 403
    token = client.csrf_token("/measurement-plans/")
    assert client.post("/measurement-plans/2026/edit", data={**FORM, "csrf_token": token}).status_code == 403
    assert db.session.query(MeasurementPlan).count() == 2


@pytest.mark.parametrize("role", ["pm", "sales", "archive"])
def test_pm_sales_and_archive_are_refused(client, auth, make, db, role):
    _plan(db)
    _login(make, auth, f"r_{role}", (role,))
    for url in ("/measurement-plans/", "/measurement-plans/2026", "/measurement-plans/2026/versions/1",
                "/measurement-plans/2026/versions/1/compare", "/measurement-plans/2026/edit"):
        assert client.get(url).status_code == 403, url
    assert db.session.query(AuditEvent).filter_by(action="access_denied").count() == 5


def test_the_compare_shows_the_fields_a_version_changed(client, auth, make, db):
    _plan(db)
    _plan(db, owners={**PLAN["owners"], "callback": "客服中心"},
          sampling_rates={**PLAN["sampling_rates"], "P3": 0.3}, note="P3 提高")
    _login(make, auth, "r_pmo", ("pmo",))
    page = client.get("/measurement-plans/2026/versions/2/compare")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and "Changes from version 1 to version 2" in html
    rows = {row.split('"')[0]: row for row in html.split('data-field="')[1:]}
    assert set(rows) == {"owner-callback", "sampling_rate-P3"}
    assert rows["sampling_rate-P3"].index("20%") < rows["sampling_rate-P3"].index("30%")
    assert "质量部" in rows["owner-callback"] and "客服中心" in rows["owner-callback"]
    fragment = client.get("/measurement-plans/2026/versions/2/compare", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and fragment.lstrip().startswith('<section class="card" id="plan-changes"')
    version = client.get("/measurement-plans/2026/versions/2").get_data(as_text=True)
    assert 'data-field="sampling_rate-P3"' in version and "P3 提高" in version
    first = client.get("/measurement-plans/2026/versions/1").get_data(as_text=True)
    assert "first version" in first and "data-field=" not in first


def test_missing_versions_and_impossible_years_are_not_found(client, auth, make, db):
    _plan(db)
    _login(make, auth, "quality1", ("quality",))
    assert client.get("/measurement-plans/2026/versions/2").status_code == 404
    assert client.get("/measurement-plans/2025/versions/1/compare").status_code == 404
    assert client.get("/measurement-plans/1999").status_code == 404
    assert client.get("/measurement-plans/2101/edit").status_code == 404
    empty = client.get("/measurement-plans/2027")
    assert empty.status_code == 200 and "There is no measurement plan for 2027 yet." in empty.get_data(as_text=True)


def test_the_quality_nav_links_the_plans_and_the_list_starts_this_years(client, auth, make, db):
    _login(make, auth, "quality1", ("quality",))
    assert 'href="/measurement-plans/"' in client.get("/").get_data(as_text=True)
    this_year = local_today().year
    listing = client.get("/measurement-plans/").get_data(as_text=True)
    assert f'href="/measurement-plans/{this_year}/edit"' in listing and f"Write the {this_year} plan" in listing
    auth.logout()
    _login(make, auth, "pmo1", ("pmo",))
    assert 'href="/measurement-plans/"' not in client.get("/").get_data(as_text=True)
