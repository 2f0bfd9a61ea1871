"""Project screens: PM/sales see only their own projects, list in place with htmx, create/edit by
admin/PMO with field errors, milestones kept inline by admin/PMO/the project's PM."""
from datetime import date

import pytest

from portal.models import AuditEvent, Milestone, Project
from portal.services.quarters import local_today

HX = {"HX-Request": "true"}


def _login(make, auth, username, roles):
    user = make.user(username, roles=roles, locale="en")
    auth.login(username)
    return user


@pytest.fixture
def two_pms(make):
    pm_a, pm_b = make.user("pm_a", roles=("pm",), locale="en"), make.user("pm_b", roles=("pm",), locale="en")
    sales = make.user("sales_a", roles=("sales",), locale="en")
    bank = make.client("江苏银行")
    a1 = make.project(pm=pm_a, sales=sales, client_=bank, code="A-1", name="数据中心运维")
    a2 = make.project(pm=pm_a, code="A-2", status="completed")
    b1 = make.project(pm=pm_b, client_=bank, code="B-1", name="网络维保")
    return {"pm_a": pm_a, "pm_b": pm_b, "sales": sales, "bank": bank, "a1": a1, "a2": a2, "b1": b1}


def test_pm_lists_only_own_projects(client, auth, two_pms):
    auth.login("pm_a")
    page = client.get("/projects/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert "A-1" in html and "A-2" in html and "B-1" not in html
    assert 'hx-trigger="input changed delay:300ms from:input, change"' in html
    assert ">pm_a</option>" in html and ">pm_b</option>" not in html  # the PM picker leaks no other PMs


def test_sales_lists_only_own_projects(client, auth, two_pms):
    auth.login("sales_a")
    html = client.get("/projects/").get_data(as_text=True)
    assert "A-1" in html and "A-2" not in html and "B-1" not in html


def test_project_filters_in_place(client, auth, make, two_pms):
    _login(make, auth, "boss", ("pmo",))
    fragment = client.get("/projects/?q=银行", headers=HX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and "HX-Request" in fragment.headers["Vary"]
    assert "A-1" in body and "B-1" in body and "A-2" not in body
    body = client.get(f"/projects/?pm_id={two_pms['pm_b'].id}", headers=HX).get_data(as_text=True)
    assert "B-1" in body and "A-1" not in body
    body = client.get("/projects/?status=completed", headers=HX).get_data(as_text=True)
    assert "A-2" in body and "A-1" not in body
    body = client.get(f"/projects/?client_id={two_pms['bank'].id}&q=网络", headers=HX).get_data(as_text=True)
    assert "B-1" in body and "A-1" not in body


def test_project_pagination(client, auth, make):
    pm = _login(make, auth, "pm", ("pm",))
    for i in range(21):
        make.project(pm=pm, code=f"P{i:03d}")
    first = client.get("/projects/").get_data(as_text=True)
    assert "P019" in first and "P020" not in first and "Page 1 of 2" in first
    second = client.get("/projects/?page=2", headers=HX).get_data(as_text=True)
    assert "P020" in second and "P000" not in second


def test_project_page_shows_facts_and_milestones(client, auth, make, two_pms):
    make.milestone(two_pms["a1"], name="初验", planned_date=date(2026, 3, 1), is_key=True)
    auth.login("pm_a")
    html = client.get(f"/projects/{two_pms['a1'].id}").get_data(as_text=True)
    for text in ("A-1", "数据中心运维", "江苏银行", two_pms["sales"].display_name, "初验", "2026-03-01",
                 "Add milestone"):
        assert text in html
    assert "Edit project" not in html  # a PM keeps milestones, not the project's facts


def test_project_page_includes_registered_panels(app, client, auth, make, two_pms, monkeypatch):
    from portal import navigation
    seen = []
    monkeypatch.setitem(navigation._PANELS, "main/_section_my_projects.html", navigation.ProjectPanel(
        999, "main/_section_my_projects.html",
        lambda user, project: seen.append(project.id) or None))
    auth.login("pm_a")
    assert client.get(f"/projects/{two_pms['a1'].id}").status_code == 200
    assert seen == [two_pms["a1"].id]


@pytest.mark.parametrize("who", ["pm_b", "sales_a"])
def test_others_cannot_read_a_project_by_guessing_its_id(client, auth, two_pms, who):
    auth.login(who)
    target = two_pms["a2"] if who == "sales_a" else two_pms["a1"]
    assert client.get(f"/projects/{target.id}").status_code == 403
    assert client.get("/projects/999999").status_code == 404


def test_archive_role_gets_no_project_screens(client, auth, make, two_pms):
    _login(make, auth, "arch", ("archive",))
    assert client.get("/projects/").status_code == 403
    assert client.get(f"/projects/{two_pms['a1'].id}").status_code == 403


def _project_form(two_pms, **overrides):
    data = {"code": "NEW-1", "name": "云平台驻场", "client_id": two_pms["bank"].id,
            "pm_id": two_pms["pm_b"].id, "sales_id": two_pms["sales"].id, "status": "active",
            "start_date": "2026-01-01", "end_date": "2026-12-31", "description": ""}
    data.update(overrides)
    return data


def test_pmo_creates_project_and_it_is_audited(client, auth, make, db, two_pms):
    _login(make, auth, "boss", ("pmo",))
    response = client.post_form("/projects/new", _project_form(two_pms), token_from="/")
    project = db.session.query(Project).filter_by(code="NEW-1").one()
    assert response.status_code == 303 and response.headers["Location"] == f"/projects/{project.id}"
    assert (project.pm_id, project.sales_id, project.end_date) == (two_pms["pm_b"].id, two_pms["sales"].id,
                                                                   date(2026, 12, 31))
    event = db.session.query(AuditEvent).filter_by(action="create", object_type="Project").one()
    assert "NEW-1" in event.detail


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("overrides,field,message", [
    ({"code": "A-1"}, "code", "Another project already has this code."),
    ({"start_date": "2026-06-01", "end_date": "2026-05-31"}, "end_date",
     "The end date cannot be before the start date."),
    ({"pm_id": "sales"}, "pm_id", "Not a valid choice"),
    ({"name": ""}, "name", "This field is required."),
])
def test_invalid_project_shows_error_beside_field(client, auth, make, db, two_pms, htmx, overrides, field,
                                                 message):
    _login(make, auth, "adm", ("admin",))
    if overrides.get("pm_id") == "sales":
        overrides = {"pm_id": two_pms["sales"].id}  # a salesperson is not offered as PM
    response = client.post_form("/projects/new", _project_form(two_pms, **overrides), htmx=htmx, token_from="/")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and ("<html" in html) is not htmx
    assert f'id="err-{field}"' in html and message in html
    assert db.session.query(Project).count() == 3


def test_admin_edits_project(client, auth, make, db, two_pms):
    _login(make, auth, "adm", ("admin",))
    target = two_pms["a1"]
    assert client.get(f"/projects/{target.id}/edit").status_code == 200
    response = client.post_form(f"/projects/{target.id}/edit",
                                _project_form(two_pms, code="A-1", status="suspended"), htmx=True, token_from="/")
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/projects/{target.id}"
    db.session.refresh(target)
    assert target.status == "suspended" and target.pm_id == two_pms["pm_b"].id


@pytest.mark.parametrize("who", ["pm_a", "sales_a"])
def test_pm_and_sales_cannot_edit_project_facts(client, auth, two_pms, who):
    auth.login(who)
    assert client.get(f"/projects/{two_pms['a1'].id}/edit").status_code == 403
    assert client.get("/projects/new").status_code == 403


def test_own_pm_adds_milestone_inline(client, auth, db, two_pms):
    auth.login("pm_a")
    project = two_pms["a1"]
    response = client.post_form(f"/projects/{project.id}/milestones", {
        "ms-name": "上线", "ms-planned_date": "2026-06-30", "ms-is_key": "y"}, htmx=True, token_from="/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and 'id="milestones"' in html and "上线" in html
    milestone = db.session.query(Milestone).filter_by(project_id=project.id).one()
    assert milestone.is_key and milestone.planned_date == date(2026, 6, 30)
    assert db.session.query(AuditEvent).filter_by(action="create", object_type="Milestone").count() == 1


def test_milestone_plain_post_redirects_to_project(client, auth, db, two_pms):
    auth.login("pm_a")
    project = two_pms["a1"]
    response = client.post_form(f"/projects/{project.id}/milestones", {"ms-name": "初验"}, token_from="/")
    assert response.status_code == 303 and response.headers["Location"] == f"/projects/{project.id}#milestones"


@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_milestone_shows_error_in_place(client, auth, two_pms, htmx):
    auth.login("pm_a")
    project = two_pms["a1"]
    response = client.post_form(f"/projects/{project.id}/milestones", {"ms-name": "",
                                                                      "ms-planned_date": "not-a-date"},
                                htmx=htmx, token_from="/")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and ("<html" in html) is not htmx
    assert 'id="err-ms-name"' in html and 'id="err-ms-planned_date"' in html


def test_milestone_edit_and_mark_reached(client, auth, make, db, two_pms):
    project = two_pms["a1"]
    milestone = make.milestone(project, name="初验")
    auth.login("pm_a")
    row = client.get(f"/projects/{project.id}/milestones/{milestone.id}/edit", headers=HX).get_data(as_text=True)
    assert "<html" not in row and 'value="初验"' in row
    response = client.post_form(f"/projects/{project.id}/milestones/{milestone.id}/edit", {
        "ms-name": "初步验收", "ms-planned_date": "2026-04-01"}, htmx=True, token_from="/")
    assert response.status_code == 200 and "初步验收" in response.get_data(as_text=True)
    response = client.post_form(f"/projects/{project.id}/milestones/{milestone.id}/reached", htmx=True,
                                token_from="/")
    assert response.status_code == 200
    db.session.refresh(milestone)
    assert (milestone.name, milestone.reached_date) == ("初步验收", local_today())
    assert "Mark reached today" not in response.get_data(as_text=True)


def test_other_pm_cannot_change_milestones_by_guessing_ids(client, auth, make, db, two_pms):
    milestone = make.milestone(two_pms["a1"], name="初验")
    auth.login("pm_b")
    base = f"/projects/{two_pms['a1'].id}/milestones"
    assert client.post_form(base, {"ms-name": "x"}, token_from="/").status_code == 403
    assert client.get(f"{base}/{milestone.id}/edit").status_code == 403
    assert client.post_form(f"{base}/{milestone.id}/edit", {"ms-name": "x"}, token_from="/").status_code == 403
    assert client.post_form(f"{base}/{milestone.id}/reached", token_from="/").status_code == 403
    # their own project with someone else's milestone id: not found
    own = f"/projects/{two_pms['b1'].id}/milestones/{milestone.id}"
    assert client.post_form(f"{own}/reached", token_from="/").status_code == 404
    db.session.refresh(milestone)
    assert milestone.name == "初验" and milestone.reached_date is None


def test_sales_cannot_keep_milestones(client, auth, make, two_pms):
    milestone = make.milestone(two_pms["a1"])
    auth.login("sales_a")
    assert client.post_form(f"/projects/{two_pms['a1'].id}/milestones/{milestone.id}/reached",
                            token_from="/").status_code == 403


def test_pmo_keeps_any_projects_milestones(client, auth, make, two_pms):
    milestone = make.milestone(two_pms["b1"])
    _login(make, auth, "boss", ("pmo",))
    response = client.post_form(f"/projects/{two_pms['b1'].id}/milestones/{milestone.id}/reached",
                                {"reached_date": "2026-02-02"}, token_from="/")
    assert response.status_code == 303
