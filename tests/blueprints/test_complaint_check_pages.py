"""The check on a closed complaint's handling through the web: the complainant's link (session,
form, 422 beside the question, thanks, spent link), and the quality desk's call page."""
import re

import pytest
from sqlalchemy import select

from portal.models import Complaint, FollowUp, OutboxMessage
from portal.seed.templates import ensure_default_templates
from portal.services import DomainError
from portal.services import complaints as svc

from ..services.test_complaints import build_world, step, to_state

LOW = {"q_speed": "2", "q_effect": "3", "q_attitude": "4", "q_overall": "2", "q_opinion": "处理太慢"}
GOOD = {"q_speed": "5", "q_effect": "4", "q_attitude": "5", "q_overall": "5"}


@pytest.fixture
def world(make, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example.cn")
    ensure_default_templates()
    return build_world(make, db)


def _closed(world, db, **close):
    c = to_state(world, "notified")
    step(c, "close", world["quality"], **close)
    db.session.commit()
    return c.id


def _link(db):
    body = db.session.scalar(select(OutboxMessage.body).where(OutboxMessage.kind == "complaint")
                             .order_by(OutboxMessage.id.desc()))
    return re.search(r"https://portal\.example\.cn(/k/[A-Za-z0-9_-]+)", body).group(1)


def test_the_complainant_answers_through_the_link(client, auth, world, db):
    cid = _closed(world, db)
    path = _link(db)
    opened = client.get(path)
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/complaint-check")
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    page = client.get("/complaint-check").get_data(as_text=True)
    reference = db.session.get(Complaint, cid).reference
    assert "投诉处理满意度回访表" in page and reference in page and "处理人员的服务态度" in page
    token = client.csrf_token("/complaint-check")
    missing = client.post("/complaint-check", data={"csrf_token": token, "q_speed": "2"},
                          headers={"HX-Request": "true"})
    assert missing.status_code == 422 and 'id="check-form"' in missing.get_data(as_text=True)
    assert missing.headers["HX-Retarget"] == "#check-form"
    assert client.post("/complaint-check", data={"q_speed": "2"}).status_code == 400  # no CSRF token
    done = client.post("/complaint-check", data={"csrf_token": token, **LOW})
    assert done.status_code == 303 and done.headers["Location"].endswith("/complaint-check/thanks")
    assert reference in client.get("/complaint-check/thanks").get_data(as_text=True)
    # spent: the link is one identical 'not valid' page, a replay is 'already submitted'
    assert client.get(path).status_code == 404
    assert client.post("/complaint-check", data={"csrf_token": token, **GOOD}).status_code in (404, 409)
    c = db.session.get(Complaint, cid)
    response = c.surveys[0].response
    assert response.channel == "online" and db.session.scalar(
        select(FollowUp).where(FollowUp.response_id == response.id)) is not None
    auth.login("c_quality")
    box = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert "data-check-score" in box and "2.8 / 5" in box


def test_a_made_up_link_is_the_same_page_as_a_spent_one(client, world, db):
    _closed(world, db)
    made_up = client.get("/k/" + "A" * 43)
    assert made_up.status_code == 404
    assert client.get("/complaint-check").status_code == 404


def test_the_desk_calls_when_no_e_mail_is_known(client, auth, world, db):
    c = to_state(world, "notified")
    c.contact.email = None
    step(c, "close", world["quality"])
    db.session.commit()
    cid, check_id = c.id, c.surveys[0].id
    auth.login("c_owner")  # the owner sees the complaint but does not call
    assert "Record the call" not in client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert client.get(f"/complaints/checks/{check_id}/call").status_code == 403
    auth.logout()
    auth.login("c_quality")
    assert f"/complaints/checks/{check_id}/call" in client.get(f"/complaints/{cid}").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert 'id="home-complaint-calls"' in home and f"/complaints/checks/{check_id}/call" in home
    page = client.get(f"/complaints/checks/{check_id}/call")
    assert page.status_code == 200 and "q_attitude" in page.get_data(as_text=True)
    url = f"/complaints/checks/{check_id}/call"
    assert client.post_form(url, {"q_speed": "5"}, token_from=url).status_code == 422
    assert client.post_form(url, GOOD, token_from=url).status_code in (200, 303)
    stored = db.session.get(Complaint, cid).surveys[0]
    assert stored.response.channel == "phone" and stored.response.entered_by_id == world["quality"].id
    again = client.get(url)
    assert again.status_code == 303  # answered: back to the complaint
    assert 'id="home-complaint-calls"' not in client.get("/").get_data(as_text=True)


def test_accepting_a_public_complaint_names_its_project(world, db):
    c = svc.register_complaint(channel="web_form", description="网上投诉", complainant_name="赵女士",
                               complainant_phone="13800000000")
    with pytest.raises(DomainError) as refused:
        step(c, "accept", world["quality"])
    assert refused.value.field == "project"
    step(c, "accept", world["quality"], project=world["project"].id)
    assert (c.project_id, c.client_id, c.state) == (world["project"].id, world["project"].client_id, "accepted")
