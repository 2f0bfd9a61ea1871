"""Error answers: a page for a browser, the message fragment alone for htmx (static/js/app.js shows
it in the #toasts region), each with its status and a message that says what happened."""
import pytest
from flask import render_template

HX = {"HX-Request": "true"}
FALLBACK = "Something went wrong on our side."


def _is_fragment(html):
    return "<html" not in html and 'id="toasts"' not in html and "data-message" in html


def test_htmx_request_for_a_missing_page_gets_the_fragment_with_404(client):
    response = client.get("/no/such/page", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert _is_fragment(html)
    assert "<h1>404</h1>" in html and "This page does not exist." in html


def test_plain_request_for_a_missing_page_gets_the_full_page(client):
    response = client.get("/no/such/page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<html" in html and 'id="toasts"' in html and "This page does not exist." in html


def test_htmx_request_without_the_role_gets_the_403_fragment(client, make, auth):
    make.user("pm1", roles=("pm",))
    auth.login("pm1")
    version = make.template_version()
    response = client.get(f"/questionnaires/versions/{version.id}", headers=HX)  # the editor: quality only
    html = response.get_data(as_text=True)
    assert response.status_code == 403 and _is_fragment(html)
    assert "You do not have access to this page." in html


def test_htmx_post_without_csrf_token_gets_the_400_fragment(client, make, auth):
    make.user("q1", roles=("quality",))
    auth.login("q1")
    version = make.template_version()
    question = version.questions[0]
    response = client.post(f"/questionnaires/versions/{version.id}/questions/{question.id}/delete", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and _is_fragment(html)
    assert "the form may have expired" in html


@pytest.mark.parametrize("status", [400, 403, 404, 405, 409, 413, 422, 429])
def test_every_status_the_portal_answers_has_its_own_message(app, status):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        html = render_template("errors/_message.html", status=status)
    assert f"<h1>{status}</h1>" in html and FALLBACK not in html


def test_a_server_error_says_it_was_logged(app):
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        html = render_template("errors/_message.html", status=500)
    assert "<h1>500</h1>" in html and FALLBACK not in html and "已记录" in html


def test_htmx_draft_without_a_survey_session_carries_the_invalid_link_message(client):
    """The client's pages are their own message: app.js shows their [data-message] part."""
    response = client.post_form("/survey/draft", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "data-message" in html and "This link is not valid or has expired" in html


def test_htmx_draft_with_an_expired_form_carries_the_expired_message(client):
    response = client.post("/survey/draft", headers=HX)  # no CSRF token
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "data-message" in html and "This page has expired" in html
