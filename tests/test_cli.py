"""flask create-user and flask demo."""
from sqlalchemy import func, select

from portal.cli import DEMO_USERNAMES
from portal.models import (Client, Contact, FollowUp, FollowUpEvent, Invitation, OutboxMessage, Project,
                           Response, SalesInquiry, SurveyRound, User)
from portal.models.client import CONTACT_FUNCTIONS
from portal.services import followups
from portal.services.accounts import authenticate, find_user
from portal.services.quarters import local_today
from portal.services.sales_inquiries import sales_overview


def test_create_user_command(runner, db):
    result = runner.invoke(args=["create-user", "lin", "--role", "quality", "--role", "pmo",
                                 "--name", "林", "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "lin"))
    assert user.roles == {"quality", "pmo"} and user.display_name == "林"
    assert authenticate("lin", "a-long-password") == user


def test_create_user_refuses_weak_password_and_duplicates(runner, db):
    assert runner.invoke(args=["create-user", "lin", "--role", "pm", "--password", "short"]).exit_code != 0
    runner.invoke(args=["create-user", "lin", "--role", "pm", "--password", "a-long-password"])
    again = runner.invoke(args=["create-user", "LIN", "--role", "pm", "--password", "a-long-password"])
    assert again.exit_code != 0 and "已被占用" in again.output  # CLI speaks the default language (zh)


def test_demo_is_complete_and_idempotent(runner, db, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-1")
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output

    def counts():
        return [db.session.scalar(select(func.count()).select_from(m))
                for m in (User, Client, Contact, Project, SurveyRound, Response, SalesInquiry, FollowUp,
                          FollowUpEvent)]

    def states():
        return dict(db.session.execute(select(FollowUp.state, func.count()).group_by(FollowUp.state)).all())
    before, states_before = counts(), states()
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert counts() == before and states() == states_before  # running it again changes nothing

    users, clients, _, projects, rounds, responses, *_ = before
    assert {u.username for u in db.session.scalars(select(User))} == set(DEMO_USERNAMES)
    assert authenticate("pm1", "demo-password-1") is not None
    assert clients >= 6 and db.session.scalar(select(func.count(Client.id)).where(Client.key_account)) >= 1
    assert projects == 20
    pms = db.session.execute(select(Project.pm_id, func.count()).group_by(Project.pm_id)).all()
    assert len(pms) == 2
    assert set(db.session.scalars(select(Contact.function))) == set(CONTACT_FUNCTIONS)
    quarters = set(db.session.scalars(select(SurveyRound.quarter)))
    assert len(quarters) == 2 and rounds > 10 and responses > 20
    scores = list(db.session.scalars(select(Response.score)))
    assert min(scores) <= 3 < max(scores)  # some low scores among good ones
    assert db.session.scalar(select(func.count(Response.id)).where(Response.comment.isnot(None))) > 0
    sent = db.session.scalar(select(func.sum(Invitation.sent_count)))
    statuses = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    assert sent > 0 and statuses["copied"] == sent  # copied by the PM, never e-mailed
    assert statuses["outbox"] > 0 and set(statuses) == {"copied", "outbox"}


def test_demo_shows_the_closed_loop_and_sales_inquiries(runner, db):
    assert runner.invoke(args=["demo"]).exit_code == 0
    today = local_today()
    states = dict(db.session.execute(select(FollowUp.state, func.count()).group_by(FollowUp.state)).all())
    assert {"open", "contacted", "escalated", "answered", "resolved", "reopened", "closed"} <= set(states)
    all_followups = db.session.scalars(select(FollowUp)).all()
    assert any(f.state == "open" and not followups.is_overdue(f, today) for f in all_followups)
    assert any(followups.is_overdue(f, today) for f in all_followups)
    assert any(f.reopen_count >= 2 for f in all_followups)
    closed = [f for f in all_followups if f.state == "closed" and f.escalation_answer]
    assert closed and [e.action for e in closed[0].events] == [
        "opened", "classify", "record_contact", "record_cause_and_actions", "escalate",
        "answer_escalation", "resolve", "verify"]

    majors = db.session.scalars(select(SalesInquiry).where(SalesInquiry.major_problem)).all()
    assert any(i.acknowledged_at is None for i in majors)
    assert any(i.acknowledged_at is not None and i.acknowledgement_note for i in majors)
    assert db.session.scalar(select(func.count(Response.id)).where(Response.channel == "on_behalf")) >= 2
    overview = sales_overview(find_user("sales1"))
    assert overview.due and overview.never
