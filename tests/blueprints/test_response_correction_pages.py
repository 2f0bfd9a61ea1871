"""Correcting a staff-entered form through its page (issue 13 §1): the quality department sees the
link on the response page, the form comes pre-filled, a missing reason or a bad answer comes back
422 beside its field, success redirects with a flash. A PM is refused (403). A form the client
filled in online has no correction page at all: 404, as for a page that does not exist (not 403,
which would say "exists, but not for you" to the very department that corrects forms)."""
from datetime import datetime

import pytest

from portal.models import Response
from portal.services.answers import parse_answers
from portal.services.responses import submit_response

TYPED = {"q_attitude": "5", "q_timeliness": "4", "q_technical": "8"}
MEANT = {**TYPED, "q_attitude": "4"}
REASON = "录入时把“较满意”误录为“满意”"


@pytest.fixture
def forms(make, db):
    make.user("cp_quality", roles=("quality",))
    pm = make.user("cp_pm", roles=("pm",))
    project = make.project(pm=pm)
    version = make.template_version()
    contact = make.contact(project.client, name="王建国")
    made = {}
    for channel in ("paper", "online"):
        parsed = parse_answers(version, TYPED, complete=True)
        made[channel] = submit_response(version, parsed, channel=channel, project=project, contact=contact,
                                        entered_by=pm if channel == "paper" else None,
                                        submitted_at=datetime(2026, 11, 10, 2, 0))
    db.session.commit()
    return {channel: r.id for channel, r in made.items()}


def url(response_id):
    return f"/responses/{response_id}/correct"


def test_quality_corrects_a_paper_form_through_the_page(client, auth, forms, db):
    auth.login("cp_quality")
    detail = client.get(f"/responses/{forms['paper']}").get_data(as_text=True)
    assert f'href="{url(forms["paper"])}"' in detail
    page = client.get(url(forms["paper"]))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="reason"' in html
    assert 'name="q_attitude" value="5" checked' in html  # pre-filled with the recorded answers
    done = client.post_form(url(forms["paper"]), {**MEANT, "reason": REASON}, token_from=url(forms["paper"]))
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/responses/{forms['paper']}")
    db.session.expire_all()
    response = db.session.get(Response, forms["paper"])
    assert response.edit_count == 1 and {a.question.code: a.raw_value for a in response.answers}["attitude"] == 4
    shown = client.get(f"/responses/{forms['paper']}").get_data(as_text=True)
    assert "The answers were corrected" in shown and 'data-edit-count="1"' in shown
    assert 'id="corrections"' in shown and REASON in shown and "较满意 (4)" in shown


def test_an_htmx_correction_redirects_with_hx_redirect(client, auth, forms):
    auth.login("cp_quality")
    fragment = client.get(url(forms["paper"]), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'id="correct-answers"' in fragment
    done = client.post_form(url(forms["paper"]), {**MEANT, "reason": REASON}, htmx=True,
                            token_from=url(forms["paper"]))
    assert done.status_code == 204 and done.headers["HX-Redirect"].endswith(f"/responses/{forms['paper']}")


def test_a_missing_reason_comes_back_422_beside_the_field(client, auth, forms, db):
    auth.login("cp_quality")
    refused = client.post_form(url(forms["paper"]), {**MEANT, "reason": "  "}, token_from=url(forms["paper"]))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="err-reason"' in html
    assert 'name="q_attitude" value="4" checked' in html  # what was typed is kept
    db.session.expire_all()
    assert db.session.get(Response, forms["paper"]).edit_count == 0


@pytest.mark.parametrize("answers, where", [({**MEANT, "q_attitude": "9"}, 'id="error-attitude"'),
                                            (TYPED, "nothing to correct")])
def test_a_bad_or_unchanged_answer_comes_back_422(client, auth, forms, db, answers, where):
    auth.login("cp_quality")
    refused = client.post_form(url(forms["paper"]), {**answers, "reason": REASON}, token_from=url(forms["paper"]))
    assert refused.status_code == 422 and where in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Response, forms["paper"]).edit_count == 0


def test_a_pm_is_refused(client, auth, forms):
    auth.login("cp_pm")
    assert url(forms["paper"]) not in client.get(f"/responses/{forms['paper']}").get_data(as_text=True)
    assert client.get(url(forms["paper"])).status_code == 403
    assert client.post_form(url(forms["paper"]), {**MEANT, "reason": REASON}, token_from="/").status_code == 403


def test_an_online_form_has_no_correction_page(client, auth, forms):
    auth.login("cp_quality")
    assert url(forms["online"]) not in client.get(f"/responses/{forms['online']}").get_data(as_text=True)
    assert client.get(url(forms["online"])).status_code == 404
    assert client.post_form(url(forms["online"]), {**MEANT, "reason": REASON}, token_from="/").status_code == 404


def test_the_queue_shows_and_filters_the_corrected_form(client, auth, forms):
    auth.login("cp_quality")
    client.post_form(url(forms["paper"]), {**MEANT, "reason": REASON}, token_from=url(forms["paper"]))
    edited = client.get("/verification/?quarter=2026Q4&flag=edited").get_data(as_text=True)
    assert f'data-response="{forms["paper"]}"' in edited and f'data-response="{forms["online"]}"' not in edited
    assert 'data-flag="edited"' in edited and "(corrected 1×)" in edited
