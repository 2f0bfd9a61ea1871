"""flask create-user and flask demo."""
from sqlalchemy import func, select

from portal.cli import DEMO_USERNAMES
from portal.models import Client, Contact, Invitation, OutboxMessage, Project, Response, SurveyRound, User
from portal.models.client import CONTACT_FUNCTIONS
from portal.services.accounts import authenticate


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
                for m in (User, Client, Contact, Project, SurveyRound, Response)]
    before = counts()
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert counts() == before  # running it again changes nothing

    users, clients, _, projects, rounds, responses = before
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
