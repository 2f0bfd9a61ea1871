"""The PDFs are reachable from the pages a person uses: round status, response, questionnaire."""
import re

from portal.services.answers import parse_answers
from portal.services.responses import submit_response


def _href(html, pattern):
    match = re.search(pattern, html)
    assert match, f"no link matching {pattern}"
    return match.group(0).replace("&amp;", "&")


def _is_pdf(response):
    return response.status_code == 200 and response.mimetype == "application/pdf" \
        and response.data.startswith(b"%PDF")


def test_pm_prints_a_contacts_form_from_the_round_page(client, auth, make, db):
    inv, old_token = make.invitation()
    old_hash = inv.token_hash
    auth.login(inv.round.project.pm.username)
    page = f"/rounds/{inv.round_id}"
    html = client.get(page).get_data(as_text=True)
    action = _href(html, rf"/pdf/invitations/{inv.id}/form\.pdf")
    assert _is_pdf(client.get(_href(html, r"/pdf/template-versions/\d+/blank\.pdf")))
    printed = client.post_form(action, {"next": page}, token_from=page)
    assert _is_pdf(printed)
    db.session.refresh(inv)
    assert inv.token_hash == old_hash  # printing carries the contact's one link: nothing dies


def test_response_page_links_its_archive_copy(client, auth, make, db):
    inv, _ = make.invitation()
    version = inv.round.template_version
    parsed = parse_answers(version, {"q_attitude": "5", "q_timeliness": "4", "q_technical": "9"}, complete=True)
    response = submit_response(version, parsed, channel="online", project=inv.round.project, origin=inv)
    db.session.commit()
    auth.login(inv.round.project.pm.username)
    html = client.get(f"/responses/{response.id}").get_data(as_text=True)
    assert _is_pdf(client.get(_href(html, rf"/pdf/responses/{response.id}\.pdf")))


def test_questionnaire_preview_links_the_blank_form(client, auth, make):
    version = make.template_version()
    make.user("q", roles=("quality",))
    auth.login("q")
    html = client.get(f"/questionnaires/versions/{version.id}/preview").get_data(as_text=True)
    assert _is_pdf(client.get(_href(html, rf"/pdf/template-versions/{version.id}/blank\.pdf")))
