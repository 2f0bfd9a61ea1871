"""flask create-user and flask demo."""
from datetime import timedelta

from sqlalchemy import func, select

from portal.cli import DEMO_USERNAMES
from portal.models import (COMPLAINT_STATES, ArchiveHandover, Disposal, LegalHold, Tombstone, CallAttempt, CallbackDraw, CallbackTask, CaseImport, Client, Complaint,
                           ComplaintSurvey, Contact, ImprovementPlan,
                           FollowUp, FollowUpEvent, Invitation, OutboxMessage, Project, Response, SalesInquiry,
                           ServiceCase, SurveyRound, User)
from portal.models.base import utcnow
from portal.models.client import CONTACT_FUNCTIONS
from portal.services import followups, improvement
from portal.services.accounts import authenticate, find_user
from portal.services.callbacks.sampling import quarter_status
from portal.services.quarters import current_quarter, end_of_local_day, local_today, quarter_bounds, shift_quarter
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
                          FollowUpEvent, ServiceCase, CaseImport, CallbackDraw, CallbackTask, CallAttempt,
                          Complaint, ArchiveHandover, LegalHold, Disposal, Tombstone)] + [
            db.session.scalar(select(func.count(Response.id)).where(Response.channel == "phone"))]

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
    _assert_demo_callback_desk(db)
    _assert_demo_complaints(db)
    _assert_demo_archive(db)


def _assert_demo_archive(db):
    """The archive (issue 14 §8): an old quarter handed over and received, past its three years, one
    form on legal hold, a batch of three disposed of (tombstones, content gone), the rest eligible;
    its hand-over's PDF job ran at the commit. Last quarter is published, left for PMO to hand over."""
    from portal.services.archive.disposal import eligible_ids
    now, past = utcnow(), shift_quarter(current_quarter(), -1)
    old = shift_quarter(current_quarter(), -14)
    handovers = {h.quarter: h for h in db.session.scalars(select(ArchiveHandover))}
    assert set(handovers) == {old}
    assert all(h.handed_over_by.username == "pmo1" and h.received_by.username == "archive1" and h.receipt_note
               for h in handovers.values())
    assert all(h.job.state == "done" for h in handovers.values()), [h.job.error for h in handovers.values()]
    assert db.session.scalar(select(func.count(Response.id)).where(Response.quarter == past,
                                                                   Response.archived_at.is_(None))) > 20
    forms = db.session.scalars(select(Response).where(Response.quarter == old).order_by(Response.id)).all()
    assert all(f.archived_at and f.retain_until < now for f in forms) and 6 <= len(forms) <= 10
    [hold] = db.session.scalars(select(LegalHold)).all()
    assert hold.lifted_at is None and hold.reason == "合同纠纷，法务要求保全" and hold.placed_by.username == "archive1"
    [batch] = db.session.scalars(select(Disposal)).all()
    assert batch.records == len(batch.tombstones) == 3 and batch.reason == "保存期满，按档案制度销毁"
    disposed = [f for f in forms if f.disposed_at]
    assert [f.id for f in disposed] == [t.response_id for t in batch.tombstones]
    assert all(not f.answers and f.contact_id is None and f.archive_pdf is None for f in disposed)
    assert hold.response_id not in {f.id for f in disposed}
    assert sorted(eligible_ids(quarter=old)) == [f.id for f in forms if not f.disposed_at and not f.legal_hold]
    assert all(f.archive_pdf_sha256 for f in forms if not f.disposed_at)


def _assert_demo_complaints(db):
    """Complaints in every state, one major; a closed one whose complainant answered the check on
    its handling through the link, and one whose check waits for the desk's call."""
    assert set(db.session.scalars(select(Complaint.state))) == set(COMPLAINT_STATES)
    assert db.session.scalar(select(func.count(Complaint.id)).where(Complaint.major)) == 1
    checks = db.session.scalars(select(ComplaintSurvey)).all()
    answered = [c for c in checks if c.response is not None]
    assert [(c.mode, c.response.channel, c.complaint.state) for c in answered] == [("link", "online", "closed")]
    assert answered[0].complaint.events[-1].action == "check_answered"
    assert [c.mode for c in checks if c.response is None and c.complaint.state == "closed"] == ["callback"]
    [plan] = db.session.scalars(select(ImprovementPlan)).all()
    assert sorted(i.followup_id is None for i in plan.items) == [False, False, True]  # 2 follow-ups, 1 complaint
    assert plan.state == "measures_done" and len(improvement.due_checks()) == 1


def _assert_demo_callback_desk(db):
    """The callback desk's quarter in progress: tickets imported for the current quarter, the sample
    drawn to the rates, reached calls with their callback forms, a refusal replaced."""
    quarter = current_quarter()
    first, _last = quarter_bounds(quarter)
    if utcnow() < end_of_local_day(first - timedelta(days=1)) + timedelta(hours=2):
        return  # the quarter's first two hours: no ticket of it has closed yet
    imports = db.session.scalars(select(CaseImport)).all()
    assert imports and all(i.state == "imported" and i.rows_added == i.rows_read for i in imports)
    cases = db.session.scalar(select(func.count(ServiceCase.id)).where(ServiceCase.quarter == quarter))
    assert cases >= 100 and cases == sum(i.rows_added for i in imports)
    latest = db.session.scalar(select(func.max(ServiceCase.closed_at)))
    assert latest < utcnow()
    status = {row.priority: row for row in quarter_status(quarter)}
    assert status["P1"].required > 0 and all(row.drawn >= row.required for row in status.values())
    assert status["P1"].reached > status["P3"].reached  # the desk calls P1 first

    reached = db.session.scalars(select(CallbackTask).where(CallbackTask.state == "reached")).all()
    assert reached and all(t.response.channel == "phone" and t.attempts[-1].outcome == "reached"
                           for t in reached)
    assert all(t.case.closed_at < t.attempts[0].at <= t.response.submitted_at < utcnow() for t in reached)
    refused = db.session.scalars(select(CallbackTask).where(CallbackTask.failed_reason == "refused")).all()
    assert refused and all(t.state == "failed" and t.replaced_by_id is not None for t in refused)
    replacement = db.session.get(CallbackTask, refused[0].replaced_by_id)
    assert replacement.priority == refused[0].priority and replacement.case_id != refused[0].case_id
    assert db.session.scalar(select(func.count(CallAttempt.id)).where(CallAttempt.outcome == "no_answer")) > 0
    # low scores and comments on the callback forms opened follow-ups, like any other channel
    assert db.session.scalar(select(func.count(FollowUp.id)).join(Response, Response.id == FollowUp.response_id)
                             .where(Response.channel == "phone")) >= 1


def test_demo_shows_the_closed_loop_and_sales_inquiries(runner, db):
    assert runner.invoke(args=["demo"]).exit_code == 0
    today = local_today()
    states = dict(db.session.execute(select(FollowUp.state, func.count()).group_by(FollowUp.state)).all())
    assert {"open", "contacted", "escalated", "answered", "resolved", "reopened", "closed"} <= set(states)
    all_followups = db.session.scalars(select(FollowUp)).all()
    assert any(f.state == "open" and not followups.is_overdue(f, today) for f in all_followups)
    assert any(followups.is_overdue(f, today) for f in all_followups)
    assert any(f.reopen_count >= 2 for f in all_followups)
    routed = [f for f in all_followups if f.department_id is not None]
    assert len(routed) == 1 and routed[0].events[-1].action == "route" and routed[0].state == "contacted"
    member = find_user("pm2")  # of the technical support department, not the follow-up's PM
    assert routed[0].owner_id != member.id and followups.can_view(member, routed[0])
    assert followups.home_counts(member, today)["department"]["active"] == 1
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


def test_demo_runs_the_key_account_programme(runner, db):
    from portal.models import KeyAccount, KeyAccountDecision
    from portal.services.key_accounts.home import team_home
    assert runner.invoke(args=["demo"]).exit_code == 0
    today = local_today()
    states = sorted((d.client.name, d.state) for d in db.session.scalars(select(KeyAccountDecision)))
    assert states == [("上海市第一人民医院", "approved"), ("华东电网信息通信公司", "approved"),
                      ("杭州城市轨道交通集团", "declined"), ("江苏银行数据中心", "pending")]
    accounts = db.session.scalars(select(KeyAccount)).all()
    assert len(accounts) == 2 and all(a.client.key_account for a in accounts)
    assert all(a.pm_id and a.service_contact_id and a.engineer_id and a.sales_id for a in accounts)
    assert all(a.plan_approved_by_id and a.plan_agreed_on and a.callback_every_weeks for a in accounts)
    assert {c.name for c in db.session.scalars(select(Client).where(Client.key_account.is_(True)))} == {
        "上海市第一人民医院", "华东电网信息通信公司"}
    calls = db.session.scalars(select(CallbackTask).where(CallbackTask.kind == "relationship")).all()
    assert any(t.state == "open" and today <= t.due_on <= today + timedelta(days=7) for t in calls)  # due this week
    assert any(t.state == "open" and t.due_on < today for t in calls)  # one missed: overdue
    rows = team_home(find_user("pm2"))  # the engineer of both
    assert len(rows) == 2 and any(r.next_call for r in rows)
