"""Key-account pages: the client page's card (propose, decide, history) by htmx with 422 beside the
field, the account page's team/plan/schedule steps, who is refused (403), the edit form offering
no flag, and the plan document download."""
import io

import pytest
from sqlalchemy import select

from portal.models import Client, KeyAccount, KeyAccountDecision

CRITERIA = {"ka-action": "designate", "ka-business_volume": "年合同额约 1200 万元",
            "ka-cooperation_potential": "三期扩容在谈", "ka-industry_influence": "省内交通行业标杆"}


@pytest.fixture
def world(make, db):
    sales = make.user("kp_sales", roles=("sales",))
    make.user("kp_other_sales", roles=("sales",))
    make.user("kp_exec", roles=("exec",))
    make.user("kp_quality", roles=("quality",))
    pm = make.user("kp_pm", roles=("pm",))
    make.user("kp_pm2", roles=("pm",))
    make.user("kp_admin", roles=("admin",))
    client = make.client("苏州工业园区管委会")
    project = make.project(pm=pm, sales=sales, client_=client)
    contact = make.contact(client, name="李晓红")
    return {"client": client, "project": project, "contact": contact}


def _designate(client, auth, world, db):
    cid = world["client"].id
    auth.login("kp_sales")
    client.post_form(f"/key-accounts/clients/{cid}/propose", CRITERIA, htmx=True, token_from=f"/clients/{cid}")
    auth.logout()
    auth.login("kp_exec")
    decision = db.session.scalar(select(KeyAccountDecision))
    client.post_form(f"/key-accounts/decisions/{decision.id}/decide",
                     {"decide-verdict": "approve", "decide-note": "同意"}, htmx=True, token_from=f"/clients/{cid}")
    auth.logout()
    db.session.expire_all()
    return db.session.scalar(select(KeyAccount))


def test_sales_proposes_and_the_executive_approves_from_the_client_page(client, auth, world, db):
    cid = world["client"].id
    auth.login("kp_sales")
    page = client.get(f"/clients/{cid}").get_data(as_text=True)
    assert 'id="key-account-card"' in page and f'/key-accounts/clients/{cid}/propose' in page
    missing = client.post_form(f"/key-accounts/clients/{cid}/propose", {**CRITERIA, "ka-industry_influence": ""},
                               htmx=True, token_from=f"/clients/{cid}")
    assert missing.status_code == 422 and 'id="field-ka-industry_influence"' in missing.get_data(as_text=True)
    done = client.post_form(f"/key-accounts/clients/{cid}/propose", CRITERIA, htmx=True, token_from=f"/clients/{cid}")
    assert done.status_code == 200 and "省内交通行业标杆" in done.get_data(as_text=True)
    decision = db.session.scalar(select(KeyAccountDecision))
    assert decision.state == "pending"
    # sales may not decide (403, nothing changes)
    refused = client.post_form(f"/key-accounts/decisions/{decision.id}/decide",
                               {"decide-verdict": "approve", "decide-note": "x"}, htmx=True, token_from="/")
    assert refused.status_code == 403
    auth.logout()
    auth.login("kp_exec")
    home = client.get("/").get_data(as_text=True)
    assert "苏州工业园区管委会" in home and 'id="home-key-account-proposals"' in home
    page = client.get(f"/clients/{cid}").get_data(as_text=True)
    assert 'id="decide-form"' in page
    no_note = client.post_form(f"/key-accounts/decisions/{decision.id}/decide", {"decide-verdict": "approve"},
                               htmx=True, token_from=f"/clients/{cid}")
    assert no_note.status_code == 422 and 'id="field-decide-note"' in no_note.get_data(as_text=True)
    approved = client.post_form(f"/key-accounts/decisions/{decision.id}/decide",
                                {"decide-verdict": "approve", "decide-note": "同意，纳入重点客户"}, htmx=True,
                                token_from=f"/clients/{cid}")
    assert approved.status_code == 200 and 'data-key-account="yes"' in approved.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Client, cid).key_account is True
    assert 'data-decision="approved"' in client.get(f"/clients/{cid}").get_data(as_text=True)
    assert "同意，纳入重点客户" in client.get(f"/clients/{cid}").get_data(as_text=True)


def test_another_salesperson_may_not_propose_a_client_not_theirs(client, auth, world, db):
    auth.login("kp_other_sales")
    response = client.post_form(f"/key-accounts/clients/{world['client'].id}/propose", CRITERIA, htmx=True,
                                token_from="/")
    assert response.status_code == 403 and db.session.scalar(select(KeyAccountDecision)) is None


def test_the_client_form_has_no_key_account_box(client, auth, world, db):
    auth.login("kp_admin")
    html = client.get(f"/clients/{world['client'].id}/edit").get_data(as_text=True)
    assert 'name="key_account"' not in html
    client.post_form(f"/clients/{world['client'].id}/edit", {"name": "苏州工业园区管委会", "key_account": "y"},
                     token_from="/")
    db.session.expire_all()
    assert db.session.get(Client, world["client"].id).key_account is False


def test_quality_runs_the_programme_and_the_executive_approves_the_plan(client, auth, world, db):
    account = _designate(client, auth, world, db)
    aid = account.id
    auth.login("kp_quality")
    page = client.get(f"/key-accounts/{aid}").get_data(as_text=True)
    assert f'action="/key-accounts/{aid}/team"' in page and f'action="/key-accounts/{aid}/plan/approve"' not in page
    team = client.post_form(f"/key-accounts/{aid}/team", {
        "team-version": str(account.version), "team-pm": str(world["project"].pm_id),
        "team-sales": str(world["project"].sales_id)}, htmx=True, token_from=f"/key-accounts/{aid}")
    assert team.status_code == 200 and 'data-team="pm"' in team.get_data(as_text=True)
    db.session.expire_all()
    account = db.session.get(KeyAccount, aid)
    wrong = client.post_form(f"/key-accounts/{aid}/team", {"team-version": str(account.version),
                                                           "team-pm": str(world["project"].sales_id)},
                             htmx=True, token_from=f"/key-accounts/{aid}")
    assert wrong.status_code == 422
    stale = client.post_form(f"/key-accounts/{aid}/team", {"team-version": str(account.version - 1)},
                             htmx=True, token_from=f"/key-accounts/{aid}")
    assert stale.status_code == 409
    plan = client.post(f"/key-accounts/{aid}/plan", headers={"HX-Request": "true"}, data={
        "csrf_token": client.csrf_token(f"/key-accounts/{aid}"), "plan-version": str(account.version),
        "plan-text": "季度巡检", "plan-file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "服务计划.pdf")},
        content_type="multipart/form-data")
    assert plan.status_code == 200 and "服务计划.pdf" in plan.get_data(as_text=True)
    document = client.get(f"/key-accounts/{aid}/plan/document")
    assert document.status_code == 200 and document.data.startswith(b"%PDF") and "attachment" in \
        document.headers["Content-Disposition"]
    document.close()
    auth.logout()
    auth.login("kp_exec")
    db.session.expire_all()
    account = db.session.get(KeyAccount, aid)
    approved = client.post_form(f"/key-accounts/{aid}/plan/approve", {
        "approve_plan-version": str(account.version), "approve_plan-agreed_on": "2026-11-20"},
        htmx=True, token_from=f"/key-accounts/{aid}")
    assert approved.status_code == 200 and "data-plan-approval" in approved.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(KeyAccount, aid).plan_agreed_on.isoformat() == "2026-11-20"


def test_only_the_team_and_the_wide_roles_read_an_account(client, auth, world, db):
    account = _designate(client, auth, world, db)
    auth.login("kp_pm2")
    assert client.get(f"/key-accounts/{account.id}").status_code == 403
    assert client.get("/key-accounts/").status_code == 200
    assert "苏州工业园区管委会" not in client.get("/key-accounts/").get_data(as_text=True)
    auth.logout()
    auth.login("kp_quality")
    assert "苏州工业园区管委会" in client.get("/key-accounts/").get_data(as_text=True)
    team = client.post_form(f"/key-accounts/{account.id}/team", {"team-version": str(account.version),
                                                                 "team-pm": str(world["project"].pm_id)},
                            htmx=True, token_from=f"/key-accounts/{account.id}")
    assert team.status_code == 200
    auth.logout()
    auth.login("kp_pm")  # now on the team
    assert client.get(f"/key-accounts/{account.id}").status_code == 200
    assert client.post_form(f"/key-accounts/{account.id}/team", {"team-version": "1"}, htmx=True,
                            token_from="/").status_code == 403
