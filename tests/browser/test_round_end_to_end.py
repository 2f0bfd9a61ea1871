"""Issue 3's browser flow: a PM opens a round, copies a contact's link; the contact answers on a
phone (draft, reload, complete, submit); the PM's status page shows the form submitted."""
import re

from portal.models import Response
from tests import factories


def test_pm_round_to_phone_submission(browser, page, login, make, db):
    pm = make.user("pm_li", roles=("pm",), display_name="项目经理李")
    client = make.client("南京地铁运营公司")
    contact = make.contact(client, name="王工", function="site_admin")
    make.contact(client, name="退订者", function="procurement", opted_out=True)
    project = make.project(pm=pm, client_=client, code="NJ-2026-01", name="地铁通信维保")
    make.template_version(kind="pm_quarterly", name="运维服务季度满意度调查")
    login("pm_li", factories.PASSWORD)

    page.goto(f"/projects/{project.id}/rounds/new")
    assert page.locator("#field-contacts input[disabled]").count() == 1  # opted-out contact cannot be picked
    page.check(f"#field-contacts input[value='{contact.id}']")
    page.click("#round-form button[type=submit]")
    page.wait_for_url(re.compile(r"/rounds/\d+$"))
    status_url = page.url

    page.click(f"#round-status button:has-text('{_t(page, 'Show link to copy', '显示链接')}')")
    link = page.locator("#link-box input.copy-field").input_value()
    assert re.search(r"/s/[A-Za-z0-9_-]{43,}$", link)

    phone = browser.new_context(locale="zh-CN", is_mobile=True, has_touch=True,
                                viewport={"width": 390, "height": 844})
    try:
        client_page = phone.new_page()
        client_page.set_default_timeout(15000)
        client_page.goto(link)
        assert client_page.url.endswith("/survey")  # the token left the address bar
        client_page.locator("#question-attitude label.option", has_text="较满意").click()
        client_page.locator("#question-opinion textarea").fill("夜间响应可以更快一些。")
        client_page.locator("button.survey-draft").click()
        client_page.locator("#draft-status").filter(has_text=re.compile(r"\d\d:\d\d")).wait_for()
        client_page.reload()
        assert client_page.locator("input[name=q_attitude][value='4']").is_checked()
        assert "夜间响应" in client_page.locator("#question-opinion textarea").input_value()

        client_page.locator("button.survey-submit").click()  # two questions still missing
        client_page.locator("#question-timeliness .errors").wait_for()
        client_page.locator("#question-timeliness label.option", has_text="满意").first.click()
        client_page.locator("#question-technical label.option", has_text="8").first.click()
        client_page.locator("button.survey-submit").click()
        client_page.wait_for_url("**/survey/thanks")
    finally:
        phone.close()

    db.session.rollback()  # end the test thread's read snapshot
    assert db.session.query(Response).filter_by(project_id=project.id).count() == 1
    db.session.commit()
    page.goto(status_url)
    row = page.locator("#round-status tr:has-text('王工')")
    assert row.locator("a[href*='/responses/']").count() == 1
    assert "100" in page.locator("#round-status .stats").inner_text()  # response rate 100 %


def _t(page, english, chinese):
    return chinese if page.locator("html").get_attribute("lang") == "zh-CN" else english
