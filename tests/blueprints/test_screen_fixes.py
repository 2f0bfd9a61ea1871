"""Issue 8, item 8: small things seen on the screens (survey errors after a draft, the comment
limit, the questionnaire drop-down, links on the quarter overview and for sales, demo logins, Home)."""
import re
from pathlib import Path

import pytest

from portal.extensions import db as _db
from portal.services.answers import TEXT_LIMIT, parse_answers
from portal.services.responses import submit_response
from tests.texts import zh

from ..rounds_world import build_world

ROOT = Path(__file__).resolve().parents[2]
HREF_RE = re.compile(r'href="([^"]+)"')


def _survey(client, make, **kwargs):
    inv, token = make.invitation(**kwargs)
    assert client.get(f"/s/{token}").status_code == 303
    return inv


def _draft(client, data, htmx=True):
    return client.post_form("/survey/draft", data, htmx=htmx, token_from="/survey")


def _question_block(html, code):
    anchor = html.index(f'id="question-{code}"')
    return html[html.rindex("<fieldset", 0, anchor):html.index("</fieldset>", anchor)]


# --- 1. a saved draft clears the messages of a refused one ---------------------------------------

def test_draft_saved_after_a_refused_one_clears_the_messages_and_keeps_the_values(client, make, db):
    _survey(client, make)
    refused = _draft(client, {"q_attitude": "9", "q_opinion": "草稿"})
    refused_html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "has-error" in refused_html
    assert '<input type="hidden" name="errors_shown" value="1">' in refused_html  # sent with the next save

    saved = _draft(client, {"q_attitude": "4", "q_opinion": "草稿", "errors_shown": "1"})
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "HX-Retarget" not in saved.headers
    assert html.startswith('<p id="draft-status"') and "<html" not in html
    answers = html[html.index('<div id="survey-answers"'):]
    assert answers.startswith('<div id="survey-answers" hx-swap-oob="true">')  # replaces the old answers
    assert "has-error" not in answers and 'role="alert"' not in answers
    assert zh("Please pick one of the options.") not in answers
    assert zh("Some answers need your attention; they are marked below.") not in answers
    assert 'name="q_attitude" value="4" checked' in _question_block(answers, "attitude")
    assert "草稿</textarea>" in answers
    assert "HX-Request" in saved.headers["Vary"]


def test_the_full_form_has_the_answers_box_the_draft_replaces(client, make, db):
    _survey(client, make)
    html = client.get("/survey").get_data(as_text=True)
    form = html[html.index('<form id="survey-form"'):html.index("</form>")]
    assert form.count('<div id="survey-answers">') == 1 and 'id="draft-status"' in form
    assert "errors_shown" not in form


def test_draft_saved_without_messages_on_screen_leaves_the_answers_alone(client, make, db):
    """Nothing to clear: only the status line, so what the client types meanwhile stays."""
    _survey(client, make)
    html = _draft(client, {"q_attitude": "4"}).get_data(as_text=True)
    assert html.startswith('<p id="draft-status"') and "survey-answers" not in html


# --- 2. the comment limit is shown, with a live counter -----------------------------------------

def test_text_answers_show_the_limit_and_a_counter_in_the_questionnaires_language(client, make, db):
    _survey(client, make)  # a Chinese questionnaire, whatever the browser asks for
    _draft(client, {"q_opinion": "还不错"}, htmx=False)
    html = client.get("/survey").get_data(as_text=True)
    block = _question_block(html, "opinion")
    assert f'maxlength="{TEXT_LIMIT}"' in block
    assert zh("At most %(n)d characters.", n=TEXT_LIMIT) in block
    assert f'<span class="char-count" id="count-q_opinion" data-limit="{TEXT_LIMIT}">3 / {TEXT_LIMIT}</span>' in block
    assert 'data-char-counter="count-q_opinion"' in block and 'aria-describedby="limit-q_opinion"' in block
    assert f'data-text="{zh("Limit reached: anything longer is cut off.")}"' in block
    assert "char-count" not in _question_block(html, "attitude")  # only under text answers
    assert '<script src="/static/js/counter.js" defer></script>' in html


def test_english_questionnaire_shows_the_limit_in_english_to_a_chinese_viewer(client, auth, make):
    make.user("q1", roles=("quality",), locale="zh")
    auth.login("q1")
    version = make.template_version(language="en")
    html = client.get(f"/questionnaires/versions/{version.id}/preview").get_data(as_text=True)
    assert f"At most {TEXT_LIMIT} characters." in html and f"0 / {TEXT_LIMIT}" in html


def test_counter_script_is_served(client):
    response = client.get("/static/js/counter.js")
    assert response.status_code == 200 and b"data-char-counter" in response.data
    response.close()


def test_server_still_refuses_text_over_the_limit_beside_the_question(client, make, db):
    _survey(client, make)
    response = _draft(client, {"q_opinion": "字" * (TEXT_LIMIT + 1)})
    assert response.status_code == 422
    assert zh("Please keep this under %(n)d characters.", n=TEXT_LIMIT) in _question_block(
        response.get_data(as_text=True), "opinion")


# --- 3. the filter bar's search box is styled (the layout itself: tests/browser) --------------------

def test_search_boxes_are_styled_like_the_other_inputs():
    css = (ROOT / "static/css/app.css").read_text()
    rule = next(line for line in css.splitlines() if line.startswith(".field input[type=text]"))
    assert ".field input[type=search]" in rule
    assert re.search(r"\.filters [^{]*input\[type=search\][^{]*\{[^}]*min-width", css)


# --- 4. the questionnaire drop-down speaks words, not codes ---------------------------------------

@pytest.mark.parametrize("locale, label", [("en", "运维服务季度客户满意度调查表 · 中文 · version 1"),
                                           ("zh", "运维服务季度客户满意度调查表 · 中文 · 第 1 版")])
def test_open_round_form_names_language_and_version(client, auth, make, locale, label):
    pm = make.user("pm_l", roles=("pm",), locale=locale)
    project = make.project(pm=pm)
    make.template_version(name="运维服务季度客户满意度调查表")
    auth.login("pm_l")
    html = client.get(f"/projects/{project.id}/rounds/new", headers={"Accept-Language": locale}).get_data(
        as_text=True)
    assert f">{label}</option>" in html
    assert " · zh · " not in html and " · v1" not in html


# --- 5. low scores on the quarter overview link to the response -----------------------------------

def test_low_score_row_links_project_score_and_date_to_the_response(client, auth, make, db):
    make.user("q", roles=("quality",))
    inv, _ = make.invitation()
    version = inv.round.template_version
    parsed = parse_answers(version, {"q_attitude": "2", "q_timeliness": "3", "q_technical": "3"}, complete=True)
    response = submit_response(version, parsed, channel="online", project=inv.round.project, origin=inv)
    _db.session.commit()
    code, response_id = inv.round.project.code, response.id
    auth.login("q")
    html = client.get("/").get_data(as_text=True)
    section = html[html.index('id="home-quarter"'):]
    row = next(r for r in section.split("<tr>") if code in r)
    detail = f'href="/responses/{response_id}"'
    assert row.count(detail) == 3, row
    assert f'<a href="/responses/{response_id}">{code}</a>' in row
    assert re.search(rf'<a href="/responses/{response_id}"[^>]*>\d\.\d\d</a>', row)


# --- 6. a sales user's project page has no link that refuses them --------------------------------

@pytest.fixture
def world(db):
    world = build_world()
    world.open()
    return world


def test_sales_see_the_rounds_of_their_project_without_links(client, auth, world):
    auth.login("sales_a")
    page = client.get(f"/projects/{world.project.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    panel = html[html.index('id="project-rounds"'):]
    panel = panel[:panel.index("</section>")]
    assert "/rounds/" not in panel
    assert re.search(r"<td>\d{4}Q\d", panel)  # the round is listed, as text


def test_every_link_on_a_sales_users_project_page_opens(client, auth, world):
    auth.login("sales_a")
    html = client.get(f"/projects/{world.project.id}").get_data(as_text=True)
    links = sorted({h.replace("&amp;", "&") for h in HREF_RE.findall(html)
                    if h.startswith("/") and not h.startswith("//")})
    assert links
    refused = {}
    for href in links:
        response = client.get(href)
        if response.status_code >= 400:
            refused[href] = response.status_code
        response.close()
    assert not refused, refused


def test_round_viewers_still_get_the_link_to_the_round(client, auth, world):
    auth.login("pm_a")
    html = client.get(f"/projects/{world.project.id}").get_data(as_text=True)
    panel = html[html.index('id="project-rounds"'):]
    assert re.search(r'href="/rounds/\d+"', panel[:panel.index("</section>")])


# --- 7. make run's demo logins say what exists -----------------------------------------------------

#: screens that do not exist yet (a later issue removes its word when it builds the screen)
NOT_BUILT = ("verification", "rollup", "disposal", "report", "dashboard", "supervises")


def _demo_login_lines():
    makefile = (ROOT / "Makefile").read_text()
    run = makefile[makefile.index("\nrun:"):makefile.index("\ntest:")]
    return re.findall(r'echo "(    \S[^"]*)"', run)


def test_make_run_lists_every_demo_login_of_the_readme():
    lines = _demo_login_lines()
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Demo logins"):]
    table = table[:table.index("\n## ")]
    readme_logins = set(re.findall(r"^\| `([a-z0-9]+)`(?:, `([a-z0-9]+)`)?", table, re.MULTILINE))
    make_logins = " ".join(line.strip().split("  ")[0] for line in lines)
    for pair in readme_logins:
        for login in filter(None, pair):
            assert login in make_logins, login


@pytest.mark.parametrize("word", NOT_BUILT)
def test_make_run_promises_no_screen_that_does_not_exist(word):
    assert not [line for line in _demo_login_lines() if word in line.lower()]


# --- 8. Home in the top bar, for everyone --------------------------------------------------------

def _nav(html):
    return html[html.index('<nav class="mainnav"'):html.index("</nav>")]


def test_archive_user_has_a_home_item_marked_current_on_the_home_page(client, auth, make):
    make.user("archive1", roles=("archive",))
    auth.login("archive1")
    nav = _nav(client.get("/").get_data(as_text=True))
    assert re.findall(r"<a [^>]*>([^<]+)</a>", nav) == ["Home", "Archive"]
    assert '<a href="/" aria-current="page">Home</a>' in nav


def test_home_is_not_marked_current_on_other_pages(client, auth, make):
    make.user("boss", roles=("admin",))
    auth.login("boss")
    nav = _nav(client.get("/projects/").get_data(as_text=True))
    assert '<a href="/">Home</a>' in nav
    assert nav.count('aria-current="page"') == 1 and '<a href="/projects/" aria-current="page">' in nav
