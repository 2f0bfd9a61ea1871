"""The public complaint form (DESIGN §4.7.1): no account; CSRF, rate limits, bounded sizes, nothing
readable back; one complaint per form however often it is sent; it lands in the intake queue."""
import io
import re

import pytest
from sqlalchemy import func, select

from portal.models import Complaint, ComplaintAttachment, Notification, OutboxMessage
from portal.services.complaints.intake import DESCRIPTION_MAX
from tests.texts import zh

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"x" * 64
KEY_RE = re.compile(r'name="submission_key" type="hidden" value="([0-9a-f]{32})"')
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
WHO = {"complainant_name": "赵女士", "complainant_phone": "13800000000"}


def _fresh_form(client, **headers):
    page = client.get("/complaint", headers=headers)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return {"csrf_token": CSRF_RE.search(html).group(1), "submission_key": KEY_RE.search(html).group(1)}


def _send(client, form=None, files=(), **fields):
    """Send the form as a browser would (a fresh page's token and key unless ``form`` is given)."""
    data = {**(form or _fresh_form(client)), **fields}
    if files:
        data["evidence"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post("/complaint", data=data, content_type="multipart/form-data")


def _count(db, model=Complaint, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _nothing_written(db):
    assert (_count(db), _count(db, ComplaintAttachment), _count(db, OutboxMessage), _count(db, Notification)) \
        == (0, 0, 0, 0)


# --- the page ------------------------------------------------------------------------------------

@pytest.mark.parametrize("language, lang_attr", [("en", "en"), ("zh", "zh-CN")])
def test_an_anonymous_visitor_gets_the_form_in_their_language(client, language, lang_attr):
    page = client.get("/complaint", headers={"Accept-Language": language})
    html = page.get_data(as_text=True)
    title = zh("Tell us about a complaint") if language == "zh" else "Tell us about a complaint"
    assert page.status_code == 200 and f'<html lang="{lang_attr}">' in html and title in html
    for name in ("complainant_name", "complainant_phone", "complainant_email", "company", "project",
                 "description", "evidence", "submission_key", "csrf_token"):
        assert f'name="{name}"' in html
    assert 'enctype="multipart/form-data"' in html and 'id="lang-switch"' in html
    assert "<select" not in html  # no list of clients or projects to pick from (or to read)
    assert 'class="mainnav"' not in html and "/login" not in html
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"


def test_chinese_is_the_default_and_the_switch_keeps_the_choice(client):
    assert '<html lang="zh-CN">' in client.get("/complaint", headers={"Accept-Language": ""}).get_data(as_text=True)
    switched = client.post("/language", data={"csrf_token": _fresh_form(client)["csrf_token"], "lang": "zh",
                                              "next": "/complaint"})
    assert switched.status_code == 303 and switched.headers["Location"].endswith("/complaint")
    assert '<html lang="zh-CN">' in client.get("/complaint").get_data(as_text=True)  # despite Accept-Language: en


def test_every_form_page_has_its_own_submission_key(client):
    assert _fresh_form(client)["submission_key"] != _fresh_form(client)["submission_key"]


# --- a submission --------------------------------------------------------------------------------

def test_a_submission_registers_one_web_form_complaint_in_the_intake_queue(client, auth, db, make):
    make.user("f_quality", roles=("quality",))
    done = _send(client, complainant_name="赵女士", complainant_email="zhao@example.cn",
                 complainant_phone="", company="某医院", project="机房运维", description="工程师多次迟到",
                 files=[("照片.png", PNG), ("说明.pdf", PDF)])
    assert done.status_code == 303 and done.headers["Location"].endswith("/complaint/thanks")
    complaint = db.session.scalars(select(Complaint)).one()
    assert (complaint.channel, complaint.state, complaint.registered_by_id) == ("web_form", "registered", None)
    assert (complaint.complainant_name, complaint.complainant_email, complaint.complainant_phone) \
        == ("赵女士", "zhao@example.cn", None)
    assert (complaint.client_id, complaint.project_id, complaint.contact_id) == (None, None, None)
    assert complaint.description == "单位 / Company: 某医院\n项目 / Project: 机房运维\n\n工程师多次迟到"
    assert sorted((a.original_name, a.content_type, a.uploaded_by_id) for a in complaint.attachments) == [
        ("照片.png", "image/png", None), ("说明.pdf", "application/pdf", None)]
    acknowledgement = db.session.scalars(select(OutboxMessage)).one()
    assert (acknowledgement.kind, acknowledgement.to_addr) == ("complaint", "zhao@example.cn")
    assert complaint.reference in acknowledgement.subject + acknowledgement.body
    assert _count(db, Notification, Notification.kind == "complaint_registered") == 1  # the quality desk

    auth.login("f_quality")
    listing = client.get("/complaints/?state=registered").get_data(as_text=True)
    row = re.search(rf'<tr data-complaint="{complaint.id}">.*?</tr>', listing, re.S).group(0)
    assert complaint.reference in row and "Public complaint form" in row and 'data-state="registered"' in row


def test_without_an_e_mail_address_nothing_is_queued_to_the_complainant(client, db):
    assert _send(client, **WHO, description="电话投诉").status_code == 303
    assert _count(db) == 1 and _count(db, OutboxMessage) == 0


def test_the_reference_is_shown_once_to_the_browser_that_sent_it(app, client, db):
    _send(client, **WHO, description="投诉")
    reference = db.session.scalar(select(Complaint.reference))
    thanks = client.get("/complaint/thanks")
    assert thanks.status_code == 200 and reference in thanks.get_data(as_text=True)
    assert thanks.headers["Cache-Control"] == "no-store"
    again = client.get("/complaint/thanks")
    assert again.status_code == 303 and again.headers["Location"].endswith("/complaint")
    other = app.test_client().get("/complaint/thanks")
    assert other.status_code == 303 and reference not in other.get_data(as_text=True)


def test_no_route_reads_a_complaint_back(app, client, db):
    _send(client, **WHO, description="投诉")
    reference = db.session.scalar(select(Complaint.reference))
    stranger = app.test_client()
    assert [stranger.get(url).status_code for url in (f"/complaint/{reference}", "/complaint/1")] == [404, 404]
    assert reference not in stranger.get(f"/complaint?reference={reference}").get_data(as_text=True)
    paths = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("complaint_form.")}
    assert {"/complaint", "/complaint/thanks"} <= paths
    assert all("<" not in p for p in paths if p == "/complaint" or p.startswith("/complaint/"))


# --- the same form twice -------------------------------------------------------------------------

def test_a_double_submit_registers_one_complaint(client, db):
    form = _fresh_form(client)
    first = _send(client, form, **WHO, complainant_email="zhao@example.cn", description="重复提交")
    second = _send(client, form, **WHO, complainant_email="zhao@example.cn", description="重复提交")
    assert first.status_code == second.status_code == 303
    assert _count(db) == 1 and _count(db, OutboxMessage) == 1
    reference = db.session.scalar(select(Complaint.reference))
    assert reference in client.get("/complaint/thanks").get_data(as_text=True)  # the second one thanks too
    assert _send(client, **WHO, description="另一条投诉").status_code == 303  # a new page: a new complaint
    assert _count(db) == 2


def test_the_same_form_sent_twice_at_once_registers_one_complaint(app, client, db):
    """Two requests in flight together (a double click the browser did not stop): the second waits
    for the first's transaction and finds its key."""
    import threading
    form = _fresh_form(client)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    barrier, codes = threading.Barrier(2), []

    def send():
        browser = app.test_client()
        browser.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
        with app.app_context():
            barrier.wait()
            codes.append(_send(browser, form, **WHO, description="同时提交").status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert codes == [303, 303] and _count(db) == 1


def test_a_refused_submission_keeps_its_key_for_the_corrected_one(client, db):
    form = _fresh_form(client)
    refused = _send(client, form, description="没有留下联系方式")
    assert refused.status_code == 422 and form["submission_key"] in refused.get_data(as_text=True)
    assert _send(client, form, **WHO, description="没有留下联系方式").status_code == 303
    assert _count(db) == 1


def test_a_missing_or_forged_submission_key_is_refused(client, db):
    form = _fresh_form(client)
    for key in ("", "not-a-key", "A" * 32):
        response = _send(client, {**form, "submission_key": key}, **WHO, description="投诉")
        assert response.status_code == 422 and "This form has expired" in response.get_data(as_text=True)
    _nothing_written(db)


# --- refusals ------------------------------------------------------------------------------------

def test_without_a_csrf_token_nothing_is_written(client, db):
    form = _fresh_form(client)
    response = client.post("/complaint", data={"submission_key": form["submission_key"], **WHO,
                                               "description": "投诉"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "This page has expired" in html and 'href="/complaint"' in html
    _nothing_written(db)


@pytest.mark.parametrize("fields, field", [
    ({"description": "没有留下联系方式"}, "complainant_name"),
    ({"complainant_name": "赵女士", "description": "只有姓名"}, "complainant_name"),
    ({"complainant_phone": "13800000000", "description": "只有电话"}, "complainant_name"),
    ({**WHO}, "description"),
    ({**WHO, "complainant_email": "not-an-address", "description": "投诉"}, "complainant_email"),
    ({**WHO, "description": "x" * (DESCRIPTION_MAX + 1)}, "description"),
    ({**WHO, "complainant_name": "赵" * 121, "description": "投诉"}, "complainant_name"),
    ({**WHO, "company": "某" * 101, "description": "投诉"}, "company"),
    ({**WHO, "description": "NUL \x00 in it"}, "description"),
])
def test_wrong_input_is_refused_beside_its_field_with_what_was_typed(client, db, fields, field):
    response = _send(client, **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'class="field has-error" id="field-{field}"' in html
    if fields.get("complainant_phone"):
        assert 'value="13800000000"' in html  # kept as typed
    _nothing_written(db)


def test_a_description_just_within_the_limit_fits_with_company_and_project(client, db):
    from portal.blueprints.complaint_form.forms import ABOUT_MAX, TEXT_MAX
    assert _send(client, **WHO, company="某" * ABOUT_MAX, project="项" * ABOUT_MAX,
                 description="x" * TEXT_MAX).status_code == 303
    assert len(db.session.scalar(select(Complaint.description))) <= DESCRIPTION_MAX


@pytest.mark.parametrize("name, content", [
    ("setup.exe", b"MZ\x90\x00" + b"\x00" * 64),
    ("photo.jpg", b"<html><script>alert(1)</script></html>"),  # HTML under a photo's name
    ("empty.png", b""),
])
def test_a_file_that_is_not_evidence_is_refused_and_nothing_is_written(client, db, name, content):
    response = _send(client, **WHO, complainant_email="zhao@example.cn", description="附件有问题",
                     files=[("ok.png", PNG), (name, content)])
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'class="field has-error" id="field-evidence"' in html
    assert "choose them again" in html and "附件有问题</textarea>" in html
    _nothing_written(db)


def test_more_than_three_files_are_refused(client, db):
    response = _send(client, **WHO, description="四个附件", files=[(f"{i}.png", PNG) for i in range(4)])
    assert response.status_code == 422 and "at most 3 files" in response.get_data(as_text=True)
    _nothing_written(db)


def test_a_file_over_the_upload_limit_is_refused(client, app, db, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1000)
    response = _send(client, **WHO, description="大文件", files=[("big.png", PNG + b"\x00" * 1000)])
    assert response.status_code == 422 and "too large" in response.get_data(as_text=True)
    _nothing_written(db)


def test_a_request_past_max_content_length_gets_a_friendly_413(client, app, db, monkeypatch):
    form = _fresh_form(client)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 20_000)
    response = _send(client, form, **WHO, description="很大", files=[("big.png", PNG + b"\x00" * 30_000)])
    html = response.get_data(as_text=True)
    assert response.status_code == 413 and "The files are too large" in html and 'href="/complaint"' in html
    _nothing_written(db)


def test_a_robot_filling_the_hidden_field_is_thanked_and_ignored(client, db):
    response = _send(client, **WHO, description="spam", website="http://spam.example")
    assert response.status_code == 303 and response.headers["Location"].endswith("/complaint/thanks")
    _nothing_written(db)


# --- rate limits ---------------------------------------------------------------------------------

def test_registrations_per_address_are_limited(client, app, db, monkeypatch):
    monkeypatch.setitem(app.config, "COMPLAINT_FORM_RATE_LIMIT", "2 per hour")
    assert _send(client, **WHO, description="第一条").status_code == 303
    assert _send(client, description="refused submissions do not count").status_code == 422
    assert _send(client, **WHO, description="第二条").status_code == 303
    blocked = _send(client, **WHO, description="第三条")
    assert blocked.status_code == 429 and "Too many" in blocked.get_data(as_text=True)
    assert blocked.headers["Referrer-Policy"] == "no-referrer"
    assert _count(db) == 2
    assert client.get("/complaint").status_code == 200  # the page itself still opens


def test_the_pages_are_limited_per_address(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "COMPLAINT_FORM_PAGE_RATE_LIMIT", "3 per minute")
    assert [client.get("/complaint").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert client.get("/complaint/thanks").status_code == 303  # a limit of its own page


# --- the links to it -----------------------------------------------------------------------------

def test_every_client_survey_page_links_to_the_form(client, make):
    invalid = client.get("/s/" + "x" * 43)
    assert invalid.status_code == 404 and 'href="/complaint"' in invalid.get_data(as_text=True)
    _inv, token = make.invitation()
    assert client.get(f"/s/{token}").status_code == 303
    assert 'href="/complaint"' in client.get("/survey").get_data(as_text=True)


@pytest.mark.parametrize("kind", ["invitation", "reminder"])
def test_the_invitation_and_reminder_end_with_the_forms_address(app, db, make, monkeypatch, kind):
    from portal.services.invitation_messages import compose
    invitation, _token = make.invitation()
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://survey.example.cn/")
    _subject, body = compose(invitation, kind)
    assert body.rstrip().endswith("https://survey.example.cn/complaint")
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    with app.test_request_context(base_url="http://portal.local"):
        assert compose(invitation, kind)[1].rstrip().endswith("http://portal.local/complaint")
    assert "/complaint" not in compose(invitation, kind)[1]  # no address known: no footer, no bad link


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_acknowledgement_is_in_the_language_the_form_was_filled_in(client, db, language):
    subject = "Your complaint is registered: %(ref)s"
    subject = (zh(subject) if language == "zh" else subject).split("%(ref)s")[0]
    headers = {"Accept-Language": language}
    form = _fresh_form(client, **headers)
    done = client.post("/complaint", headers=headers, content_type="multipart/form-data", data={
        **form, "complainant_name": "Ms Zhao", "complainant_email": "zhao@example.cn", "description": "Late again"})
    assert done.status_code == 303
    complaint = db.session.scalars(select(Complaint)).one()
    assert complaint.complainant_language == language
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.subject.startswith(subject) and complaint.reference in message.subject
