"""Issue 8, item 8, in a browser: a saved draft clears old errors, the comment counter counts live,
the filter bar lines up (desktop and phone), Home is in every top bar."""
import pytest

from portal.services.answers import TEXT_LIMIT
from tests import factories
from tests.texts import zh


def _problems(page):
    found = []
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: found.append(str(exc)))
    return found


def _real(problems):
    return [p for p in problems if "favicon" not in p and "Failed to load resource" not in p]


@pytest.fixture
def survey_page(page, make, db):
    """A client on the questionnaire form; returns (page, problems)."""
    _inv, token = make.invitation()
    db.session.commit()
    problems = _problems(page)
    page.goto(f"/s/{token}")
    page.locator("#survey-form").wait_for()
    return page, problems


def test_saving_a_good_draft_clears_the_errors_of_a_refused_one(survey_page):
    from playwright.sync_api import expect
    page, problems = survey_page
    page.fill("#q_opinion", "还可以")
    page.evaluate("""() => { const r = document.querySelector("input[name=q_attitude]");
                             r.value = "9"; r.checked = true; }""")  # a value no option offers
    page.locator("button.survey-draft").click()
    expect(page.locator("#question-attitude .errors")).to_have_text(zh("Please pick one of the options."))
    expect(page.locator(".survey-errors")).to_be_visible()

    page.locator("#question-attitude label.option", has_text="较满意").click()
    page.locator("button.survey-draft").click()
    expect(page.locator("#draft-status")).to_contain_text(":")
    expect(page.locator(".errors")).to_have_count(0)
    expect(page.locator("fieldset.has-error")).to_have_count(0)
    assert page.locator("input[name=q_attitude][value='4']").is_checked()
    assert page.input_value("#q_opinion") == "还可以"
    expect(page.locator("#count-q_opinion")).to_have_text(f"3 / {TEXT_LIMIT}")  # counting after the swap
    assert page.locator("#survey-form").count() == 1 and page.locator("#draft-status").count() == 1
    assert not _real(problems), problems


def test_comment_counter_counts_while_typing_and_marks_the_limit(survey_page):
    from playwright.sync_api import expect
    page, problems = survey_page
    count, full = page.locator("#count-q_opinion"), page.locator("#limit-q_opinion .char-full")
    expect(page.locator("#limit-q_opinion")).to_contain_text(zh("At most %(n)d characters.", n=TEXT_LIMIT))
    expect(count).to_have_text(f"0 / {TEXT_LIMIT}")
    page.locator("#q_opinion").press_sequentially("响应很快")
    expect(count).to_have_text(f"4 / {TEXT_LIMIT}")
    assert "at-limit" not in count.get_attribute("class") and full.inner_text() == ""

    page.fill("#q_opinion", "字" * (TEXT_LIMIT + 50))  # pasted too long: the browser keeps the limit
    expect(count).to_have_text(f"{TEXT_LIMIT} / {TEXT_LIMIT}")
    expect(count).to_have_class("char-count at-limit")
    expect(full).to_have_text(zh("Limit reached: anything longer is cut off."))
    assert page.evaluate("getComputedStyle(document.getElementById('count-q_opinion')).color") != \
        page.evaluate("getComputedStyle(document.querySelector('#limit-q_opinion')).color")

    page.locator("#q_opinion").press("Backspace")
    expect(count).to_have_text(f"{TEXT_LIMIT - 1} / {TEXT_LIMIT}")
    expect(full).to_have_text("")
    assert not _real(problems), problems


FILTER_BAR = """() => {
  const form = document.querySelector("form.filters");
  const search = form.querySelector("input[type=search]");
  const style = getComputedStyle(search);
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = style.font;
  const inner = search.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const bottoms = [...form.querySelectorAll(":scope > .field input, :scope > .field select, :scope > button")]
    .map((el) => el.getBoundingClientRect());
  const rows = {};
  bottoms.forEach((r) => { const k = Math.round(r.top); rows[k] = rows[k] || []; rows[k].push(Math.round(r.bottom)); });
  return {radius: style.borderTopLeftRadius, border: style.borderTopColor,
          placeholderFits: ctx.measureText(search.placeholder).width <= inner, searchWidth: search.clientWidth,
          rowsAligned: Object.values(rows).every((b) => Math.max(...b) - Math.min(...b) <= 1),
          overflow: document.documentElement.scrollWidth > window.innerWidth || form.scrollWidth > form.clientWidth};
}"""


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("path", ["/projects/", "/clients/", "/users/"])
def test_filter_bar_search_is_styled_wide_enough_and_aligned(browser, live_server, make, db, width, path):
    make.user("admin_f", roles=("admin",))
    make.project(name="数据中心运维服务")
    db.session.commit()
    context = browser.new_context(base_url=live_server, locale="en-US", viewport={"width": width, "height": 900},
                                  is_mobile=width < 640)
    page = context.new_page()
    try:
        page.goto("/login")
        page.fill("input[name=username]", "admin_f")
        page.fill("input[name=password]", factories.PASSWORD)
        page.click("button[type=submit].primary")
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto(path)
        bar = page.evaluate(FILTER_BAR)
        assert bar["radius"] == "5px" and bar["border"] == "rgb(188, 204, 220)", bar  # like the other inputs
        assert bar["placeholderFits"] and bar["searchWidth"] >= 200, bar
        assert bar["rowsAligned"], bar
        assert not bar["overflow"], bar
    finally:
        context.close()


def test_archive_user_has_home_in_the_top_bar(page, login, make):
    make.user("archive_b", roles=("archive",))
    login("archive_b", factories.PASSWORD)
    nav = page.locator("nav.mainnav a")
    assert nav.all_inner_texts() == [zh("Home"), zh("Archive")]
    assert nav.first.get_attribute("aria-current") == "page"
