"""The key-account programme by clicking, in Chinese (DESIGN §4.9, issue 12): the salesperson
proposes their client with the criteria; the executive approves it from the home page's list;
the quality desk names the team and sets a two-weekly relationship-callback schedule starting
today, which puts the call in the desk's queue (no ticket exists); the agent makes the call from
the queue (reached, the callback form); the client's service report is downloaded."""
import os
import re

from flask_babel import force_locale, gettext
from playwright.sync_api import expect
from sqlalchemy import select

from portal.labels import ATTEMPT_OUTCOME_LABELS
from portal.models import CallbackTask, Client, KeyAccount, Response, ServiceCase
from portal.seed.templates import CALLBACK_ZH
from portal.services.quarters import local_today
from tests import pdftools

WAIT = 15000
SHOTS = "/tmp/shots"
LANG = "zh"


def text(message, **variables):
    with force_locale(LANG):
        return gettext(message, **variables) if isinstance(message, str) else str(message)


def _shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=f"{SHOTS}/key-account-{name}.png", full_page=True)


def test_propose_approve_team_schedule_call_and_report(signed_in, make, db):
    sales = make.user("ka_sales_zh", roles=("sales",), display_name="销售 孙丽", locale=LANG)
    make.user("ka_exec_zh", roles=("exec",), display_name="技术总监 陈刚", locale=LANG)
    make.user("ka_desk_zh", roles=("quality",), display_name="质量部 王芳", locale=LANG)
    pm = make.user("ka_pm_zh", roles=("pm",), display_name="项目经理 张伟", locale=LANG)
    client = make.client("华东电网信息通信公司")
    project = make.project(code="KA-2026-01", name="数据中心运维服务", pm=pm, sales=sales, client_=client)
    contact = make.contact(client, name="王建国", function="ops_leader", phone="13900001111")
    make.template_version(kind="callback", name=CALLBACK_ZH["name"],
                          questions=[{k: v for k, v in q.items() if v is not None} for q in CALLBACK_ZH["questions"]])
    cid = client.id

    # 1. sales proposes the client with the criteria
    seller = signed_in("ka_sales_zh")
    seller.goto(f"/clients/{cid}")
    card = seller.locator("#key-account-card")
    expect(card.locator("[data-key-account]")).to_have_attribute("data-key-account", "no", timeout=WAIT)
    card.locator("summary").click()
    card.locator("textarea[name=ka-business_volume]").fill("年合同额约 1800 万元")
    card.locator("textarea[name=ka-cooperation_potential]").fill("数据中心二期扩容在谈")
    card.locator("textarea[name=ka-industry_influence]").fill("电力行业标杆客户")
    card.get_by_role("button", name=text("Send to the executives"), exact=True).click()
    expect(seller.locator("#pending-proposal")).to_contain_text(text("Awaiting an executive's decision"), timeout=WAIT)
    _shot(seller, "proposed")

    # 2. the executive finds it on the home page and approves it with a note
    boss = signed_in("ka_exec_zh")
    boss.goto("/")
    proposals = boss.locator("#home-key-account-proposals")
    expect(proposals).to_contain_text("华东电网信息通信公司", timeout=WAIT)
    proposals.get_by_role("link", name="华东电网信息通信公司").click()
    boss.wait_for_url(re.compile(rf"/clients/{cid}"))
    boss.locator("#decide-form textarea[name=decide-note]").fill("同意列为重点客户")
    boss.locator("#decide-form").get_by_role("button", name=text("Approve"), exact=True).click()
    expect(boss.locator("[data-key-account]")).to_have_attribute("data-key-account", "yes", timeout=WAIT)
    expect(boss.locator("#key-account-history")).to_contain_text("同意列为重点客户")
    _shot(boss, "approved")

    # 3. the quality desk names the team and sets the schedule (first call today)
    desk = signed_in("ka_desk_zh")
    desk.goto(f"/clients/{cid}")
    desk.get_by_role("link", name=text("Team, service plan and callbacks"), exact=True).click()
    desk.wait_for_url(re.compile(r"/key-accounts/\d+$"))
    team = desk.locator("#step-team form")
    team.locator("select[name=team-pm]").select_option(str(pm.id))
    team.locator("select[name=team-sales]").select_option(str(sales.id))
    team.get_by_role("button").click()
    expect(desk.locator("[data-team=pm]")).to_have_text("项目经理 张伟", timeout=WAIT)
    schedule = desk.locator("#step-schedule form")
    schedule.locator("input[name=schedule-every_weeks]").fill("2")
    schedule.locator("input[name=schedule-starts_on]").fill(local_today().isoformat())
    schedule.locator("select[name=schedule-contact]").select_option(str(contact.id))
    schedule.locator("select[name=schedule-project]").select_option(str(project.id))
    schedule.get_by_role("button").click()
    calls = desk.locator("#relationship-calls tbody tr")
    expect(calls).to_have_count(1, timeout=WAIT)
    expect(desk.locator("[data-schedule]")).to_contain_text("王建国")
    _shot(desk, "programme")
    account_url = desk.url

    # 4. the call is in the desk's queue, no ticket behind it: reached, the callback form
    desk.goto("/callbacks/")
    row = desk.locator("#task-list tr[data-kind=relationship]")
    expect(row).to_have_count(1, timeout=WAIT)
    expect(row).to_contain_text("王建国")
    row.get_by_role("link", name=text("Key account relationship call"), exact=True).click()
    desk.wait_for_url(re.compile(r"/callbacks/tasks/\d+$"))
    desk.locator("#log-attempt").get_by_role("button", name=text(ATTEMPT_OUTCOME_LABELS["reached"]),
                                             exact=True).click()
    sheet = desk.locator("#callback-form-section")
    expect(sheet.locator("h2")).to_have_text(text("Callback record sheet"), timeout=WAIT)

    def pick(code, label):
        sheet.locator(f"#question-{code}").get_by_role("radio", name=label, exact=True).check()

    pick("resolved", "是")
    pick("timeliness", "满意")
    pick("attitude", "满意")
    pick("technical", "满意")
    pick("communication", "是")
    pick("documentation", text("Not applicable"))
    pick("overall", "5")
    sheet.get_by_role("button", name=text("Record the callback"), exact=True).click()
    desk.wait_for_url(re.compile(r"/responses/\d+$"))
    _shot(desk, "called")

    db.session.rollback()  # end the test thread's read snapshot
    task = db.session.scalar(select(CallbackTask).where(CallbackTask.kind == "relationship"))
    assert task.state == "reached" and task.case_id is None and task.contact_id == contact.id
    assert db.session.get(Response, task.response_id).project_id == project.id
    assert db.session.scalar(select(ServiceCase.id)) is None  # independent of tickets
    assert db.session.get(Client, cid).key_account is True
    account = db.session.scalar(select(KeyAccount).where(KeyAccount.client_id == cid))
    assert (account.pm_id, account.sales_id, account.callback_every_weeks) == (pm.id, sales.id, 2)
    db.session.commit()

    # 5. the client's service report, downloaded from the account page
    desk.goto(account_url)
    with desk.expect_download() as download:
        desk.get_by_role("link", name=text("Download this quarter's report (PDF)"), exact=True).click()
    with open(download.value.path(), "rb") as fh:
        data = fh.read()
    assert data.startswith(b"%PDF") and pdftools.embedded_cjk_fonts(data)
    assert "华东电网信息通信公司" in pdftools.text(data)
