"""The public complaint form: no account, CSRF, bounded sizes, nothing readable back; the
complaint lands in the quality desk's intake queue."""
from sqlalchemy import func, select

from portal.models import Complaint, OutboxMessage


def _post(client, **fields):
    token = client.csrf_token("/complaint")
    return client.post("/complaint", data={"csrf_token": token, **fields})


def test_a_visitor_registers_a_complaint_that_lands_in_the_intake_queue(client, auth, db, make):
    make.user("f_quality", roles=("quality",))
    page = client.get("/complaint")
    assert page.status_code == 200 and 'name="description"' in page.get_data(as_text=True)
    done = _post(client, complainant_name="赵女士", complainant_email="zhao@example.cn", company="某医院",
                 project="机房运维", description="工程师多次迟到")
    assert done.status_code == 303 and done.headers["Location"].endswith("/complaint/thanks")
    complaint = db.session.scalar(select(Complaint))
    assert (complaint.channel, complaint.state, complaint.registered_by_id) == ("web_form", "registered", None)
    assert "某医院" in complaint.description and "工程师多次迟到" in complaint.description
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == "complaint", OutboxMessage.to_addr == "zhao@example.cn")) == 1
    thanks = client.get("/complaint/thanks")
    assert complaint.reference in thanks.get_data(as_text=True)
    assert client.get("/complaint/thanks").status_code == 303  # shown once, never looked up again
    auth.login("f_quality")
    assert complaint.reference in client.get("/complaints/?state=registered").get_data(as_text=True)


def test_refusals_write_nothing(client, db):
    assert client.post("/complaint", data={"complainant_name": "赵", "complainant_phone": "1",
                                           "description": "x"}).status_code == 400  # no CSRF token
    assert _post(client, description="没有留下联系方式").status_code == 422
    assert _post(client, complainant_name="赵", complainant_phone="138", description="x" * 5000).status_code == 422
    assert _post(client, complainant_name="赵", complainant_email="not-an-address",
                 description="投诉").status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_every_survey_page_links_to_the_form(client):
    assert "/complaint" in client.get("/s/" + "x" * 43).get_data(as_text=True)


def test_the_invitation_footer_links_to_the_form(app, monkeypatch):
    from types import SimpleNamespace
    from portal.services.invitation_messages import compose
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://survey.example.cn")
    project = SimpleNamespace(name="机房运维", pm=SimpleNamespace(display_name="王经理"))
    invitation = SimpleNamespace(contact=SimpleNamespace(name="李先生", language="zh"),
                                 round=SimpleNamespace(project=project, quarter="2026Q4",
                                                       due_date=__import__("datetime").date(2026, 12, 31)))
    _subject, body = compose(invitation, "invitation")
    assert body.rstrip().endswith("https://survey.example.cn/complaint")
