"""Departments: unique names (case-insensitive), active heads and members, members replaced as a
set, every change audited with before/after, and who belongs where."""
import json

import pytest

from portal.models import AuditEvent
from portal.services import DomainError
from portal.services import departments as svc


def _events(db, dept, action):
    return [json.loads(e.detail or "{}") for e in db.session.query(AuditEvent).filter_by(
        action=action, object_type="Department", object_id=str(dept.id)).order_by(AuditEvent.id)]


@pytest.fixture
def admin(make):
    return make.user("admin", roles=("admin",))


def test_create_department_with_head_and_members_is_audited(make, db, admin):
    head, member = make.user("head", roles=("pm",)), make.user("member", roles=("sales",))
    dept = svc.create_department(" 运维服务部 ", head=head, members=[member, member], actor=admin)
    db.session.commit()
    assert dept.name == "运维服务部" and dept.active and dept.head == head
    assert dept.members == [member]
    (event,) = _events(db, dept, "create")
    assert event == {"name": "运维服务部", "head_id": head.id, "active": True, "member_ids": [member.id]}
    assert db.session.query(AuditEvent).filter_by(action="create", object_type="Department").one().user_id == admin.id


@pytest.mark.parametrize("name", ["", "   ", None, "x" * 121])
def test_a_name_is_required_and_at_most_120_characters(db, admin, name):
    with pytest.raises(DomainError) as error:
        svc.create_department(name, actor=admin)
    assert error.value.field == "name"


def test_names_are_unique_case_insensitively(db, admin):
    svc.create_department("Support", actor=admin)
    with pytest.raises(DomainError) as error:
        svc.create_department("SUPPORT ", actor=admin)
    assert error.value.field == "name"
    other = svc.create_department("Operations", actor=admin)
    with pytest.raises(DomainError):
        svc.update_department(other, name="support", actor=admin)
    svc.update_department(other, name="OPERATIONS", actor=admin)  # its own name in another case is fine
    assert other.name == "OPERATIONS"


def test_head_and_members_must_be_active_users(make, db, admin):
    gone = make.user("gone", roles=("pm",))
    gone.active = False
    with pytest.raises(DomainError) as error:
        svc.create_department("A", head=gone, actor=admin)
    assert error.value.field == "head"
    with pytest.raises(DomainError) as error:
        svc.create_department("B", members=[gone], actor=admin)
    assert error.value.field == "members"
    dept = svc.create_department("C", actor=admin)
    with pytest.raises(DomainError) as error:
        svc.update_department(dept, head=gone, actor=admin)
    assert error.value.field == "head"
    with pytest.raises(DomainError) as error:
        svc.set_members(dept, [gone], actor=admin)
    assert error.value.field == "members"


def test_update_changes_only_what_is_given_and_audits_before_after(make, db, admin):
    head, new_head = make.user("h1", roles=("pm",)), make.user("h2", roles=("pmo",))
    dept = svc.create_department("技术支持部", head=head, actor=admin)
    svc.update_department(dept, active=False, actor=admin)
    assert dept.name == "技术支持部" and dept.head == head and not dept.active
    svc.update_department(dept, name="技术支持中心", head=new_head, actor=admin)
    svc.update_department(dept, head=None, actor=admin)
    db.session.commit()
    assert dept.head is None and dept.name == "技术支持中心"
    assert _events(db, dept, "update") == [
        {"active": [True, False]},
        {"name": ["技术支持部", "技术支持中心"], "head_id": [head.id, new_head.id]},
        {"head_id": [new_head.id, None]},
    ]
    svc.update_department(dept, name="技术支持中心", actor=admin)  # nothing changed: no event
    assert len(_events(db, dept, "update")) == 3


def test_set_members_replaces_the_listed_members(make, db, admin):
    a, b, c = (make.user(n, roles=("pm",)) for n in ("a", "b", "c"))
    dept = svc.create_department("D", members=[a, b], actor=admin)
    svc.set_members(dept, [b, c, c], actor=admin)
    db.session.commit()
    assert sorted(u.username for u in dept.members) == ["b", "c"]
    assert _events(db, dept, "update") == [{"member_ids": [sorted([a.id, b.id]), sorted([b.id, c.id])]}]
    svc.set_members(dept, [], actor=admin)
    db.session.commit()
    assert dept.members == []


def test_a_member_deactivated_later_may_stay_listed(make, db, admin):
    a, b = make.user("a", roles=("pm",)), make.user("b", roles=("pm",))
    dept = svc.create_department("D", head=a, members=[a, b], actor=admin)
    a.active = b.active = False
    svc.set_members(dept, [b], actor=admin)  # keeping b is allowed; nobody inactive is added
    svc.update_department(dept, head=a, name="D2", actor=admin)  # the head unchanged is not re-checked
    assert dept.members == [b] and dept.head == a


def test_departments_of_heads_and_members_and_membership_checks(make, db, admin):
    head, member, outsider = (make.user(n, roles=("pm",)) for n in ("head", "member", "outsider"))
    ops = svc.create_department("运维服务部", head=head, members=[member], actor=admin)
    support = svc.create_department("技术支持部", members=[head], actor=admin)
    closed = svc.create_department("已撤销部门", members=[member], actor=admin)
    svc.update_department(closed, active=False, actor=admin)
    db.session.commit()
    assert {d.name for d in svc.departments_of(head)} == {"运维服务部", "技术支持部"}
    assert svc.departments_of(member) == [ops]
    assert set(svc.departments_of(member, active_only=False)) == {ops, closed}
    assert svc.departments_of(outsider) == []
    assert svc.is_head(head, ops) and not svc.is_head(member, ops)
    assert svc.is_member(head, ops) and svc.is_member(member, ops)  # the head counts as a member
    assert not svc.is_member(outsider, ops) and svc.is_member(head, support)
    assert closed not in svc.departments() and closed in svc.departments(active_only=False)
