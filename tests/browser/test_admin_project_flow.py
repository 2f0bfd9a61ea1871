"""Issue 2's browser flow: an admin creates a project (invalid, then valid), finds it with the
in-place search, and switches the language."""
import re

from tests import factories


def test_admin_creates_finds_project_and_switches_language(page, login, make):
    make.user("boss", roles=("admin",), display_name="管理员")
    make.user("pmx", roles=("pm",), display_name="项目经理甲")
    make.client("浦东机场信息部")
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    login("boss", factories.PASSWORD)
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    page.goto("/projects/new")
    page.fill("#code", "BR-2026-001")
    page.fill("#start_date", "2026-03-01")
    page.fill("#end_date", "2026-01-01")  # before the start, and no name/client/PM yet
    page.click("#project-form button[type=submit]")
    page.locator("#field-name .errors").wait_for()
    assert page.locator("#field-client_id .errors").is_visible()
    assert page.url.endswith("/projects/new")  # swapped in place, nothing created

    page.fill("#name", "机场网络运维")
    page.select_option("#client_id", label="浦东机场信息部")
    page.select_option("#pm_id", label="项目经理甲")
    page.click("#project-form button[type=submit]")
    page.locator("#field-end_date .errors").wait_for()  # end before start, beside the field
    assert page.locator("#field-name .errors").count() == 0
    page.fill("#end_date", "2027-03-01")
    page.click("#project-form button[type=submit]")
    page.wait_for_url(re.compile(r"/projects/\d+$"))
    assert "BR-2026-001" in page.locator("main").inner_text()

    for i in range(3):
        make.project(code=f"OTHER-{i}", name="别的项目")
    page.goto("/projects/")
    page.fill("input[name=q]", "机场网络")
    page.wait_for_function("() => !document.querySelector('#project-results').innerText.includes('OTHER-')")
    results = page.locator("#project-results").inner_text()
    assert "BR-2026-001" in results and "OTHER-0" not in results
    assert "q=" in page.url  # the search is in the address bar (hx-push-url)

    page.click("#lang-switch")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "BR-2026-001" in page.locator("#project-results").inner_text()  # same page, same filter
    page.click("#lang-switch")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
