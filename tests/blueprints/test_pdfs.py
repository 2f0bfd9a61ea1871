"""The questionnaire PDFs over HTTP: who may fetch which, the headers, and the printed
form's fresh link (DESIGN §4.1.2, §7)."""
import re
from urllib.parse import quote

import pytest
from flask_babel import force_locale
from markupsafe import escape

from portal.models import AuditEvent, Invitation
from portal.services.answers import parse_answers
from portal.services.responses import submit_response
from portal.services.invitations import link_problem
from portal.services.survey import find_valid_invitation

from .. import pdftools

ANSWERS = {"q_attitude": "5", "q_timeliness": "4", "q_technical": "9", "q_opinion": "很好"}


def _response_of(make, db, pm, channel="paper"):
    version = make.template_version()
    project = make.project(pm=pm)
    parsed = parse_answers(version, ANSWERS, complete=True)
    response = submit_response(version, parsed, channel=channel, project=project, entered_by=pm)
    db.session.commit()
    return response


def _assert_pdf(response, filename):
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline; ")
    assert f"filename*=UTF-8''{quote(filename, safe='')}" in disposition
    ascii_name = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert ascii_name.isascii() and ascii_name.endswith(".pdf")
    assert "no-store" in response.headers["Cache-Control"]
    assert pdftools.embedded_cjk_fonts(response.data)


# --- blank form ----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["quality", "pmo", "pm", "sales", "exec"])
def test_blank_form_for_the_roles_that_hand_out_paper(client, auth, make, role):
    version = make.template_version(name="季度问卷")
    make.user("someone", roles=(role,))
    auth.login("someone")
    response = client.get(f"/pdf/template-versions/{version.id}/blank.pdf")
    _assert_pdf(response, "questionnaire-季度问卷-v1.pdf")
    assert 'filename="questionnaire-v1.pdf"' in response.headers["Content-Disposition"]
    assert "服务态度" in pdftools.text(response.data)


def test_blank_form_is_refused_to_the_archive_role_and_anonymous(client, auth, make):
    version = make.template_version()
    url = f"/pdf/template-versions/{version.id}/blank.pdf"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    make.user("keeper", roles=("archive",))
    auth.login("keeper")
    assert client.get(url).status_code == 403
    assert client.get("/pdf/template-versions/999999/blank.pdf").status_code == 403


def test_missing_version_is_404(client, auth, make):
    make.user("qa", roles=("quality",))
    auth.login("qa")
    assert client.get("/pdf/template-versions/999999/blank.pdf").status_code == 404


# --- a contact's printed form --------------------------------------------------------------

def _printed_link(pdf_bytes):
    text = re.sub(r"\s+", "", pdftools.text(pdf_bytes))
    return re.search(r"https?://[^/]+/s/([A-Za-z0-9_-]{43})", text).group(1)


def test_printing_a_contacts_form_carries_the_contacts_one_link_in_its_qr(client, auth, make, db):
    pm = make.user("pm_a", roles=("pm",))
    project = make.project(pm=pm, code="P-0042")
    contact = make.contact(project.client, name="陈晓明")
    invitation, token = make.invitation(contact_=contact, project_=project)
    auth.login("pm_a")
    response = client.post_form(f"/pdf/invitations/{invitation.id}/form.pdf", token_from="/")
    quarter = invitation.round.quarter
    _assert_pdf(response, f"questionnaire-P-0042-{quarter}-陈晓明.pdf")
    assert _printed_link(response.data) == token  # the link the contact may already have
    again = client.post_form(f"/pdf/invitations/{invitation.id}/form.pdf", token_from="/")
    assert _printed_link(again.data) == token
    assert find_valid_invitation(token).id == invitation.id
    text = pdftools.text(response.data)
    assert "陈晓明" in text and project.client.name in text
    assert db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "link_issued")).all() == []


def test_another_pm_cannot_print_or_rotate_the_link(client, auth, make, db):
    invitation, old_token = make.invitation()
    make.user("pm_other", roles=("pm",))
    auth.login("pm_other")
    response = client.post_form(f"/pdf/invitations/{invitation.id}/form.pdf", token_from="/")
    assert response.status_code == 403
    assert find_valid_invitation(old_token) is not None


@pytest.mark.parametrize("role", ["quality", "pmo", "sales"])
def test_only_the_rounds_pm_prints_contact_forms(client, auth, make, role):
    invitation, old_token = make.invitation()
    make.user("wide", roles=(role,))
    auth.login("wide")
    response = client.post_form(f"/pdf/invitations/{invitation.id}/form.pdf", token_from="/")
    assert response.status_code == 403
    assert find_valid_invitation(old_token) is not None


def test_printing_needs_a_post_with_csrf(client, auth, make):
    invitation, old_token = make.invitation()
    auth.login(invitation.round.project.pm.username)
    url = f"/pdf/invitations/{invitation.id}/form.pdf"
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 400  # no CSRF token
    assert find_valid_invitation(old_token) is not None


def test_no_link_is_printed_for_an_answered_invitation(client, auth, make, db):
    invitation, token = make.invitation()
    version = invitation.round.template_version
    submit_response(version, parse_answers(version, ANSWERS, complete=True), channel="online",
                    project=invitation.round.project, origin=invitation)
    db.session.commit()
    before = invitation.token_hash
    auth.login(invitation.round.project.pm.username)
    response = client.post_form(f"/pdf/invitations/{invitation.id}/form.pdf",
                                {"next": "/projects"}, token_from="/")
    assert response.status_code == 303 and response.headers["Location"] == "/projects"
    assert db.session.get(Invitation, invitation.id).token_hash == before
    with force_locale("zh"):
        reason = str(escape(link_problem(db.session.get(Invitation, invitation.id))))
    assert reason in client.get("/").get_data(as_text=True)  # the reason is flashed


def test_failed_print_never_redirects_off_site(client, auth, make, db):
    invitation, _token = make.invitation()
    invitation.contact.opted_out = True
    db.session.commit()
    auth.login(invitation.round.project.pm.username)
    response = client.post_form(f"/pdf/invitations/{invitation.id}/form.pdf",
                                {"next": "https://evil.example/"}, token_from="/")
    assert response.status_code == 303 and response.headers["Location"] == "/"


# --- archive copy --------------------------------------------------------------------------

def test_pm_gets_the_archive_copy_of_their_response(client, auth, make, db):
    pm = make.user("pm_a", roles=("pm",))
    response = _response_of(make, db, pm)
    auth.login("pm_a")
    result = client.get(f"/pdf/responses/{response.id}.pdf")
    _assert_pdf(result, f"response-{response.id}-{response.project.code}-{response.quarter}.pdf")
    assert "很好" in pdftools.text(result.data)


def test_pm_b_cannot_fetch_pm_as_response(client, auth, make, db):
    response = _response_of(make, db, make.user("pm_a", roles=("pm",)))
    make.user("pm_b", roles=("pm",))
    auth.login("pm_b")
    result = client.get(f"/pdf/responses/{response.id}.pdf")
    assert result.status_code == 403
    assert not result.data.startswith(b"%PDF")
    denied = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "access_denied")).all()
    assert any(e.username == "pm_b" for e in denied)


@pytest.mark.parametrize("role", ["quality", "pmo", "exec"])
def test_wide_roles_read_every_archive_copy(client, auth, make, db, role):
    response = _response_of(make, db, make.user("pm_a", roles=("pm",)))
    make.user("reader", roles=(role,))
    auth.login("reader")
    assert client.get(f"/pdf/responses/{response.id}.pdf").status_code == 200


def test_sales_owner_reads_their_projects_archive_copy_but_not_others(client, auth, make, db):
    sales = make.user("sales_a", roles=("sales",))
    mine = _response_of(make, db, make.user(roles=("pm",)))
    mine.project.sales_id = sales.id
    db.session.commit()
    other = _response_of(make, db, make.user(roles=("pm",)))
    auth.login("sales_a")
    assert client.get(f"/pdf/responses/{mine.id}.pdf").status_code == 200
    assert client.get(f"/pdf/responses/{other.id}.pdf").status_code == 403


def test_archive_copy_needs_a_login(client, make, db):
    response = _response_of(make, db, make.user(roles=("pm",)))
    result = client.get(f"/pdf/responses/{response.id}.pdf")
    assert result.status_code == 302 and "/login" in result.headers["Location"]
    assert client.get("/pdf/responses/999999.pdf").status_code == 302


def test_archive_role_sees_no_project_so_no_archive_copy(client, auth, make, db):
    response = _response_of(make, db, make.user(roles=("pm",)))
    make.user("keeper", roles=("archive",))
    auth.login("keeper")
    assert client.get(f"/pdf/responses/{response.id}.pdf").status_code == 403
