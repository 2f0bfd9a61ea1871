"""Master data rules: unique names and codes, date order, role checks, opt-out stamps,
visibility of clients/projects per role, search + filter + pagination, audit of every change."""
import json
from datetime import date

import pytest

from portal.models import AuditEvent, Client, Contact
from portal.services import DomainError
from portal.services.quarters import local_today
from portal.services import clients as client_svc
from portal.services import projects as project_svc
from portal.services import users_admin
from portal.services.listing import contains_any


def _events(db, action, obj):
    return [json.loads(e.detail or "{}") for e in db.session.query(AuditEvent).filter_by(
        action=action, object_type=type(obj).__name__, object_id=str(obj.id)).order_by(AuditEvent.id)]


def _project_data(make, **overrides):
    data = dict(code="PRJ-001", name="机房运维", client_id=make.client().id,
                pm_id=make.user(roles=("pm",)).id, sales_id=None, status="active",
                start_date=date(2026, 1, 1), end_date=date(2026, 12, 31), description=None)
    data.update(overrides)
    return data


# clients and contacts

def test_create_client_is_audited_with_its_fields(make, db):
    client = client_svc.create_client("华东电网", notes="重点客户")
    db.session.commit()
    [detail] = _events(db, "create", client)
    assert detail == {"name": "华东电网", "key_account": False, "notes": "重点客户"}  # a key account only by decision


def test_client_name_must_be_unique_ignoring_case(make, db):
    make.client("Acme Networks")
    with pytest.raises(DomainError) as err:
        client_svc.create_client("acme networks")
    assert err.value.field == "name"


def test_update_client_audits_only_changed_fields(make, db):
    client = make.client("甲方", notes="旧")
    client_svc.update_client(client, "甲方", notes="新")
    db.session.commit()
    assert _events(db, "update", client) == [{"notes": ["旧", "新"]}]


def test_renaming_a_client_to_its_own_name_is_allowed(make, db):
    client = make.client("甲方")
    client_svc.update_client(client, "甲方", notes="x")
    assert client.notes == "x"


def test_opting_out_stamps_the_time_and_opting_in_clears_it(make, db):
    client = make.client()
    contact = client_svc.create_contact(client, name="王建国", function="noc_operator", phone="139",
                                        email="w@example.cn", language="zh", opted_out=True)
    db.session.commit()
    assert contact.opted_out and contact.opted_out_at is not None
    stamped = contact.opted_out_at
    client_svc.update_contact(contact, name="王建国", function="noc_operator", language="zh", opted_out=True)
    assert contact.opted_out_at == stamped  # staying opted out keeps the first stamp
    client_svc.update_contact(contact, name="王建国", function="noc_operator", language="zh", opted_out=False)
    db.session.commit()
    assert not contact.opted_out and contact.opted_out_at is None
    assert _events(db, "update", contact)[-1]["opted_out"] == [True, False]


@pytest.mark.parametrize("field,value", [("function", "janitor"), ("language", "fr"), ("name", " ")])
def test_contact_rejects_unknown_codes(make, db, field, value):
    data = dict(name="李", function="site_admin", language="en", opted_out=False)
    data[field] = value
    with pytest.raises(DomainError) as err:
        client_svc.create_contact(make.client(), **data)
    assert err.value.field == field
    assert db.session.query(Contact).count() == 0


def test_pm_and_sales_see_only_clients_of_their_projects(make, db):
    pm, sales, quality = make.user(roles=("pm",)), make.user(roles=("sales",)), make.user(roles=("quality",))
    mine, theirs, unused = make.client("甲"), make.client("乙"), make.client("丙")
    make.project(pm=pm, client_=mine)
    make.project(client_=theirs, sales=sales)

    def names(user):
        return [c.name for c in client_svc.search_clients(user).items]

    assert names(pm) == ["甲"]
    assert names(sales) == ["乙"]
    assert sorted(names(quality)) == sorted(["甲", "乙", "丙"])
    assert names(make.user(roles=("archive",))) == []
    assert unused.id


def test_client_projects_follow_the_viewers_scope(make, db):
    pm_a, pm_b = make.user(roles=("pm",)), make.user(roles=("pm",))
    client = make.client()
    own = make.project(pm=pm_a, client_=client)
    make.project(pm=pm_b, client_=client)
    assert client_svc.client_projects(pm_a, client) == [own]
    assert len(client_svc.client_projects(make.user(roles=("pmo",)), client)) == 2


def test_client_search_filter_and_pagination(make, db):
    for i in range(25):
        make.client(f"Client {i:02d}", key_account=i % 5 == 0)
    admin = make.user(roles=("admin",))
    first = client_svc.search_clients(admin, per_page=10)
    assert (first.total, len(first.items), first.pages) == (25, 10, 3)
    third = client_svc.search_clients(admin, page=3, per_page=10)
    assert [c.name for c in third.items] == [f"Client {i}" for i in range(20, 25)]
    assert client_svc.search_clients(admin, key_account=True).total == 5
    assert client_svc.search_clients(admin, key_account=False).total == 20
    assert [c.name for c in client_svc.search_clients(admin, q="client 1").items][:2] == ["Client 10", "Client 11"]
    assert client_svc.search_clients(admin, page=99, per_page=10).items == []


def test_search_treats_wildcards_literally(make, db):
    make.client("100% Uptime")
    make.client("1000 Uptime")
    admin = make.user(roles=("admin",))
    assert [c.name for c in client_svc.search_clients(admin, q="100%").items] == ["100% Uptime"]
    assert contains_any("  ", Client.name) is None


# projects and milestones

def test_create_project_is_audited(make, db):
    project = project_svc.create_project(**_project_data(make))
    db.session.commit()
    [detail] = _events(db, "create", project)
    assert detail["code"] == "PRJ-001" and detail["end_date"] == "2026-12-31"


def test_project_code_is_unique(make, db):
    existing = make.project(code="PRJ-001")
    with pytest.raises(DomainError) as err:
        project_svc.create_project(**_project_data(make))
    assert err.value.field == "code"
    project_svc.update_project(existing, **_project_data(make, name="改名"))  # keeping its own code is fine
    assert existing.name == "改名"


def test_end_date_cannot_precede_start_date(make, db):
    with pytest.raises(DomainError) as err:
        project_svc.create_project(**_project_data(make, start_date=date(2026, 5, 1), end_date=date(2026, 4, 30)))
    assert err.value.field == "end_date"
    same_day = project_svc.create_project(**_project_data(make, start_date=date(2026, 5, 1),
                                                          end_date=date(2026, 5, 1)))
    assert same_day.id


def test_pm_and_sales_owner_must_hold_their_roles(make, db):
    sales = make.user(roles=("sales",))
    with pytest.raises(DomainError) as err:
        project_svc.create_project(**_project_data(make, pm_id=sales.id))
    assert err.value.field == "pm_id"
    with pytest.raises(DomainError) as err:
        project_svc.create_project(**_project_data(make, sales_id=make.user(roles=("pm",)).id))
    assert err.value.field == "sales_id"


def test_failed_update_changes_nothing(make, db):
    project = make.project(code="A-1")
    make.project(code="B-1")
    data = _project_data(make, code="B-1", name="新名字")
    with pytest.raises(DomainError):
        project_svc.update_project(project, **data)
    assert (project.code, project.name) == ("A-1", "测试项目")


def test_update_project_audits_changed_fields(make, db):
    project = make.project(status="active")
    data = {f: getattr(project, f) for f in project_svc.PROJECT_FIELDS}
    project_svc.update_project(project, **{**data, "status": "completed"})
    db.session.commit()
    assert _events(db, "update", project) == [{"status": ["active", "completed"]}]


def test_milestones_are_saved_marked_and_audited(make, db):
    project = make.project()
    milestone = project_svc.save_milestone(project, name="初验", planned_date=date(2026, 3, 1), is_key=True)
    db.session.commit()
    assert project.milestones == [milestone] and project.key_milestone_reached is False
    project_svc.mark_milestone_reached(milestone, date(2026, 3, 3))
    db.session.commit()
    assert project.key_milestone_reached is True
    assert _events(db, "create", milestone)[0]["project_id"] == project.id
    assert _events(db, "update", milestone) == [{"reached_date": [None, "2026-03-03"]}]
    final = project_svc.mark_milestone_reached(project_svc.save_milestone(project, name="终验"))
    assert final.reached_date == local_today()  # the company's date, not the server's


def test_milestone_of_another_project_is_refused(make, db):
    other = make.milestone(make.project())
    with pytest.raises(DomainError):
        project_svc.save_milestone(make.project(), other, name="篡改")


def test_project_search_is_scoped_and_filtered(make, db):
    pm_a, pm_b = make.user(roles=("pm",)), make.user(roles=("pm",))
    sales = make.user(roles=("sales",))
    bank = make.client("江苏银行")
    a1 = make.project(pm=pm_a, code="A-1", client_=bank, sales=sales)
    a2 = make.project(pm=pm_a, code="A-2", status="completed")
    b1 = make.project(pm=pm_b, code="B-1", client_=bank)
    pmo = make.user(roles=("pmo",))

    def codes(user, **kw):
        return [p.code for p in project_svc.search_projects(user, **kw).items]

    assert codes(pm_a) == ["A-1", "A-2"]
    assert codes(sales) == ["A-1"]
    assert codes(pmo) == ["A-1", "A-2", "B-1"]
    assert codes(pmo, q="银行") == ["A-1", "B-1"]
    assert codes(pmo, q="b-") == ["B-1"]
    assert codes(pmo, status="completed") == ["A-2"]
    assert codes(pmo, pm_id=pm_b.id) == ["B-1"]
    assert codes(pmo, client_id=bank.id, pm_id=pm_a.id) == ["A-1"]
    assert codes(pm_a, pm_id=pm_b.id) == []  # a filter never widens the scope
    choices = project_svc.filter_choices(pm_a)
    assert choices["pms"] == [pm_a] and {c.id for c in choices["clients"]} == {bank.id, a2.client_id}
    assert b1.id


def test_project_pagination(make, db):
    pm = make.user(roles=("pm",))
    for i in range(23):
        make.project(pm=pm, code=f"P{i:03d}")
    page = project_svc.search_projects(pm, page=2, per_page=20)
    assert (page.total, page.pages, [p.code for p in page.items]) == (23, 2, ["P020", "P021", "P022"])


# users

def test_create_account_is_audited_without_secrets(make, db):
    user = users_admin.create_account(username="li.qiang", display_name="李强", email="li@example.com",
                                      roles=["pmo"], locale="zh", password="a-long-enough-password")
    db.session.commit()
    [detail] = _events(db, "create", user)
    assert detail["roles"] == ["pmo"] and detail["username"] == "li.qiang"
    assert not any("password" in k or "token" in k for k in detail)


def test_create_account_needs_a_role_and_a_strong_password(make, db):
    with pytest.raises(DomainError) as err:
        users_admin.create_account(username="x", display_name="x", roles=[], password="a-long-enough-password")
    assert err.value.field == "roles"
    with pytest.raises(DomainError) as err:
        users_admin.create_account(username="x", display_name="x", roles=["pm"], password="short")
    assert err.value.field == "password"


def test_admin_cannot_remove_own_admin_role_or_disable_self(make, db):
    admin = make.user(roles=("admin",))
    with pytest.raises(DomainError) as err:
        users_admin.update_account(admin, admin, display_name="A", roles=["pm"])
    assert err.value.field == "roles"
    with pytest.raises(DomainError) as err:
        users_admin.set_account_active(admin, admin, False)
    assert err.value.field == "active"
    assert admin.active and admin.roles == {"admin"}


def test_disabling_revokes_sessions_and_is_audited(make, db):
    admin, user = make.user(roles=("admin",)), make.user(roles=("pm",))
    token = user.session_token
    users_admin.set_account_active(admin, user, False)
    db.session.commit()
    assert not user.active and user.session_token != token
    assert _events(db, "update", user) == [{"active": [True, False]}]


def test_roles_change_is_audited(make, db):
    admin, user = make.user(roles=("admin",)), make.user(roles=("pm",))
    users_admin.update_account(admin, user, display_name=user.display_name, email=user.email,
                               roles=["pm", "sales"], locale=None)
    db.session.commit()
    assert user.roles == {"pm", "sales"}
    assert _events(db, "update", user) == [{"roles": [["pm"], ["pm", "sales"]]}]


def test_reset_password_ends_sessions(make, db):
    from portal.services.accounts import authenticate
    admin, user = make.user(roles=("admin",)), make.user("zhang", roles=("pm",))
    token = user.session_token
    users_admin.reset_password(admin, user, "brand-new-password")
    db.session.commit()
    assert user.session_token != token
    assert authenticate("zhang", "brand-new-password") == user
    assert db.session.query(AuditEvent).filter_by(action="password_reset", object_id=str(user.id)).count() == 1


def test_user_search_by_name_role_and_status(make, db):
    make.user("wang", roles=("pm",), display_name="王芳")
    make.user("li", roles=("sales", "pm"), display_name="李强")
    off = make.user("zhao", roles=("archive",), display_name="赵敏")
    off.active = False
    db.session.commit()

    def names(**kw):
        return [u.username for u in users_admin.search_users(**kw).items]

    assert names() == ["li", "wang", "zhao"]
    assert names(q="李") == ["li"]
    assert names(q="WAN") == ["wang"]
    assert names(role="pm") == ["li", "wang"]
    assert names(active=False) == ["zhao"]
    assert names(active=True, role="archive") == []
