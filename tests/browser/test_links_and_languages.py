"""Issue 8's browser flows: the PM copies a contact's link twice and the client's first copy still
opens the form; an English contact gets the English variant and can switch to Chinese."""
import re

from tests import factories

EN_QUESTIONS = [
    dict(code="attitude", text="How satisfied are you with our service attitude?", type="scale",
         scale="sat5_b", dimension="attitude"),
    dict(code="opinion", text="Comments and suggestions", type="text", required=False),
]
ZH_QUESTIONS = [
    dict(code="attitude", text="您对我们的服务态度是否满意？", type="scale", scale="sat5_b", dimension="attitude"),
    dict(code="opinion", text="意见和建议", type="text", required=False),
]


def _round_with_contacts(make, db):
    pm = make.user("pm_zhao", roles=("pm",), display_name="项目经理赵")
    client = make.client("苏州轨道交通")
    wang = make.contact(client, name="王工", function="site_admin", email="wang@example.cn")
    alice = make.contact(client, name="Alice Chen", function="ops_leader", language="en",
                         email="alice@example.com")
    project = make.project(pm=pm, client_=client, code="SZ-2026-03", name="信号系统维保")
    zh = make.template_version(kind="pm_quarterly", name="季度满意度调查", questions=ZH_QUESTIONS)
    make.template_version(kind="pm_quarterly", language="en", name="Quarterly survey",
                          questions=EN_QUESTIONS, variant_of=zh)
    return pm, project, wang, alice


def _open_round(page, project, contacts):
    page.goto(f"/projects/{project.id}/rounds/new")
    for contact in contacts:
        page.check(f"#field-contacts input[value='{contact.id}']")
    assert page.locator("#field-contacts [data-form-language='en']").count() == 1  # Alice: English form
    page.click("#round-form button[type=submit]")
    page.wait_for_url(re.compile(r"/rounds/\d+$"))


def test_copying_a_link_twice_keeps_the_first_copy_working(browser, page, login, make, db):
    pm, project, wang, alice = _round_with_contacts(make, db)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login("pm_zhao", factories.PASSWORD)
    _open_round(page, project, [wang])
    show = page.locator("#round-status tr:has-text('王工') button", has_text=re.compile("显示链接|Show link"))
    show.click()
    first = page.locator("#link-box input.copy-field").input_value()
    page.locator("#link-box button[data-copy]").click()
    page.locator("#link-box .copy-status").filter(has_text=re.compile("已复制|Copied")).wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == first
    show.click()  # the PM copies it again later
    page.locator("#link-box input.copy-field").wait_for()
    second = page.locator("#link-box input.copy-field").input_value()
    assert second == first and re.search(r"/s/[A-Za-z0-9_-]{43,}$", first)

    phone = browser.new_context(locale="zh-CN", is_mobile=True, viewport={"width": 390, "height": 844})
    try:
        client_page = phone.new_page()
        client_page.goto(first)  # the copy the client received first
        assert client_page.url.endswith("/survey")
        assert client_page.locator("#question-attitude").count() == 1
    finally:
        phone.close()


def test_an_english_contact_gets_english_and_can_switch_to_chinese(browser, page, login, make, db):
    pm, project, wang, alice = _round_with_contacts(make, db)
    login("pm_zhao", factories.PASSWORD)
    _open_round(page, project, [wang, alice])
    page.locator("#round-status tr:has-text('Alice Chen') button", has_text=re.compile("显示链接|Show link")).click()
    link = page.locator("#link-box input.copy-field").input_value()

    laptop = browser.new_context(locale="zh-CN")  # a Chinese browser: the form follows the contact
    try:
        client_page = laptop.new_page()
        client_page.goto(link)
        assert client_page.locator("html").get_attribute("lang") == "en"
        assert "How satisfied are you" in client_page.locator("#question-attitude").inner_text()
        client_page.locator("#question-attitude label.option", has_text="Satisfied").first.click()
        client_page.locator("button", has_text="切换到中文版").click()
        client_page.wait_for_url("**/survey")
        assert client_page.locator("html").get_attribute("lang") == "zh-CN"
        assert "您对我们的服务态度" in client_page.locator("#question-attitude").inner_text()
        assert client_page.locator("input[name=q_attitude]:checked").count() == 1  # the answer went along
        client_page.locator("button.survey-submit").click()
        client_page.wait_for_url("**/survey/thanks")
    finally:
        laptop.close()
