"""Improvement plan pages: every role's view of the list and a plan (404 out of scope), a new plan
prefilled from a follow-up and complaint, the whole path through the step routes over HTTP, field
errors in place (422), 'changed meanwhile' (409), refusals (403/404), CSRF, the list's fixed
statement count, the follow-up page's panel, the nav item and the quality home section."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.models import ImprovementPlan
from portal.services import improvement as svc
from portal.services.quarters import local_today

from ..querycount import statements_of_request
from ..services.test_improvement_plans import build_world, done, followup_for, new_plan

HX = {"HX-Request": "true"}


@pytest.fixture
def world(make, db):
    w = build_world(make, db)
    w["archive"] = make.user("i_archive", roles=("archive",))
    return w


def _step(client, plan_id, route, step, fields, db, version=None, htmx=True):
    stored = db.session.get(ImprovementPlan, plan_id)
    data = {f"{step}-version": str(stored.version if version is None else version),
            **{f"{step}-{k}": v for k, v in fields.items()}}
    return client.post_form(f"/improvement/{plan_id}/{route}", data, htmx=htmx, token_from="/")


@pytest.mark.parametrize("username, list_status, sees", [
    ("i_quality", 200, True), ("i_pmo", 200, True), ("i_exec", 200, True), ("i_admin", 200, True),
    ("i_head", 200, True), ("i_member", 200, True), ("i_member_pm", 200, True),
    ("i_outsider", 200, False), ("i_other_head", 200, False), ("i_archive", 403, False)])
def test_pages_for_each_person(client, auth, world, db, username, list_status, sees):
    plan = new_plan(world, db)
    auth.login(username)
    listing = client.get("/improvement/")
    assert listing.status_code == list_status
    if list_status == 200:
        assert (f'data-plan="{plan.id}"' in listing.get_data(as_text=True)) is sees
    page = client.get(f"/improvement/{plan.id}")
    assert page.status_code == (200 if sees else (403 if list_status == 403 else 404))
    if sees:
        html = page.get_data(as_text=True)
        assert plan.title in html and "Operations" in html and "Internal" in html
        assert f'/followups/{world["followup"].id}' in html and f'/complaints/{world["complaint"].id}' in html


def test_missing_plan_is_404(client, auth, world):
    auth.login("i_quality")
    assert client.get("/improvement/999999").status_code == 404


def test_new_plan_prefilled_then_created(client, auth, world, db):
    auth.login("i_quality")
    form = client.get(f"/improvement/new?followup={world['followup'].id}&complaint={world['complaint'].id}")
    html = form.get_data(as_text=True)
    assert form.status_code == 200
    assert f'value="{world["followup"].id}"' in html and world["complaint"].reference in html
    token = client.csrf_token("/improvement/new")
    data = {"csrf_token": token, "title": "备件延迟", "goal": "备件两天内到货", "measures": "与物流签约",
            "root_cause": "market", "dimension": "timeliness", "department": str(world["department"].id),
            "responsible": str(world["member"].id), "due_on": (local_today() + timedelta(days=7)).isoformat(),
            "followups": str(world["followup"].id), "complaints": world["complaint"].reference}
    missing = client.post("/improvement/new", data={**data, "title": ""})
    assert missing.status_code == 422 and 'id="field-title"' in missing.get_data(as_text=True)
    assert "Title is required." in missing.get_data(as_text=True)
    unknown = client.post("/improvement/new", data={**data, "complaints": "TS-1999-00001"})
    assert unknown.status_code == 422 and "There is no complaint" in unknown.get_data(as_text=True)
    assert db.session.scalar(select(ImprovementPlan)) is None
    created = client.post("/improvement/new", data=data)
    assert created.status_code == 303
    plan = db.session.scalar(select(ImprovementPlan))
    assert created.headers["Location"].endswith(f"/improvement/{plan.id}")
    assert plan.root_cause == "market" and len(plan.items) == 2 and plan.created_by.username == "i_quality"


def test_new_plan_is_for_quality_pmo_and_heads(client, auth, world):
    auth.login("i_member")
    assert client.get("/improvement/new").status_code == 403
    auth.logout()
    auth.login("i_head")
    html = client.get("/improvement/new").get_data(as_text=True)
    assert world["department"].name in html and world["other_department"].name not in html


def test_post_without_csrf_is_refused(client, auth, world, db):
    plan = new_plan(world, db)
    auth.login("i_quality")
    response = client.post(f"/improvement/{plan.id}/measures-done",
                           data={"mark_measures_done-version": str(plan.version)})
    assert response.status_code == 400
    assert db.session.get(ImprovementPlan, plan.id).state == "open"
    assert client.post("/improvement/new", data={"title": "x"}).status_code == 400


def test_the_whole_flow_through_http(client, auth, world, db):
    auth.login("i_quality")
    token = client.csrf_token("/improvement/new")
    client.post("/improvement/new", data={
        "csrf_token": token, "title": "到场不及时", "goal": "按时到场", "measures": "排班复核", "root_cause": "service",
        "department": str(world["department"].id), "responsible": str(world["member"].id),
        "due_on": local_today().isoformat(), "followups": str(world["followup"].id)})
    plan = db.session.scalar(select(ImprovementPlan))
    pid = plan.id
    added = _step(client, pid, "items", "add_item", {"complaint": world["complaint"].reference}, db)
    assert added.status_code == 204 and added.headers["HX-Redirect"].endswith(f"/improvement/{pid}")
    auth.logout()
    auth.login("i_member")
    page = client.get(f"/improvement/{pid}").get_data(as_text=True)
    assert 'data-step="mark_measures_done"' in page and 'data-step="edit"' not in page
    on = (local_today() - timedelta(days=31)).isoformat()
    assert _step(client, pid, "measures-done", "mark_measures_done", {"on": on}, db).status_code == 204
    auth.logout()
    auth.login("i_quality")
    page = client.get(f"/improvement/{pid}").get_data(as_text=True)
    assert page.count("data-check-due") == 1 and 'data-figure="new_complaints"' in page
    refused = _step(client, pid, "close", "close", {}, db)
    assert refused.status_code == 422
    assert "cannot be closed until a check has recorded its effect as effective" in refused.get_data(as_text=True)
    check = db.session.get(ImprovementPlan, pid).checks[0]
    later = db.session.get(ImprovementPlan, pid).checks[1]
    not_yet = _step(client, pid, "check", "record_check", {"check": str(later.id), "result": "effective"}, db)
    assert not_yet.status_code == 422 and "falls due on" in not_yet.get_data(as_text=True)
    recorded = _step(client, pid, "check", "record_check",
                     {"check": str(check.id), "result": "effective", "note": "到场率 97%"}, db)
    assert recorded.status_code == 204
    closed = _step(client, pid, "close", "close", {"note": "有效"}, db, htmx=False)
    assert closed.status_code == 303
    plan = db.session.get(ImprovementPlan, pid)
    assert plan.state == "closed" and plan.checks[0].result == "effective" and plan.checks[0].figures
    html = client.get(f"/improvement/{pid}").get_data(as_text=True)
    for action in ("create", "add_item", "mark_measures_done", "record_check", "close"):
        assert f'data-action="{action}"' in html
    assert 'data-step=' not in html  # nothing left to do


def test_field_errors_come_back_in_place(client, auth, world, db):
    plan = new_plan(world, db)
    auth.login("i_member")
    future = (local_today() + timedelta(days=2)).isoformat()
    response = _step(client, plan.id, "measures-done", "mark_measures_done", {"on": future}, db)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="plan-box"' in html and "<html" not in html
    assert 'id="field-mark_measures_done-on"' in html and "cannot lie in the future" in html
    assert db.session.get(ImprovementPlan, plan.id).state == "open"


def test_changed_meanwhile_is_409(client, auth, world, db):
    plan = new_plan(world, db)
    auth.login("i_member")
    stale = plan.version
    svc.edit_plan(plan, actor=world["quality"], expected_version=plan.version, title="改过了", goal=plan.goal,
                  measures=plan.measures, root_cause=plan.root_cause, department=plan.department,
                  responsible=plan.responsible, due_on=plan.due_on)
    db.session.commit()
    response = _step(client, plan.id, "measures-done", "mark_measures_done", {"on": local_today().isoformat()},
                     db, version=stale)
    assert response.status_code == 409 and "changed meanwhile" in response.get_data(as_text=True)
    assert db.session.get(ImprovementPlan, plan.id).state == "open"


@pytest.mark.parametrize("username, route, step, status", [
    ("i_exec", "close", "close", 403),                 # sees it, may not act
    ("i_member", "edit", "edit", 403),
    ("i_member_pm", "measures-done", "mark_measures_done", 403),  # a member, not the responsible person
    ("i_head", "check", "record_check", 403),          # the role rule: quality or PMO record checks
    ("i_outsider", "measures-done", "mark_measures_done", 404),   # out of scope: not told it exists
    ("i_other_head", "items", "add_item", 404),
])
def test_who_may_not_act(client, auth, world, db, username, route, step, status):
    plan = new_plan(world, db)
    auth.login(username)
    assert _step(client, plan.id, route, step, {}, db).status_code == status
    assert db.session.get(ImprovementPlan, plan.id).version == plan.version


def test_revise_through_http_after_a_check_without_effect(client, auth, world, db):
    plan = new_plan(world, db)
    done(plan, world, db, on=local_today() - timedelta(days=30))
    svc.record_check(plan.checks[0], actor=world["quality"], expected_version=plan.version,
                     result="not_effective", note="无变化")
    db.session.commit()
    auth.login("i_head")
    page = client.get(f"/improvement/{plan.id}").get_data(as_text=True)
    assert 'data-step="revise"' in page and 'data-step="close"' in page
    response = _step(client, plan.id, "revise", "revise", {
        "measures": "增加夜班", "reason": "第一次检查无效果", "due_on": local_today().isoformat()}, db)
    assert response.status_code == 204
    plan = db.session.get(ImprovementPlan, plan.id)
    assert (plan.state, plan.revision) == ("open", 1)
    assert "not checked: the measures were revised" in client.get(f"/improvement/{plan.id}").get_data(as_text=True)


def test_the_list_takes_a_fixed_number_of_statements(client, auth, world, db, make):
    new_plan(world, db, items=[world["followup"]])
    auth.login("i_quality")
    statements_of_request(client, "/improvement/")
    _, one = statements_of_request(client, "/improvement/")
    for i in range(4):
        f = followup_for(db, world["project"], world["version"])
        plan = new_plan(world, db, items=[f], title=f"计划{i}")
        done(plan, world, db, on=local_today() - timedelta(days=40))
    response, five = statements_of_request(client, "/improvement/")
    assert response.status_code == 200 and len(five) == len(one), five.report()
    html = response.get_data(as_text=True)
    assert html.count("data-due-check=") == 4 and 'data-count="measures_done">' in html
    filtered = client.get("/improvement/?check_due=1", headers=HX).get_data(as_text=True)
    assert filtered.count("data-plan=") == 4 and "<html" not in filtered


def test_followup_page_panel_nav_and_home(client, auth, world, db):
    plan = new_plan(world, db)
    done(plan, world, db, on=local_today() - timedelta(days=30))
    auth.login("i_quality")
    page = client.get(f"/followups/{world['followup'].id}").get_data(as_text=True)
    assert f'href="/improvement/{plan.id}"' in page
    assert f'/improvement/new?followup={world["followup"].id}' in page
    home = client.get("/").get_data(as_text=True)
    assert 'id="home-improvement-checks"' in home and f'data-due-check="{plan.checks[0].id}"' in home
    assert 'href="/improvement/"' in home
    auth.logout()
    auth.login("i_member")  # in the department: the nav item, no home section
    home = client.get("/").get_data(as_text=True)
    assert 'href="/improvement/"' in home and 'id="home-improvement-checks"' not in home
    auth.logout()
    auth.login("i_outsider")
    assert 'href="/improvement/"' not in client.get("/").get_data(as_text=True)


def test_an_item_in_another_open_plan_is_refused_beside_its_field(client, auth, world, db):
    new_plan(world, db, items=[world["followup"]], title="第一个计划")
    second = new_plan(world, db, items=[world["complaint"]], title="第二个计划")
    auth.login("i_pmo")
    response = _step(client, second.id, "items", "add_item", {"followup": str(world["followup"].id)}, db)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="field-add_item-followup"' in html
    assert "第一个计划" in html and len(db.session.get(ImprovementPlan, second.id).items) == 1
    token = client.csrf_token("/improvement/new")
    created = client.post("/improvement/new", data={
        "csrf_token": token, "title": "第三个", "goal": "g", "measures": "m", "root_cause": "regulation",
        "department": str(world["department"].id), "responsible": str(world["head"].id),
        "due_on": local_today().isoformat(), "followups": str(world["followup"].id)})
    assert created.status_code == 422
    assert "第一个计划" in created.get_data(as_text=True).split('id="field-followups"')[1].split("</div>")[0]
