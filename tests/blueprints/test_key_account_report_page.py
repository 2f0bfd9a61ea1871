"""The client's service report over HTTP (DESIGN §4.9, §7): the account's team and the wide
roles download it; a PM or sales not on the team is refused; a missing account is 404; the
quarter comes from ``?quarter=`` (none: the current quarter; a malformed one: 400)."""
import json
from datetime import datetime
from urllib.parse import quote

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, KeyAccount
from portal.services.answers import parse_answers
from portal.services.quarters import current_quarter
from portal.services.responses import submit_response

from .. import pdftools


@pytest.fixture
def account(make, db):
    pm = make.user("team_pm", roles=("pm",), display_name="王经理")
    make.user("other_pm", roles=("pm",))
    make.user("other_sales", roles=("sales",))
    make.user("quality", roles=("quality",))
    client = make.client(name="华东电力公司", key_account=True)  # as if designated
    project = make.project(code="P-A1", name="城域网运维服务", client_=client, pm=pm)
    version = make.template_version()
    submit_response(version, parse_answers(version, {"q_attitude": "5", "q_timeliness": "4", "q_technical": "9"},
                                           complete=True),
                    channel="online", project=project, submitted_at=datetime(2026, 10, 15, 2))
    account = KeyAccount(client_id=client.id, pm_id=pm.id, report_language="zh")
    db.session.add(account)
    db.session.commit()
    return account


@pytest.mark.parametrize("username", ["team_pm", "quality"])
def test_the_team_and_quality_download_the_report(client, auth, account, username):
    auth.login(username)
    response = client.get(f"/key-accounts/{account.id}/report.pdf?quarter=2026Q4")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    assert "no-store" in response.headers["Cache-Control"]
    assert quote("service-report-华东电力公司-2026Q4.pdf", safe="") in response.headers["Content-Disposition"]
    assert pdftools.embedded_cjk_fonts(response.data)
    text = pdftools.text(response.data)
    assert "客户服务报告" in text and "华东电力公司" in text and "2026Q4" in text  # zh: the account's language
    assert "4.52" in text  # (5 + 4 + 4.56) / 3


@pytest.mark.parametrize("username", ["other_pm", "other_sales"])
def test_a_pm_or_sales_not_on_the_team_is_refused(client, auth, db, account, username):
    auth.login(username)
    response = client.get(f"/key-accounts/{account.id}/report.pdf?quarter=2026Q4")
    assert response.status_code == 403
    denied = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "access_denied")
                               .order_by(AuditEvent.id.desc()))
    assert json.loads(denied.detail)["reason"] == "key_account"


def test_a_role_outside_the_rule_is_refused(client, auth, make, account):
    make.user("archivist", roles=("archive",))
    auth.login("archivist")
    assert client.get(f"/key-accounts/{account.id}/report.pdf").status_code == 403


def test_a_missing_account_is_404(client, auth, account):
    auth.login("quality")
    assert client.get(f"/key-accounts/{account.id + 100}/report.pdf").status_code == 404


def test_without_a_quarter_it_is_the_current_one(client, auth, account):
    auth.login("quality")
    response = client.get(f"/key-accounts/{account.id}/report.pdf")
    assert response.status_code == 200
    assert f"-{current_quarter()}.pdf" in response.headers["Content-Disposition"]


@pytest.mark.parametrize("quarter", ["2026Q5", "last", "1999Q1"])
def test_a_malformed_quarter_is_400(client, auth, account, quarter):
    auth.login("quality")
    assert client.get(f"/key-accounts/{account.id}/report.pdf?quarter={quarter}").status_code == 400


def test_anonymous_is_sent_to_login(client, account):
    response = client.get(f"/key-accounts/{account.id}/report.pdf")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
