"""A guard on SQL per page (issue 7): a list or home page issues a fixed number of statements,
whatever the amount of data behind it.

Every page in PAGES is requested on a small data set (the demo data) and on one several
times larger (more clients, contacts, projects, rounds, invitations, outbox messages,
responses, users and templates), counting the statements of that one request with
tests/querycount.py. Each page must (a) issue the same count on both sizes (at most one more,
for a pagination count) and (b) stay under its cap. A new list page joins by adding a row.
"""
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Callable

import pytest
from sqlalchemy import func, select

from portal.demo import load_demo_data
from portal.demo import rounds as demo_rounds
from portal.extensions import db, limiter
from portal.models import (CallbackTask, Client, Complaint, Contact, FollowUp, ImprovementPlan, Invitation, Milestone,
                           Notification, OutboxMessage, Project, Response, SalesInquiry, ServiceCase, SurveyRound,
                           User)
from portal.services.accounts import create_user
from portal.services.invitation_messages import send_invitations, send_reminders
from portal.services.quarters import current_quarter, local_today, shift_quarter
from portal.services.rounds import add_contacts_to_round, open_round

from .. import factories
from ..conftest import Auth, _wipe
from ..querycount import statements_of_request

LARGE = 3  # the large data set has about this many times the demo's rows
#: every test of this module on one xdist worker (`--dist loadgroup`): the two data sets are built once
pytestmark = pytest.mark.xdist_group("query_counts")


# --- the pages --------------------------------------------------------------------------------

def _pm1_round():
    """pm1's round with the most invitations."""
    return db.session.scalar(
        select(SurveyRound.id).join(Project).join(User, User.id == Project.pm_id)
        .join(Invitation, Invitation.round_id == SurveyRound.id).where(User.username == "pm1")
        .group_by(SurveyRound.id).order_by(func.count(Invitation.id).desc(), SurveyRound.id))


def _pm1_project():
    """pm1's project with the most rounds."""
    return db.session.scalar(
        select(Project.id).join(User, User.id == Project.pm_id)
        .outerjoin(SurveyRound, SurveyRound.project_id == Project.id).where(User.username == "pm1")
        .group_by(Project.id).order_by(func.count(SurveyRound.id).desc(), Project.id))


def _busiest_client():
    """The client with the most projects of pm1 (so pm1 and everyone else may open it)."""
    return db.session.scalar(
        select(Project.client_id).join(User, User.id == Project.pm_id).where(User.username == "pm1")
        .group_by(Project.client_id).order_by(func.count(Project.id).desc(), Project.client_id))


def _pm1_response():
    """A paper response on one of pm1's projects (who entered it is shown too)."""
    return db.session.scalar(
        select(Response.id).join(Project).join(User, User.id == Project.pm_id)
        .where(User.username == "pm1", Response.channel == "paper").order_by(Response.id))


def _sales1_inquiry():
    """sales1's inquiry with the most people met."""
    from portal.models import InquiryContact, SalesInquiry
    return db.session.scalar(
        select(SalesInquiry.id).join(User, User.id == SalesInquiry.sales_id)
        .join(InquiryContact, InquiryContact.inquiry_id == SalesInquiry.id).where(User.username == "sales1")
        .group_by(SalesInquiry.id).order_by(func.count(InquiryContact.id).desc(), SalesInquiry.id))


def _sales1_project():
    """sales1's project with the most rounds (its inquiries panel is there whether it has any or not)."""
    return db.session.scalar(
        select(Project.id).join(User, User.id == Project.sales_id)
        .outerjoin(SurveyRound, SurveyRound.project_id == Project.id).where(User.username == "sales1")
        .group_by(Project.id).order_by(func.count(SurveyRound.id).desc(), Project.id))


def _busiest_task():
    """The call with the most attempts."""
    from portal.models import CallAttempt, CallbackTask
    return db.session.scalar(
        select(CallbackTask.id).outerjoin(CallAttempt, CallAttempt.task_id == CallbackTask.id)
        .group_by(CallbackTask.id).order_by(func.count(CallAttempt.id).desc(), CallbackTask.id))


def _closed_followup():
    """A closed follow-up of pm1 with the longest timeline."""
    from portal.models import FollowUp, FollowUpEvent
    return db.session.scalar(
        select(FollowUp.id).join(User, User.id == FollowUp.owner_id)
        .join(FollowUpEvent, FollowUpEvent.followup_id == FollowUp.id)
        .where(User.username == "pm1", FollowUp.state == "closed")
        .group_by(FollowUp.id).order_by(func.count(FollowUpEvent.id).desc(), FollowUp.id))


@dataclass(frozen=True)
class Page:
    name: str
    username: str
    url: Callable[[], str]  # built once the data exists
    cap: int                # statements this page may issue, whatever the data


def _at(path):
    return lambda: path


#: name, who asks, URL, cap. Every page spends two statements on the logged-in user and their
#: roles. A page about one project, round or response also loads single objects around it: a
#: questionnaire version costs four statements (version, questions, scales, scale options), and
#: a round page loads one per language of the round; hence their higher caps. Add new pages here.
#: Home pages carry one section per feature (a count or a short list each), so theirs grow with
#: the product, never with the data.
PAGES = [
    Page("home pm", "pm1", _at("/"), 14),  # + the rollup reports awaiting acknowledgement
    Page("home sales", "sales1", _at("/"), 12),
    # the home pages: + the follow-ups routed to the user's departments (issue 11), + the key accounts
    # the user is on the team of (issue 12, one statement)
    Page("home quality", "quality1", _at("/"), 20),  # + the nav badge of improvement checks due, reports to acknowledge
    Page("home pmo", "pmo1", _at("/"), 19),  # + the published quarters to hand over to the archive (issue 14)
    Page("home archive", "archive1", _at("/"), 12),
    Page("home exec", "exec1", _at("/"), 18),  # + the key-account proposals awaiting a decision, reports to acknowledge
    Page("home admin", "admin", _at("/"), 12),
    # the archive (issue 14): quarters by state in one GROUP BY, the hand-overs, the outlook, the disposals
    Page("archive", "archive1", _at("/archive/"), 11),
    Page("archive quarter", "archive1", _at("/archive/2026Q4"), 10),
    Page("projects (pm)", "pm1", _at("/projects/"), 12),
    Page("projects (sales)", "sales1", _at("/projects/"), 12),
    Page("projects (pmo)", "pmo1", _at("/projects/"), 12),
    Page("clients (pm)", "pm1", _at("/clients/"), 12),
    Page("clients (quality)", "quality1", _at("/clients/"), 12),
    Page("users", "admin", _at("/users/"), 12),
    Page("questionnaires", "quality1", _at("/questionnaires/"), 12),
    Page("rounds (pm)", "pm1", _at("/rounds/"), 12),
    Page("rounds (quality)", "quality1", _at("/rounds/"), 12),
    Page("outbox", "pm1", _at("/rounds/outbox"), 12),
    Page("outbox of a round", "pm1", lambda: f"/rounds/outbox?round={_pm1_round()}", 12),
    Page("round status (pm)", "pm1", lambda: f"/rounds/{_pm1_round()}", 18),
    Page("round status (quality)", "quality1", lambda: f"/rounds/{_pm1_round()}", 18),
    Page("project page (pm)", "pm1", lambda: f"/projects/{_pm1_project()}", 16),
    Page("project page (pmo)", "pmo1", lambda: f"/projects/{_pm1_project()}", 16),
    Page("project page (sales)", "sales1", lambda: f"/projects/{_sales1_project()}", 16),
    Page("inquiries (sales)", "sales1", _at("/inquiries"), 12),
    Page("inquiries (exec)", "exec1", _at("/inquiries"), 12),
    Page("inquiry page", "sales1", lambda: f"/inquiries/{_sales1_inquiry()}", 18),
    Page("follow-ups (pm)", "pm1", _at("/followups"), 12),
    Page("follow-ups (pmo)", "pmo1", _at("/followups"), 12),
    Page("follow-up page", "pm1", lambda: f"/followups/{_closed_followup()}", 16),
    Page("tickets", "quality1", _at("/cases/"), 12),
    Page("ticket imports", "quality1", _at("/cases/imports"), 12),
    Page("import page", "quality1", _at("/cases/import"), 12),
    Page("callback desk (mine)", "quality1", lambda: f"/callbacks/?quarter={current_quarter()}", 14),
    Page("callback desk (all)", "quality1", lambda: f"/callbacks/?quarter={current_quarter()}&all=1&state=all", 14),
    Page("callback summary", "quality1", lambda: f"/callbacks/summary?quarter={current_quarter()}", 12),
    Page("callback page", "quality1", lambda: f"/callbacks/tasks/{_busiest_task()}", 16),
    Page("client page (pm)", "pm1", lambda: f"/clients/{_busiest_client()}", 12),
    Page("client page (quality)", "quality1", lambda: f"/clients/{_busiest_client()}", 12),
    # the response page: + the complaint it was turned into (issue 11)
    Page("response page (pm)", "pm1", lambda: f"/responses/{_pm1_response()}", 19),  # + who entered it: the user and, eagerly (User.role_rows), their roles
    Page("response page (quality)", "quality1", lambda: f"/responses/{_pm1_response()}", 18),  # + checks-due badge
    Page("key accounts (quality)", "quality1", _at("/key-accounts/"), 12),
    Page("key accounts (pm)", "pm1", _at("/key-accounts/"), 12),
    Page("key account page", "quality1", lambda: f"/key-accounts/{_busiest_account()}", 18),
    Page("verification queue", "quality1", lambda: f"/verification/?quarter={current_quarter()}&state=all", 16),
    Page("verification queue (flagged)", "quality1",
         lambda: f"/verification/?quarter={current_quarter()}&state=all&flag=any", 16),
    # issue 15: the remaining list pages
    Page("complaints (quality)", "quality1", _at("/complaints/"), 14),
    Page("complaints (pm)", "pm1", _at("/complaints/"), 16),  # + whether pm1 heads or sits in a department
    Page("complaints (pmo)", "pmo1", _at("/complaints/?state=all"), 14),
    Page("complaint report", "quality1", _at("/complaints/report"), 16),
    Page("improvement plans", "quality1", _at("/improvement/"), 14),
    Page("departments", "admin", _at("/departments/"), 12),
    Page("notifications (pm)", "pm1", _at("/notifications"), 12),
    Page("notifications (quality)", "quality1", _at("/notifications"), 12),
    Page("history", "quality1", _at("/history/"), 12),
    Page("measurement plans", "quality1", _at("/measurement-plans/"), 12),
    Page("follow-ups summary (pmo)", "pmo1", _at("/followups/pmo-summary"), 14),
]


# --- the data ---------------------------------------------------------------------------------

def build_small():
    """The small data set is the demo data (DESIGN §9)."""
    load_demo_data(factories.PASSWORD, today=local_today())
    db.session.commit()


def grow(scale):
    """Add to the demo data until there is about ``scale`` times as much of everything."""
    from portal.services.key_accounts import decision_in_progress
    with decision_in_progress():  # the extra key accounts stand in for approved designations
        _grow(scale, local_today())
        db.session.commit()


def _grow_key_accounts(users, clients, today):
    """Every key-account client without a programme gets one: pm1 and sales1 on its team, calls
    every two weeks since a month ago (so some are made, some due, some missed)."""
    from portal.models import KeyAccount
    from portal.services.key_accounts.schedule import create_due_tasks
    db.session.flush()
    for client in clients:
        if not client.key_account or db.session.scalar(select(KeyAccount.id).where(KeyAccount.client_id == client.id)):
            continue
        project = db.session.scalar(select(Project).where(Project.client_id == client.id).order_by(Project.id))
        if project is None:
            continue
        db.session.add(KeyAccount(client=client, pm=users["pm1"], sales=users["sales1"],
                                  service_contact=users["quality1"], callback_every_weeks=2,
                                  callback_starts_on=today - timedelta(days=30), callback_contact=client.contacts[0],
                                  callback_project=project, plan_text="季度巡检", report_language="zh",
                                  designated_at=datetime.combine(today - timedelta(days=60), time(2))))
    db.session.flush()
    create_due_tasks(today)


def _busiest_account():
    """pm1's key account with the most relationship calls."""
    from portal.models import KeyAccount
    return db.session.scalar(
        select(KeyAccount.id).join(User, User.id == KeyAccount.pm_id)
        .outerjoin(CallbackTask, CallbackTask.key_account_id == KeyAccount.id).where(User.username == "pm1")
        .group_by(KeyAccount.id).order_by(func.count(CallbackTask.id).desc(), KeyAccount.id))


def _grow(scale, today):
    users = {u.username: u for u in db.session.scalars(select(User))}
    for i in range(10 * (scale - 1)):  # more accounts for the users list
        create_user(f"extra{i:03d}", factories.PASSWORD, [("pm", "sales", "quality")[i % 3]],
                    display_name=f"Extra {i:03d}")
    clients = list(db.session.scalars(select(Client).order_by(Client.id)))
    for i in range(6 * (scale - 1)):  # more clients, each with seven contacts
        client = Client(name=f"扩展客户{i:03d}", key_account=i % 3 == 0)
        client.contacts = [Contact(name=f"联系人{i:03d}-{j}", function="site_admin",
                                   email=f"x{i}-{j}@extra.example.cn", language="en" if j % 3 else "zh")
                           for j in range(7)]
        db.session.add(client)
        clients.append(client)
    projects = []
    for i in range(20 * (scale - 1)):  # more projects for both PMs and both sales owners
        start = today - timedelta(days=400 - i % 30)
        projects.append(Project(
            code=f"PRJ-X-{i:03d}", name=f"扩展项目{i:03d}", client=clients[i % len(clients)],
            pm=users["pm1"] if i % 2 == 0 else users["pm2"],
            sales=users["sales1"] if i % 3 else users["sales2"],
            status="completed" if i % 9 == 4 else "active", start_date=start,
            end_date=start + timedelta(days=540), milestones=[
                Milestone(name="初验", planned_date=start + timedelta(days=180),
                          reached_date=start + timedelta(days=185) if i % 4 == 0 else None, is_key=True),
                Milestone(name="终验", planned_date=start + timedelta(days=360), is_key=True)]))
    db.session.add_all(projects)
    db.session.flush()
    demo_rounds.load(users, projects, today)  # rounds, messages and answers like the demo's
    _grow_pm1_round(scale, users["pm1"], today)
    _grow_pm1_project(scale, users["pm1"])
    _grow_templates(scale, users["quality1"])
    _grow_inquiries(scale, users, today)
    _grow_callbacks(scale, users, projects, today)
    _grow_key_accounts(users, clients, today)
    _grow_complaints(scale, users, projects)
    _grow_improvement(scale, users, today)
    _grow_notifications(scale, users)


def _grow_complaints(scale, users, projects):
    """More complaints on the extra projects, some accepted and assigned to a department."""
    from portal.models import Department
    from portal.services.complaints import workflow
    from portal.services.complaints.intake import register_complaint
    quality = users["quality1"]
    departments = list(db.session.scalars(select(Department).order_by(Department.id)))
    for i in range(10 * (scale - 1)):
        project = projects[i % len(projects)]
        complaint = register_complaint(channel="phone", description=f"扩展投诉 {i}：到场不及时。", by_user=quality,
                                       contact=project.client.contacts[0], client=project.client, project=project,
                                       direction="timeliness", problem_type="complaint")
        if i % 2 and departments:
            workflow.apply(complaint, "accept", actor=quality, expected_version=complaint.version)
            department = departments[i % len(departments)]
            workflow.apply(complaint, "assign", actor=quality, expected_version=complaint.version,
                           department=department, owner=department.head)
    db.session.flush()


def _grow_improvement(scale, users, today):
    """More improvement plans, each grouping open follow-ups not in a plan yet."""
    from portal.models import Department, ImprovementPlanItem
    from portal.services import improvement
    department = db.session.scalar(select(Department).where(Department.name == "运维服务部"))
    taken = select(ImprovementPlanItem.followup_id).where(ImprovementPlanItem.followup_id.isnot(None))
    free = list(db.session.scalars(select(FollowUp).where(FollowUp.id.notin_(taken)).order_by(FollowUp.id)))
    for i in range(min(2 * scale, len(free) // 2)):
        improvement.create_plan(
            actor=users["quality1"], items=free[2 * i:2 * i + 2], today=today, title=f"扩展改进计划 {i}",
            goal="缩短到场时间。", measures="增设值班。", root_cause="operations", dimension="timeliness",
            department=department, responsible=users["pm1"], due_on=today + timedelta(days=30))
    db.session.flush()


def _grow_notifications(scale, users):
    """More in-app notifications for pm1 and quality1, with links."""
    from portal.services.notifications import notify
    for name in ("pm1", "quality1"):
        for i in range(5 * scale):
            notify(users[name], "followup_opened", f"扩展通知 {i}", "扩展", link="/followups", email=False)
    db.session.flush()


def _grow_callbacks(scale, users, projects, today):
    """More tickets this quarter on the extra projects, the sample topped up, a few more attempts."""
    from datetime import datetime, time
    from portal.services.callbacks import queue, sampling
    quarter = current_quarter()
    closed = datetime.combine(today, time(1, 0)) - timedelta(days=1)
    db.session.add_all([ServiceCase(
        external_id=f"GROW-{i:05d}", project_id=projects[i % len(projects)].id, priority=("P1", "P2", "P3", "P4")[i % 4],
        reporter=f"扩展申告人{i}", reporter_phone="13900000000", closed_at=closed, quarter=quarter,
        summary="扩展工单", engineer="扩展工程师") for i in range(60 * scale)])
    db.session.flush()
    quality = users["quality1"]
    sampling.draw(quarter, quality)
    for task in db.session.scalars(select(CallbackTask).where(CallbackTask.quarter == quarter,
                                                              CallbackTask.state == "open").limit(10 * scale)):
        queue.log_attempt(task, quality, "busy", "扩展", expected_version=task.version)
    db.session.flush()


def _grow_inquiries(scale, users, today):
    """Inquiries on the extra projects that are due one, with several people met each."""
    import secrets
    from portal.services.sales_inquiries import (InquiryInput, inquiry_versions, record_inquiry,
                                                 sales_overview)
    version = inquiry_versions("zh")[0]
    answers = {f"q_{q.code}": "2" for q in version.questions if q.type == "scale"}
    answers["q_opinion"] = "希望加强沟通"
    for name in ("sales1", "sales2"):
        dues = [d for d in sales_overview(users[name]).due if d.trigger.on and d.trigger.on <= today]
        for due in dues[:4 * scale]:
            contacts = due.project.client.contacts[:4]
            record_inquiry(due.project, users[name], InquiryInput(
                inquired_on=today, mode="visit", trigger=due.trigger.key, contact_ids=[c.id for c in contacts],
                respondent_id=contacts[0].id, on_behalf=True, major_problem=True,
                major_problem_description="扩展数据", submission_key=secrets.token_urlsafe(16)),
                answers, version=version)
    db.session.flush()


def _grow_pm1_round(scale, pm, today):
    """pm1's largest round gets several times more contacts, messages and reminders."""
    rnd = db.session.get(SurveyRound, _pm1_round())
    client = rnd.project.client
    extra = [Contact(client=client, name=f"新联系人{j}", function="noc_operator", email=f"n{j}@c.example.cn",
                     language="en" if j % 2 else "zh") for j in range(4 * scale)]
    db.session.add_all(extra)
    db.session.flush()
    add_contacts_to_round(rnd, extra, pm)
    now = rnd.created_at + timedelta(days=1)
    send_invitations(rnd, pm, now=now)
    send_reminders(rnd, pm, now=now + timedelta(days=3))
    db.session.flush()


def _grow_pm1_project(scale, pm):
    """pm1's busiest project gets rounds in earlier quarters too."""
    project = db.session.get(Project, _pm1_project())
    version = db.session.scalars(select(SurveyRound).where(SurveyRound.project_id == project.id)
                                 ).first().template_version
    contacts = [c for c in project.client.contacts if not c.opted_out][:3]
    for back in range(2, 2 + 2 * scale):
        open_round(project, shift_quarter(current_quarter(), -back), version, contacts, None, pm)
    db.session.flush()


def _grow_templates(scale, quality):
    from portal.services.questionnaires import create_template
    for i in range(3 * scale):
        create_template(("pm_quarterly", "sales_visit", "callback")[i % 3], ("zh", "en")[i % 2],
                        f"扩展问卷{i}", f"扩展问卷 {i}", user=quality)


# --- measuring --------------------------------------------------------------------------------

def measure(app):
    """Count every page's statements on the data as it is: ``({name: Statements}, sizes)``."""
    sizes = {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in GROWN}
    client = app.test_client()
    auth = Auth(client)
    counts, current = {}, None
    for page in PAGES:
        if page.username != current:
            limiter.reset()
            if current:
                auth.logout()
            auth.login(page.username)
            current = page.username
        url = page.url()
        client.get(url)  # warm: anything cached per process is loaded once, not counted
        response, statements = statements_of_request(client, url)
        assert response.status_code == 200, (page.name, url, response.status_code)
        counts[page.name] = statements
    return counts, sizes


GROWN = (User, Client, Contact, Project, SurveyRound, Invitation, OutboxMessage, Response, SalesInquiry,
         FollowUp, ServiceCase, CallbackTask, Complaint, ImprovementPlan, Notification)


@pytest.fixture(scope="module")
def counts(app):
    """Statements per page on the small and on the large data set."""
    with app.app_context():
        _wipe()
        build_small()
        small = measure(app)
        grow(LARGE)
        large = measure(app)
        db.session.remove()
        _wipe()
    return small, large


def test_the_large_data_set_is_several_times_larger(counts):
    (_, small), (_, large) = counts
    for model, n in small.items():
        assert large[model] >= 2 * n, (model, n, large[model])


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_statements_do_not_grow_with_the_data(counts, page):
    (small, _), (large, _) = counts
    a, b = small[page.name], large[page.name]
    assert len(b) <= len(a) + 1, (f"{page.name}: {len(a)} statements on the small data, {len(b)} on the "
                                  f"large\n{b.report()}\non the small:\n{a.report()}")


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_statements_stay_under_the_cap(counts, page):
    (small, _), (large, _) = counts
    worst = max(small[page.name], large[page.name], key=len)
    assert len(worst) <= page.cap, f"{page.name}: cap {page.cap}\n{worst.report()}"
