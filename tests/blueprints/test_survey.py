"""The client's questionnaire over HTTP: link → session, draft, submit once, opt out (DESIGN §4.1.3)."""
import re
from datetime import timedelta

import pytest

from portal.extensions import db as _db
from portal.models import AuditEvent, Invitation, Response
from portal.models.base import utcnow
from portal.services.answers import parse_answers
from portal.services.responses import submit_response
from tests.querycount import count_statements, statements_of_request
from tests.texts import zh, zh_prefix

ANSWERS = {"q_attitude": "4", "q_timeliness": "na", "q_technical": "8", "q_opinion": "响应很快"}
CSRF_IN_PAGE = re.compile(r'"X-CSRFToken": "[^"]+"|(name="csrf_token"[^>]*value=)"[^"]+"')


def _open(client, token):
    response = client.get(f"/s/{token}")
    assert response.status_code == 303, response.status_code
    return response


def _post(client, url, data=None, htmx=False, **kwargs):
    """POST with the CSRF token a client finds on its questionnaire page."""
    return client.post_form(url, data, htmx=htmx, token_from="/survey", **kwargs)


def _question_block(html, code):
    """The <fieldset> of one question, so errors are checked *beside* it."""
    anchor = html.index(f'id="question-{code}"')
    return html[html.rindex("<fieldset", 0, anchor):html.index("</fieldset>", anchor)]


def _without_csrf(html):
    return CSRF_IN_PAGE.sub("CSRF", html)


# --- the link --------------------------------------------------------------

def test_link_drops_token_from_address_bar_and_shows_the_form(client, make, db):
    project = make.project(name="数据中心运维")
    inv, token = make.invitation(project_=project)
    response = _open(client, token)
    assert response.headers["Location"] == "/survey"
    assert token not in response.headers["Location"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = client.get("/survey")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert token not in html
    assert "数据中心运维" in html and project.client.name in html
    assert "服务态度" in html and 'name="q_attitude"' in html
    assert 'class="mainnav"' not in html and "/logout" not in html  # no staff chrome
    assert db.session.get(Invitation, inv.id).opened_at is not None


def test_opened_at_is_recorded_only_the_first_time(client, make, db):
    inv, token = make.invitation()
    _open(client, token)
    first = db.session.get(Invitation, inv.id).opened_at
    _open(client.application.test_client(), token)
    assert db.session.get(Invitation, inv.id).opened_at == first


def _used(make):
    inv, token = make.invitation()
    version = inv.round.template_version
    parsed = parse_answers(version, ANSWERS, complete=True)
    submit_response(version, parsed, channel="online", project=inv.round.project, origin=inv)
    _db.session.commit()
    return token


def _expired(make):
    return make.invitation(expires_at=utcnow() - timedelta(minutes=1))[1]


def _opted_out(make):
    inv, token = make.invitation()
    inv.contact.opted_out = True
    _db.session.commit()
    return token


def _closed_round(make):
    inv, token = make.invitation()
    inv.round.closed_at = utcnow()
    _db.session.commit()
    return token


def test_every_bad_link_gets_the_same_page(client, make):
    """Unknown, used, expired, opted out, closed round: same status, byte-identical body."""
    tokens = {"unknown": "A" * 43, "malformed": "not a token!", "used": _used(make),
              "expired": _expired(make), "opted_out": _opted_out(make), "closed": _closed_round(make)}
    pages = {}
    for kind, token in tokens.items():
        response = client.get(f"/s/{token}")
        assert response.status_code == 404, kind
        assert response.headers["Referrer-Policy"] == "no-referrer"
        pages[kind] = _without_csrf(response.get_data(as_text=True))
    assert len(set(pages.values())) == 1, [k for k in pages if pages[k] != pages["unknown"]]
    assert "Link not valid" in pages["unknown"]  # an unknown link has no template: browser language


def test_without_a_survey_session_the_form_is_the_same_invalid_page(client, make):
    unknown = client.get("/s/" + "B" * 43)
    page = client.get("/survey")
    assert page.status_code == 404
    assert _without_csrf(page.get_data(as_text=True)) == _without_csrf(unknown.get_data(as_text=True))


def test_survey_session_ends_after_its_minutes(client, make, app, monkeypatch):
    inv, token = make.invitation()
    monkeypatch.setitem(app.config, "SURVEY_SESSION_MINUTES", 0)
    _open(client, token)
    assert client.get("/survey").status_code == 404
    monkeypatch.setitem(app.config, "SURVEY_SESSION_MINUTES", 120)
    _open(client, token)  # the link itself is still good
    assert client.get("/survey").status_code == 200


def test_link_expiring_while_the_form_is_open_ends_the_session(client, make, db):
    inv, token = make.invitation()
    _open(client, token)
    db.session.get(Invitation, inv.id).expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/survey").status_code == 404
    assert _post(client, "/survey/submit", ANSWERS).status_code == 404
    assert db.session.query(Response).count() == 0


def test_guessing_tokens_is_rate_limited(client, make, app, monkeypatch):
    monkeypatch.setitem(app.config, "SURVEY_RATE_LIMIT", "5 per minute")
    inv, token = make.invitation()
    for i in range(5):
        assert client.get(f"/s/{'C' * 42}{i}").status_code == 404
    blocked = client.get(f"/s/{token}")  # failed lookups used up the budget, even for a good link
    assert blocked.status_code == 429
    assert blocked.headers["Referrer-Policy"] == "no-referrer"
    assert token not in blocked.get_data(as_text=True)


def test_raw_token_is_never_stored(client, make, db):
    inv, token = make.invitation()
    _open(client, token)
    _post(client, "/survey/draft", {"q_attitude": "5"})
    _post(client, "/survey/submit", ANSWERS)
    stored = db.session.get(Invitation, inv.id)
    assert stored.token_hash != token and len(stored.token_hash) == 64
    for table in _db.metadata.sorted_tables:
        for row in db.session.execute(table.select()):
            assert token not in repr(tuple(row)), table.name


# --- draft -----------------------------------------------------------------

def test_draft_is_saved_and_shown_when_the_link_is_opened_again(client, app, make, db):
    inv, token = make.invitation()
    _open(client, token)
    response = _post(client, "/survey/draft", {"q_attitude": "5", "q_opinion": "还不错", "q_technical": ""})
    assert response.status_code == 303 and response.headers["Location"] == "/survey"
    stored = db.session.get(Invitation, inv.id)
    assert stored.draft == {"q_attitude": "5", "q_opinion": "还不错"}
    assert stored.draft_saved_at is not None
    assert db.session.query(AuditEvent).filter_by(action="survey_draft_saved").count() == 1

    other_browser = app.test_client()
    _open(other_browser, token)
    html = other_browser.get("/survey").get_data(as_text=True)
    assert 'name="q_attitude" value="5" checked' in html
    assert "还不错</textarea>" in html
    assert 'id="draft-status"' in html and zh_prefix("Draft saved at %(time)s", "time") in html


def test_draft_over_htmx_returns_only_the_status_line(client, make, db):
    inv, token = make.invitation()
    _open(client, token)
    response = _post(client, "/survey/draft", {"q_attitude": "3"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.startswith('<p id="draft-status"') and "<html" not in html
    assert re.search(re.escape(zh_prefix("Draft saved at %(time)s", "time")) + r"\d\d:\d\d", html)
    assert db.session.get(Invitation, inv.id).draft == {"q_attitude": "3"}


@pytest.mark.parametrize("htmx", [False, True])
def test_draft_with_an_impossible_value_is_refused_beside_the_question(client, make, db, htmx):
    inv, token = make.invitation()
    _open(client, token)
    response = _post(client, "/survey/draft", {"q_attitude": "9", "q_opinion": "草稿"}, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert zh("Please pick one of the options.") in _question_block(html, "attitude")
    assert "草稿</textarea>" in html  # what they typed is kept on screen
    assert ("<html" in html) is not htmx
    if htmx:
        assert response.headers["HX-Retarget"] == "#survey-form"
        assert response.headers["HX-Reswap"] == "outerHTML"
    assert db.session.get(Invitation, inv.id).draft is None


# --- submit ----------------------------------------------------------------

def test_submit_creates_exactly_one_online_response(client, make, db):
    inv, token = make.invitation()
    _open(client, token)
    response = _post(client, "/survey/submit", ANSWERS, headers={"User-Agent": "PhoneBrowser/1.0"})
    assert response.status_code == 303 and response.headers["Location"] == "/survey/thanks"
    thanks = client.get("/survey/thanks")
    assert thanks.status_code == 200 and zh("Thank you") in thanks.get_data(as_text=True)

    stored = db.session.get(Invitation, inv.id)
    responses = db.session.query(Response).all()
    assert len(responses) == 1
    (r,) = responses
    assert (r.channel, r.invitation_id, r.contact_id, r.round_id) == ("online", inv.id, inv.contact_id, inv.round_id)
    assert r.started_at == stored.opened_at and r.user_agent == "PhoneBrowser/1.0"
    assert r.client_ip == "127.0.0.1"
    assert {a.question.code for a in r.answers} == {"attitude", "timeliness", "technical", "opinion"}
    assert stored.used_at is not None and stored.draft is None
    assert db.session.query(AuditEvent).filter_by(action="survey_submitted", object_id=str(r.id)).count() == 1


def test_link_is_dead_after_submit(client, app, make):
    inv, token = make.invitation()
    _open(client, token)
    _post(client, "/survey/submit", ANSWERS)
    assert app.test_client().get(f"/s/{token}").status_code == 404
    assert client.get(f"/s/{token}").status_code == 404


def test_second_submit_gets_already_submitted(client, make, db):
    inv, token = make.invitation()
    _open(client, token)
    csrf = client.csrf_token("/survey")
    cookie = client.get_cookie("portal_session").value
    first = client.post("/survey/submit", data={**ANSWERS, "csrf_token": csrf})
    assert first.status_code == 303

    client.set_cookie("portal_session", cookie)  # the double click / replayed request
    replay = client.post("/survey/submit", data={**ANSWERS, "csrf_token": csrf})
    assert replay.status_code == 409
    assert zh("This questionnaire has already been submitted") in replay.get_data(as_text=True)

    again = client.post("/survey/submit", data={**ANSWERS, "csrf_token": csrf})  # cookie after the 409
    assert again.status_code == 409
    assert client.get("/survey").status_code == 409
    assert db.session.query(Response).count() == 1


def test_missing_required_answer_is_shown_beside_the_question(client, make, db):
    inv, token = make.invitation()
    _open(client, token)
    data = dict(ANSWERS)
    del data["q_technical"]
    response = _post(client, "/survey/submit", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    block = _question_block(html, "technical")
    assert "has-error" in block.split(">", 1)[0] and zh("Please answer this question.") in block
    assert "has-error" not in _question_block(html, "attitude")
    assert 'name="q_attitude" value="4" checked' in html
    assert db.session.query(Response).count() == 0
    assert db.session.get(Invitation, inv.id).used_at is None


def test_submit_needs_the_csrf_token(client, make, db):
    inv, token = make.invitation()
    _open(client, token)
    response = client.post("/survey/submit", data=ANSWERS)
    assert response.status_code == 400
    assert db.session.query(Response).count() == 0


def test_buttons_are_safe_against_double_clicks(client, make):
    inv, token = make.invitation()
    _open(client, token)
    html = client.get("/survey").get_data(as_text=True)
    form = html[html.index('<form id="survey-form"'):html.index("</form>", html.index('id="survey-form"'))]
    assert "data-disable-on-submit" in form  # static/js/app.js disables Submit while it runs
    assert 'hx-disabled-elt="this"' in form
    assert "<script" not in html.split("</head>", 1)[1]  # CSP: no inline script


# --- language ---------------------------------------------------------------

@pytest.mark.parametrize("language, html_lang", [("en", 'lang="en"'), ("zh", 'lang="zh-CN"')])
def test_page_follows_the_template_language_not_the_browser(client, make, language, html_lang):
    version = make.template_version(language=language)
    inv, token = make.invitation(version=version)
    _open(client, token)
    browser = "zh-CN" if language == "en" else "en-US"
    html = client.get("/survey", headers={"Accept-Language": browser}).get_data(as_text=True)
    assert html_lang in html.split(">", 2)[1]


# --- opt-out ----------------------------------------------------------------

def test_opt_out_asks_first_then_stops_questionnaires(client, make, db):
    inv, token = make.invitation()
    _open(client, token)
    assert 'href="/survey/opt-out"' in client.get("/survey").get_data(as_text=True)
    confirm = client.get("/survey/opt-out")
    assert confirm.status_code == 200 and 'action="/survey/opt-out"' in confirm.get_data(as_text=True)
    assert db.session.get(Invitation, inv.id).contact.opted_out is False

    done = _post(client, "/survey/opt-out")
    assert done.status_code == 200
    assert zh("You will not receive further questionnaires") in done.get_data(as_text=True)
    contact = db.session.get(Invitation, inv.id).contact
    assert contact.opted_out and contact.opted_out_at is not None
    assert db.session.query(AuditEvent).filter_by(
        action="contact_opted_out", object_type="Contact", object_id=str(contact.id)).count() == 1
    assert client.get("/survey").status_code == 404  # session cleared
    assert client.get(f"/s/{token}").status_code == 404  # and the link is dead


def test_opt_out_without_a_session_changes_nothing(client, make, db):
    inv, token = make.invitation()
    response = client.post_form("/survey/opt-out", token_from="/login")
    assert response.status_code == 404
    assert db.session.get(Invitation, inv.id).contact.opted_out is False



def test_the_form_and_its_submit_cost_a_fixed_few_statements(client, make, db):
    """The public form is the one page clients load by the thousand at the quarter's end, and its
    submit the one write (issue 15: ≥ 100 submits/s): the invitation with its round, contact,
    project and versions is read once, its row locked and re-checked in one statement."""
    inv, token = make.invitation()
    _open(client, token)
    csrf = client.csrf_token("/survey")
    form, form_statements = statements_of_request(client, "/survey")
    assert form.status_code == 200
    assert len(form_statements) <= 5, form_statements.report()
    satisfied = {"q_attitude": "5", "q_timeliness": "5", "q_technical": "9"}
    db.session.commit()
    with count_statements(db.engine) as submit_statements:
        submitted = client.post("/survey/submit", data={**satisfied, "csrf_token": csrf})
    assert submitted.status_code == 303
    # (SQLite inserts the answers one by one, PostgreSQL in one statement: they are not counted)
    submit_statements[:] = [s for s in submit_statements if not s.startswith("INSERT INTO answers")]
    assert len(submit_statements) <= 12, submit_statements.report()  # 33 before issue 15
    assert db.session.query(Response).filter_by(invitation_id=inv.id).count() == 1
