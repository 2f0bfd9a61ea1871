"""Walk every route in the URL map for every role and for anonymous users.

Routes added later are covered automatically: each must declare its access rule
with @access, and each URL parameter must be resolvable below. Objects belong to
PM B / sales B, so PM A and sales A must be refused (403/404) wherever an id of
a project-scoped object appears, while PM B (the owner) is let through.
"""
import re
from dataclasses import dataclass

import pytest
from werkzeug.routing import Rule

from portal.extensions import db as _db
from portal.extensions import limiter
from portal.models import Attachment, Invitation, OutboxMessage, SurveyRound
from portal.services.answers import parse_answers
from portal.services.responses import submit_response
from portal.services.tokens import new_token

from .. import factories

ROLES = ("pm", "sales", "quality", "pmo", "archive", "exec", "admin")
#: parameters naming an object that belongs to a project (ownership applies)
PROJECT_SCOPED = ("project", "round", "invitation", "response", "attachment", "milestone", "message",
                  "followup", "inquiry", "task", "complaint", "evidence", "complaint_check",
                  "plan", "key_account")
#: steps only the object's own actor takes (a complaint's owner or its department's head, who may
#: hold any role; an approver: an executive or that head): a role inside the rule is refused (403)
#: unless it is that person, so these are checked for "no 5xx, PM/sales of others refused" only
ACTOR_SCOPED_ENDPOINTS = {"complaints.handler_step", "complaints.approve",
                          # a follow-up: PM, PMO, quality and exec read it, and the people of the
                          # department it is routed to, whatever their role
                          "followups.detail",
                          # an improvement plan's steps: quality, PMO or its department's head (exec and
                          # admin read it), its responsible person marks the measures done
                          *(f"improvement.{step}" for step in ("new", "edit", "add_item", "remove_item",
                                                               "mark_measures_done", "close", "revise"))}
SKIP_ENDPOINTS = {"static", "auth.logout"}  # logout is covered by tests/blueprints/test_auth.py


@dataclass
class World:
    ids: dict
    owner_pm: str
    owner_sales: str


def _build_world():
    from datetime import date, datetime
    pm_b = factories.user("pm_b", roles=("pm",))
    sales_b = factories.user("sales_b", roles=("sales",))
    for role in ROLES:
        factories.user(f"r_{role}", roles=(role,))
    client = factories.client("乙方客户")
    contact = factories.contact(client)
    project = factories.project(pm=pm_b, sales=sales_b, client_=client)
    milestone = factories.milestone(project)
    version = factories.template_version()
    rnd = SurveyRound(project=project, quarter="2026Q4", template_version=version,
                      due_date=date(2026, 12, 31), created_by=pm_b)
    inv = Invitation(round=rnd, contact=contact, token_hash=new_token()[1],
                     expires_at=datetime(2027, 1, 1))
    inv2 = Invitation(round=rnd, contact=factories.contact(client), token_hash=new_token()[1],
                      expires_at=datetime(2027, 1, 1))
    _db.session.add_all([rnd, inv, inv2])
    _db.session.flush()
    parsed = parse_answers(version, {"q_attitude": "4", "q_timeliness": "5", "q_technical": "8"},
                           complete=True)
    response = submit_response(version, parsed, channel="online", project=project, origin=inv2)
    attachment = Attachment(response=response, original_name="scan.pdf", stored_name="matrix-test-scan",
                            content_type="application/pdf", size=4, sha256="0" * 64)
    message = OutboxMessage(invitation=inv, kind="invitation", to_addr="a@example.cn",
                            subject="s", body="b")
    _db.session.add_all([attachment, message])
    _db.session.commit()
    admin_target = factories.user("target_user", roles=("pm",))
    from portal.services.notifications import notify
    notification = notify(pm_b, "escalation", "s", "b", email=False)  # user-scoped: pm_b's alone
    _db.session.commit()
    from portal.models import FollowUp, User
    r_exec = _db.session.scalar(_db.select(User).where(User.username == "r_exec"))
    followup = FollowUp(response_id=response.id, project_id=project.id, owner_id=pm_b.id, state="escalated",
                        triggers=[], escalated_to_id=r_exec.id)  # awaits r_exec; PMO may act, PM A not
    _db.session.add(followup)
    from portal.models import SalesInquiry
    sales_version = factories.template_version(kind="sales_visit")
    parsed = parse_answers(sales_version, {"q_attitude": "4", "q_timeliness": "5", "q_technical": "8"},
                           complete=True)
    inquiry = SalesInquiry(project_id=project.id, sales_id=sales_b.id, inquired_on=date(2026, 11, 2),
                           mode="visit", trigger="milestone", milestone_id=milestone.id, respondent_id=contact.id,
                           major_problem=True, major_problem_description="问题", submission_key="m" * 20)
    _db.session.add(inquiry)
    _db.session.flush()
    submit_response(sales_version, parsed, channel="on_behalf", project=project, origin=inquiry,
                    contact=contact, entered_by=sales_b)
    _db.session.commit()
    from portal.models import CallbackDraw, CallbackTask, CaseImport, Job, ServiceCase
    case = ServiceCase(external_id="M-1", project_id=project.id, priority="P1", reporter="王", quarter="2026Q4",
                       closed_at=datetime(2026, 11, 2))
    draw = CallbackDraw(quarter="2026Q4", priority="P1", seed=1, rate=0.8, closed=1, required=1, added=1,
                        reason="first")
    _db.session.add_all([case, draw])
    _db.session.flush()
    task = CallbackTask(case_id=case.id, project_id=project.id, draw_id=draw.id, quarter="2026Q4", priority="P1",
                        rank="0")
    imp = CaseImport(file_name="t.csv", sha256="0" * 64, state="imported", mapping={})
    job = Job(kind="import_cases", state="done", started_by_id=pm_b.id, params={})
    _db.session.add_all([task, imp, job])
    _db.session.commit()
    from portal.models import Department, DepartmentMember
    dept = Department(name="矩阵部门", memberships=[DepartmentMember(user_id=pm_b.id),  # pm_b and sales_b read
                                                  DepartmentMember(user_id=sales_b.id)])  # it, PM A not
    _db.session.add(dept)
    _db.session.flush()
    followup.department_id = dept.id  # routed there: sales_b reads it too
    _db.session.commit()
    from portal.models import Complaint, ComplaintAttachment
    complaint = Complaint(reference="TS-2026-09999", channel="phone", state="registered", project_id=project.id,
                          client_id=client.id, contact_id=contact.id, description="投诉",
                          department_id=dept.id)  # pm_b's project (and department): PM A and sales A refused
    evidence = ComplaintAttachment(complaint=complaint, original_name="录音.mp3", stored_name="matrix-test-evidence",
                                   content_type="audio/mpeg", size=4, sha256="0" * 64)
    _db.session.add_all([complaint, evidence])
    from portal.models import ComplaintSurvey
    check = ComplaintSurvey(complaint=complaint, mode="callback",  # the quality desk's call
                            template_version=factories.template_version(kind="complaint_followup"))
    _db.session.add(check)
    from portal.models import ImprovementPlan, ImprovementPlanItem
    plan = ImprovementPlan(title="矩阵计划", goal="目标", measures="措施", root_cause="service", department_id=dept.id,
                           responsible_id=pm_b.id, due_on=date(2027, 3, 31),  # pm_b's department: PM A refused
                           items=[ImprovementPlanItem(followup_id=followup.id)])
    _db.session.add(plan)
    _db.session.commit()
    from portal.models import Client, KeyAccount, KeyAccountDecision
    from portal.services.key_accounts import decision_in_progress
    other_client = Client(name="丙方客户")
    _db.session.add(other_client)
    with decision_in_progress():  # stands in for an approved designation
        client.key_account = True
        account = KeyAccount(client=client, pm_id=pm_b.id, sales_id=sales_b.id)  # pm_b's and sales_b's team
        _db.session.add(account)
        _db.session.commit()
    decision = KeyAccountDecision(client=other_client, action="designate", state="pending", proposed_by_id=sales_b.id,
                                  business_volume="x", cooperation_potential="y", industry_influence="z")
    _db.session.add(decision)
    _db.session.commit()
    from portal.models import HistoryImport
    history_import = HistoryImport(file_name="history.xlsx", sha256="0" * 64, rows=0)
    _db.session.add(history_import)
    _db.session.commit()
    from portal.models import ArchiveHandover, Disposal, RollupRevision
    revision = RollupRevision(quarter="2026Q3", number=1, figures={}, published_by_id=admin_target.id)
    _db.session.add(revision)
    _db.session.flush()
    handover = ArchiveHandover(quarter="2026Q3", revision_id=revision.id, responses=0, handed_over_by_id=pm_b.id)
    disposal = Disposal(disposed_by_id=admin_target.id, reason="matrix", records=0)
    _db.session.add_all([handover, disposal])
    _db.session.commit()
    ids = {
        "handover": handover.id, "disposal": disposal.id,
        "history_import": history_import.id,  # before "import": the first key found in a parameter wins
        "key_account": account.id, "decision": decision.id,
        "plan": plan.id,
        "complaint_check": check.id,  # before "complaint": the first key found in a parameter wins
        "project": project.id, "task": task.id, "import": imp.id, "job": job.id, "kind": "csv",
        "quarter": "2026Q4", "client": client.id, "contact": contact.id, "milestone": milestone.id,
        "round": rnd.id, "invitation": inv.id, "response": response.id, "attachment": attachment.id,
        "message": message.id, "version": version.id, "template": version.template_id,
        "question": version.questions[0].id, "user": admin_target.id, "scale": version.questions[0].scale_id,
        "notification": notification.id, "followup": followup.id, "inquiry": inquiry.id, "pm_step": "classify",
        "pmo_step": "verify", "department": dept.id, "complaint": complaint.id, "evidence": evidence.id,
        "desk_step": "accept", "handler_step": "record_contact", "approver_step": "approve",
        "key": "followup.due_working_days",  # a setting the widest editor list (admin, quality) may change
        "year": 2026, "number": 1, "who": "pm", "fmt": "pdf",
    }
    return World(ids, "pm_b", "sales_b")


def _resolve(rule: Rule, world: World):
    """Concrete URL for a rule, or fail naming the parameter to add here."""
    values = {}
    for arg in rule.arguments:
        if arg in ("token",):
            values[arg] = "x" * 43
            continue
        key = next((k for k in world.ids if re.search(k, arg)), None)
        assert key, f"{rule.endpoint}: add parameter {arg!r} to the authorization matrix"
        values[arg] = world.ids[key]
    from flask import url_for
    return url_for(rule.endpoint, **values)


def _scoped(rule):
    return any(p in arg for arg in rule.arguments for p in PROJECT_SCOPED)


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_view_declares_its_access_rule(app):
    missing = [r.endpoint for r in app.url_map.iter_rules()
               if r.endpoint != "static" and not hasattr(app.view_functions[r.endpoint], "access_rule")]
    assert not missing, f"views without @access: {missing}"


@pytest.fixture
def world(app, db):
    limiter.enabled = False
    yield _build_world()
    limiter.enabled = True


def _request(client, method, url, token):
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": token})


def _login(app, username):
    client = app.test_client()
    if username:
        client.post_form("/login", {"username": username, "password": factories.PASSWORD})
    return client, client.csrf_token("/" if username else "/login")


def test_anonymous_is_sent_to_login_everywhere_but_public_pages(app, world):
    client, token = _login(app, None)
    with app.test_request_context():
        cases = [(r, m, _resolve(r, world)) for r, m in _routes(app)]
    for rule, method, url in cases:
        response = _request(client, method, url, token)
        access_rule = app.view_functions[rule.endpoint].access_rule
        assert response.status_code != 500, (method, url)
        if not access_rule.public:
            assert response.status_code in (302, 303), (method, url, response.status_code)
            assert "/login" in response.headers["Location"], (method, url)


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, world, role):
    """A role outside the view's rule gets 403; one inside never gets 403 for objects it may see,
    and PM/sales never reach another person's project objects."""
    client, token = _login(app, f"r_{role}")
    with app.test_request_context():
        cases = [(r, m, _resolve(r, world)) for r, m in _routes(app)]
    for rule, method, url in cases:
        access_rule = app.view_functions[rule.endpoint].access_rule
        response = _request(client, method, url, token)
        status = response.status_code
        assert status != 500, (role, method, url)
        if access_rule.public:
            continue
        if access_rule.roles and role not in access_rule.roles:
            assert status == 403, (role, method, url, status)
        elif role in ("pm", "sales") and _scoped(rule):
            assert status in (403, 404), f"{role} reached another's object: {method} {url} → {status}"
        elif role not in ("pm", "sales") and rule.endpoint not in ACTOR_SCOPED_ENDPOINTS:
            assert status != 403, (role, method, url)


@pytest.mark.parametrize("owner", ["pm_b", "sales_b"])
def test_owners_reach_their_own_project_objects(app, world, owner):
    """Positive control: the owning PM/sales is not refused for GETs on their own objects."""
    client, token = _login(app, owner)
    role = "pm" if owner == "pm_b" else "sales"
    with app.test_request_context():
        cases = [(r, _resolve(r, world)) for r, m in _routes(app) if m == "GET" and _scoped(r)]
    reached = set()
    for rule, url in cases:
        access_rule = app.view_functions[rule.endpoint].access_rule
        if access_rule.roles and role not in access_rule.roles:
            continue
        status = client.get(url).status_code
        assert status != 403, (owner, url)
        if status == 200:
            reached.add(rule.endpoint)
    # the pages each owner must actually see (a route refusing everybody would fail here)
    must_reach = {"projects.detail", "responses.detail", "responses.pdf", "inquiries.detail", "inquiries.pdf",
                  "complaints.detail", "key_accounts.detail", "key_accounts.report_pdf"}  # on the account's team
    if role == "pm":
        must_reach |= {"rounds.status", "rounds.paper_entry"}
    else:
        must_reach |= {"inquiries.new"}
    assert must_reach <= reached, f"{owner} did not reach {sorted(must_reach - reached)}"


def test_user_scoped_objects_reach_only_their_owner(app, world):
    """A notification is pm_b's alone: every other user gets 404 on every route naming it."""
    with app.test_request_context():
        cases = [(r, m, _resolve(r, world)) for r, m in _routes(app)
                 if any("notification" in arg for arg in r.arguments)]
    assert cases
    for username in [f"r_{role}" for role in ROLES] + ["sales_b", "pm_b"]:
        client, token = _login(app, username)
        for rule, method, url in cases:
            status = _request(client, method, url, token).status_code
            if username == "pm_b":
                assert status not in (403, 404, 500), (method, url, status)
            else:
                assert status == 404, (username, method, url, status)
