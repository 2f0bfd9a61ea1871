"""Round screens: open a round (PM of the project only), follow it in place, show links,
outbox, paper entry with scans, response page, PM home section and project panel."""
import hashlib
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.models import Attachment, AuditEvent, OutboxMessage, Response, SurveyRound
from portal.services import rounds, survey
from portal.services.quarters import current_quarter

from ..rounds_world import ANSWERS, build_world

HX = {"HX-Request": "true"}
LINK_RE = re.compile(r"https?://[^\s\"<]+/s/([A-Za-z0-9_-]+)")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def rnd(world):
    return world.open()


def _post(client, url, data=None, htmx=False, **kwargs):
    return client.post_form(url, data or {}, htmx=htmx, token_from="/", **kwargs)


# --- opening a round -------------------------------------------------------------------------

def test_open_round_form_shows_opted_out_contacts_disabled(client, auth, world):
    auth.login("pm_a")
    page = client.get(f"/projects/{world.project.id}/rounds/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert current_quarter() in html and world.version.title in html
    opted = re.search(rf'<input[^>]*value="{world.opted_out.id}"[^>]*>', html).group(0)
    assert "disabled" in opted and "Opted out" in html
    assert "外人" not in html  # another client's contact is not offered


def test_pm_opens_a_round(client, auth, world, db):
    auth.login("pm_a")
    response = _post(client, f"/projects/{world.project.id}/rounds/new", {
        "quarter": "2026Q4", "version": world.version.id, "due_date": "2026-12-20",
        "contacts": [c.id for c in world.contacts[:2]]})
    assert response.status_code == 303
    rnd = db.session.scalar(select(SurveyRound))
    assert response.headers["Location"].endswith(f"/rounds/{rnd.id}")
    assert str(rnd.due_date) == "2026-12-20" and len(rnd.invitations) == 2


def test_open_round_errors_come_back_beside_the_fields(client, auth, world, db):
    auth.login("pm_a")
    url = f"/projects/{world.project.id}/rounds/new"
    response = _post(client, url, {"quarter": "2026Q9", "version": world.version.id,
                                   "contacts": [world.contacts[0].id]}, htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in body and 'id="round-form"' in body
    assert "Write the quarter as 2026Q4." in body
    response = _post(client, url, {"quarter": "2026Q4", "version": world.version.id,
                                   "contacts": [world.contacts[0].id, world.opted_out.id]}, htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "asked not to receive questionnaires" in body and "赵丽华" in body
    response = _post(client, url, {"quarter": "2026Q4", "version": world.version.id, "contacts": []})
    assert response.status_code == 422 and "Pick at least one contact." in response.get_data(as_text=True)
    response = _post(client, url, {"quarter": "2026Q4", "version": world.version.id,
                                   "contacts": [world.foreign.id]})
    assert response.status_code == 422
    assert db.session.scalar(select(SurveyRound.id)) is None


@pytest.mark.parametrize("username", ["pm_b", "qa", "sales_a"])
def test_only_the_projects_pm_opens_rounds(client, auth, world, db, username):
    auth.login(username)
    url = f"/projects/{world.project.id}/rounds/new"
    assert client.get(url).status_code == 403
    response = _post(client, url, {"quarter": "2026Q4", "version": world.version.id,
                                   "contacts": [world.contacts[0].id]})
    assert response.status_code == 403
    assert db.session.scalar(select(SurveyRound.id)) is None


# --- following a round -----------------------------------------------------------------------

def test_status_page_full_and_polled_fragment(client, auth, world, rnd):
    auth.login("pm_a")
    page = client.get(f"/rounds/{rnd.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert 'hx-trigger="every 10s"' in html and "Send invitations" in html and "Send reminders" in html
    assert "showing, printing or copying it again gives the same link" in html
    fragment = client.get(f"/rounds/{rnd.id}", headers=HX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and 'id="round-status"' in body
    assert "HX-Request" in fragment.headers["Vary"]
    assert all(c.name in body for c in world.contacts) and "Not sent" in body


def test_status_page_refused_to_another_pm_and_read_only_for_quality(client, auth, world, rnd):
    auth.login("pm_b")
    assert client.get(f"/rounds/{rnd.id}").status_code == 403
    assert client.get(f"/rounds/{rnd.id}", headers=HX).status_code == 403
    auth.logout()
    auth.login("qa")
    html = client.get(f"/rounds/{rnd.id}").get_data(as_text=True)
    assert "王建国" in html and "Send invitations" not in html and "Show link to copy" not in html
    assert _post(client, f"/rounds/{rnd.id}/invitations/send").status_code == 403


def test_status_shows_submitted_and_response_rate(client, auth, world, rnd, db):
    rounds.enter_paper_response(rnd.invitations[0], ANSWERS, world.pm)
    db.session.commit()
    auth.login("pm_a")
    body = client.get(f"/rounds/{rnd.id}", headers=HX).get_data(as_text=True)
    assert "33.3%" in body and "Submitted" in body and "Paper" in body


def test_send_invitations_then_copy_from_the_outbox_and_mark_sent(client, auth, world, rnd, db):
    auth.login("pm_a")
    response = _post(client, f"/rounds/{rnd.id}/invitations/send")
    assert response.status_code == 303
    assert [i.sent_count for i in rnd.invitations] == [0, 0, 0]  # waiting in the outbox is not sent
    status = client.get(f"/rounds/{rnd.id}", headers=HX).get_data(as_text=True)
    assert re.search(r'<span class="stat">0</span> sent', status)
    outbox = client.get(f"/rounds/outbox?round={rnd.id}").get_data(as_text=True)
    assert "王建国" in outbox and "Waiting in the outbox" in outbox and "Copy with link" in outbox
    message = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
    copies = [_post(client, f"/outbox/{message.id}/copy", htmx=True) for _ in range(2)]
    body = copies[0].get_data(as_text=True)
    assert copies[0].status_code == 200 and "<html" not in body and f'id="copy-{message.id}"' in body
    token = LINK_RE.search(body).group(1)
    assert LINK_RE.search(copies[1].get_data(as_text=True)).group(1) == token  # the same link again
    assert survey.find_valid_invitation(token).id == message.invitation_id
    marked = _post(client, f"/outbox/{message.id}/sent", htmx=True)
    assert marked.status_code == 200 and "Copied and sent by the PM" in marked.get_data(as_text=True)
    db.session.expire_all()
    assert message.status == "copied" and message.invitation.sent_count == 1
    status = client.get(f"/rounds/{rnd.id}", headers=HX).get_data(as_text=True)
    assert re.search(r'<span class="stat">1</span> sent', status)
    auth.logout()
    auth.login("pm_b")
    assert "王建国" not in client.get("/rounds/outbox").get_data(as_text=True)
    assert _post(client, f"/outbox/{message.id}/copy").status_code == 403
    assert _post(client, f"/outbox/{message.id}/sent").status_code == 403


def test_show_link_gives_the_same_link_until_a_new_one_is_issued(client, auth, world, rnd, db):
    auth.login("pm_a")
    invitation = rnd.invitations[0]
    first = _post(client, f"/invitations/{invitation.id}/link", htmx=True)
    body = first.get_data(as_text=True)
    assert first.status_code == 200 and 'id="link-box"' in body and "<html" not in body
    token1 = LINK_RE.search(body).group(1)
    second = _post(client, f"/invitations/{invitation.id}/link")  # plain form: full page
    assert "<html" in second.get_data(as_text=True)
    assert LINK_RE.search(second.get_data(as_text=True)).group(1) == token1
    assert second.headers["Cache-Control"] == "no-store"
    rotated = _post(client, f"/invitations/{invitation.id}/link/new", htmx=True)
    assert "the old one no longer works" in rotated.get_data(as_text=True)
    token2 = LINK_RE.search(rotated.get_data(as_text=True)).group(1)
    assert token2 != token1
    assert survey.find_valid_invitation(token1) is None
    assert survey.find_valid_invitation(token2).id == invitation.id
    auth.logout()
    auth.login("pm_b")
    assert _post(client, f"/invitations/{invitation.id}/link").status_code == 403
    assert _post(client, f"/invitations/{invitation.id}/link/new").status_code == 403


def test_send_reminders_button_reminds_non_submitters(client, auth, world, rnd, db):
    for inv in rnd.invitations:
        inv.sent_count = 1
    db.session.commit()
    rounds.enter_paper_response(rnd.invitations[0], ANSWERS, world.pm)
    db.session.commit()
    auth.login("pm_a")
    assert _post(client, f"/rounds/{rnd.id}/reminders/send").status_code == 303
    assert [[m.kind for m in i.messages] for i in rnd.invitations] == [[], ["reminder"], ["reminder"]]


def test_closing_a_round(client, auth, world, rnd):
    auth.login("pm_a")
    assert _post(client, f"/rounds/{rnd.id}/close").status_code == 303
    assert rnd.closed_at is not None
    html = client.get(f"/rounds/{rnd.id}").get_data(as_text=True)
    assert "every 10s" not in html and "Send invitations" not in html


# --- paper entry -----------------------------------------------------------------------------

def test_paper_entry_records_a_paper_response(client, auth, world, rnd, db):
    auth.login("pm_a")
    invitation = rnd.invitations[0]
    page = client.get(f"/invitations/{invitation.id}/paper")
    assert page.status_code == 200 and 'name="q_attitude"' in page.get_data(as_text=True)
    response = _post(client, f"/invitations/{invitation.id}/paper", ANSWERS)
    assert response.status_code == 303
    saved = db.session.scalar(select(Response))
    assert response.headers["Location"].endswith(f"/responses/{saved.id}")
    assert (saved.channel, saved.entered_by_id, saved.contact_id) == ("paper", world.pm.id, invitation.contact_id)


def test_paper_entry_with_missing_answers_is_422(client, auth, world, rnd, db):
    auth.login("pm_a")
    response = _post(client, f"/invitations/{rnd.invitations[0].id}/paper", {"q_attitude": "5"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Please answer this question." in body
    assert 'value="5" checked' in body  # what was typed stays
    assert db.session.scalar(select(Response.id)) is None


def test_paper_entry_twice_says_already_submitted(client, auth, world, rnd, db):
    auth.login("pm_a")
    url = f"/invitations/{rnd.invitations[0].id}/paper"
    assert _post(client, url, ANSWERS).status_code == 303
    again = _post(client, url, ANSWERS)
    assert again.status_code == 409 and "already been submitted" in again.get_data(as_text=True)
    assert len(db.session.scalars(select(Response)).all()) == 1


def test_paper_entry_refused_to_other_pm_and_quality(client, auth, world, rnd):
    for username in ("pm_b", "qa"):
        auth.login(username)
        url = f"/invitations/{rnd.invitations[0].id}/paper"
        assert client.get(url).status_code == 403
        assert _post(client, url, ANSWERS).status_code == 403
        auth.logout()


def test_scan_is_stored_by_content_and_downloaded_as_attachment(app, client, auth, world, rnd, db):
    auth.login("pm_a")
    response = _post(client, f"/invitations/{rnd.invitations[0].id}/paper",
                     {**ANSWERS, "scan": (io.BytesIO(PDF), "扫描件 form.pdf")})
    assert response.status_code == 303
    attachment = db.session.scalar(select(Attachment))
    assert attachment.content_type == "application/pdf" and attachment.size == len(PDF)
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest() and attachment.original_name == "扫描件 form.pdf"
    stored = Path(app.config["UPLOAD_FOLDER"]) / attachment.stored_name
    assert stored.read_bytes() == PDF and re.fullmatch(r"[0-9a-f]{32}", attachment.stored_name)
    download = client.get(f"/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.mimetype == "application/pdf"
    download.close()
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "Attachment")) is not None
    auth.logout()
    auth.login("pm_b")
    assert client.get(f"/attachments/{attachment.id}").status_code == 403
    auth.logout()
    auth.login("sales_a")
    assert client.get(f"/attachments/{attachment.id}").status_code == 403


def test_a_text_file_named_pdf_is_refused(client, auth, world, rnd, db):
    auth.login("pm_a")
    response = _post(client, f"/invitations/{rnd.invitations[0].id}/paper",
                     {**ANSWERS, "scan": (io.BytesIO(b"just some text, not a PDF"), "scan.pdf")})
    assert response.status_code == 422
    assert "Only PDF, JPEG or PNG scans can be attached." in response.get_data(as_text=True)
    assert db.session.scalar(select(Response.id)) is None and db.session.scalar(select(Attachment.id)) is None


def test_a_png_named_txt_is_accepted_as_png(client, auth, world, rnd, db):
    auth.login("pm_a")
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    response = _post(client, f"/invitations/{rnd.invitations[0].id}/paper",
                     {**ANSWERS, "scan": (io.BytesIO(png), "photo.txt")})
    assert response.status_code == 303
    assert db.session.scalar(select(Attachment)).content_type == "image/png"


def test_a_scan_over_the_size_limit_is_refused(app, client, auth, world, rnd, db, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1000)
    auth.login("pm_a")
    response = _post(client, f"/invitations/{rnd.invitations[0].id}/paper",
                     {**ANSWERS, "scan": (io.BytesIO(PDF + b"0" * 2000), "big.pdf")})
    assert response.status_code == 422 and "too large" in response.get_data(as_text=True)
    assert db.session.scalar(select(Response.id)) is None


# --- response page ---------------------------------------------------------------------------

def test_response_page_shows_channel_enterer_answers_and_scans(client, auth, world, rnd, db):
    response = rounds.enter_paper_response(rnd.invitations[0], {**ANSWERS, "q_opinion": "希望加快备件更换"},
                                           world.pm)
    db.session.commit()
    for username in ("pm_a", "sales_a", "qa"):
        auth.login(username)
        html = client.get(f"/responses/{response.id}").get_data(as_text=True)
        assert "Paper" in html and "项目经理 张伟" in html and "Not verified yet" in html
        assert "希望加快备件更换" in html and "服务态度" in html and "5.00" in html
        auth.logout()
    auth.login("pm_b")
    assert client.get(f"/responses/{response.id}").status_code == 403


# --- lists, panel, home ----------------------------------------------------------------------

def test_project_panel_offers_open_a_round_to_its_pm_only(client, auth, world, rnd):
    auth.login("pm_a")
    html = client.get(f"/projects/{world.project.id}").get_data(as_text=True)
    assert 'id="project-rounds"' in html and "Open a round" in html and f"/rounds/{rnd.id}" in html
    auth.logout()
    auth.login("sales_a")
    html = client.get(f"/projects/{world.project.id}").get_data(as_text=True)
    assert 'id="project-rounds"' in html and "Open a round" not in html


def test_pm_home_lists_projects_lacking_a_round_and_open_rounds(client, auth, world, make):
    make.project(pm=world.pm, client_=world.client, code="PRJ-NEW", name="新项目")
    rnd = world.open()
    auth.login("pm_a")
    html = client.get("/").get_data(as_text=True)
    section = html[html.index('id="home-pm-rounds"'):]
    assert "PRJ-NEW" in section and f"/rounds/{rnd.id}" in section


def test_rounds_list_is_scoped_and_filters_by_quarter_in_place(client, auth, world, make, db):
    current = world.open()
    old = world.open(quarter="2026Q3", due_date=None)
    other = rounds.open_round(make.project(pm=world.other_pm, client_=world.client, code="PRJ-B"), "2026Q4",
                              world.version, world.contacts[:1], None, world.other_pm)
    db.session.commit()
    auth.login("pm_a")
    html = client.get("/rounds/").get_data(as_text=True)
    assert f"/rounds/{current.id}" in html and f"/rounds/{old.id}" in html and "PRJ-B" not in html
    fragment = client.get("/rounds/?quarter=2026Q3", headers=HX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert f"/rounds/{old.id}\"" in body and f"/rounds/{current.id}\"" not in body
    auth.logout()
    auth.login("qa")
    html = client.get("/rounds/").get_data(as_text=True)
    assert f"/rounds/{other.id}" in html and f"/rounds/{current.id}" in html
    auth.logout()
    auth.login("sales_a")
    assert client.get("/rounds/").status_code == 403


def test_the_outbox_is_in_the_pms_navigation_with_the_count_waiting(client, auth, world, rnd, db):
    auth.login("pm_a")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/rounds/outbox">Outbox</a>' in home  # nothing waiting: no number
    _post(client, f"/rounds/{rnd.id}/invitations/send")
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'href="/rounds/outbox">Outbox <span class="nav-count"[^>]*>3</span>', home)
    message = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
    _post(client, f"/outbox/{message.id}/sent", htmx=True)
    assert re.search(r'Outbox <span class="nav-count"[^>]*>2</span>', client.get("/").get_data(as_text=True))
    auth.logout()
    auth.login("qa")
    assert "/rounds/outbox" not in client.get("/").get_data(as_text=True)
