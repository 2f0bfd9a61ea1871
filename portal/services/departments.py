"""Departments (DESIGN §2): create, rename, choose the head, (de)activate, set the members; who
belongs to which. The head counts as a member (for queues) without being listed. Every change
is audited with before/after; functions flush, the caller commits."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Department, DepartmentMember, User
from . import DomainError
from .audit import record_change

NAME_MAX = 120
_UNCHANGED = ...


def department_snapshot(dept):
    """Audit view of a department: its fields and the ids of its listed members."""
    return {"name": dept.name, "head_id": dept.head_id, "active": dept.active,
            "member_ids": sorted(m.user_id for m in dept.memberships)}


def _check_name(name, dept=None):
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("A name is required."), field="name")
    if len(name) > NAME_MAX:
        raise DomainError(_l("At most %(n)d characters.", n=NAME_MAX), field="name")
    clash = db.session.scalar(select(Department.id).where(func.lower(Department.name) == name.lower()))
    if clash is not None and (dept is None or clash != dept.id):
        raise DomainError(_l("A department with this name already exists."), field="name")
    return name


def _check_head(head):
    if head is not None and not head.active:
        raise DomainError(_l("The head must be an active user."), field="head")
    return head


def _unique_users(users):
    seen, result = set(), []
    for user in users:
        if user.id not in seen:
            seen.add(user.id)
            result.append(user)
    return result


def _check_members(users, dept=None):
    """Every user newly listed must be active (one deactivated later may stay until removed)."""
    current = {m.user_id for m in dept.memberships} if dept is not None else set()
    inactive = [u for u in users if not u.active and u.id not in current]
    if inactive:
        raise DomainError(_l("Members must be active users: %(names)s",
                             names=", ".join(u.display_name for u in inactive)), field="members")
    return users


def create_department(name, head=None, members=(), *, actor):
    """A new active department; ``name`` unique (case-insensitive), head and members active users."""
    dept = Department(name=_check_name(name), head=_check_head(head), active=True)
    users = _check_members(_unique_users(members))
    dept.memberships = [DepartmentMember(user=u) for u in users]
    db.session.add(dept)
    db.session.flush()
    record_change("create", dept, after=department_snapshot(dept), actor=actor)
    return dept


def update_department(dept, *, name=None, head=_UNCHANGED, active=None, actor):
    """Change what is given: ``name`` (None: keep), ``head`` (a User, None to clear, ``...``: keep),
    ``active`` (None: keep). A newly chosen head must be active; keeping an inactive one is allowed."""
    before = department_snapshot(dept)
    if name is not None:
        dept.name = _check_name(name, dept)
    if head is not _UNCHANGED and (head.id if head is not None else None) != dept.head_id:
        dept.head = _check_head(head)
    if active is not None:
        dept.active = bool(active)
    db.session.flush()
    after = department_snapshot(dept)
    if after != before:
        record_change("update", dept, before, after, actor=actor)
    return dept


def set_members(dept, users, *, actor):
    """Make ``users`` the listed members (the head need not be among them)."""
    users = _check_members(_unique_users(users), dept)
    before = department_snapshot(dept)
    wanted = {u.id: u for u in users}
    dept.memberships = [m for m in dept.memberships if m.user_id in wanted]
    kept = {m.user_id for m in dept.memberships}
    dept.memberships += [DepartmentMember(user=u) for uid, u in wanted.items() if uid not in kept]
    db.session.flush()
    after = department_snapshot(dept)
    if after != before:
        record_change("update", dept, before, after, actor=actor)
    return dept


def departments(active_only=True):
    """Every department by name (only active ones unless told), with head and members loaded."""
    stmt = (select(Department).options(selectinload(Department.head),
                                       selectinload(Department.memberships).selectinload(DepartmentMember.user))
            .order_by(Department.name, Department.id))
    if active_only:
        stmt = stmt.where(Department.active.is_(True))
    return db.session.scalars(stmt).all()


def departments_of(user, active_only=True):
    """The departments ``user`` heads or is a member of."""
    member_of = select(DepartmentMember.department_id).where(DepartmentMember.user_id == user.id)
    stmt = (select(Department).options(selectinload(Department.head),
                                       selectinload(Department.memberships).selectinload(DepartmentMember.user))
            .where(or_(Department.head_id == user.id, Department.id.in_(member_of)))
            .order_by(Department.name, Department.id))
    if active_only:
        stmt = stmt.where(Department.active.is_(True))
    return db.session.scalars(stmt).all()


def department_ids_of(user):
    """SELECT of the ids of the departments ``user`` heads or is a listed member of (for queues)."""
    heads = select(Department.id).where(Department.head_id == user.id)
    members = select(DepartmentMember.department_id).where(DepartmentMember.user_id == user.id)
    return heads.union(members)


def department_choices(user=None, *, active_only=False):
    """(id, name) rows of departments for a choice (one statement): every one when ``user`` is
    None, else those ``user`` heads or belongs to; only active ones when told."""
    stmt = select(Department.id, Department.name).order_by(Department.name, Department.id)
    if user is not None:
        stmt = stmt.where(Department.id.in_(department_ids_of(user)))
    if active_only:
        stmt = stmt.where(Department.active.is_(True))
    return db.session.execute(stmt).all()


def in_a_department(user) -> bool:
    """Heads or belongs to any department (one statement)."""
    return user is not None and user.is_active and bool(db.session.scalar(select(or_(
        exists().where(Department.head_id == user.id),
        exists().where(DepartmentMember.user_id == user.id)))))


def is_head(user, dept) -> bool:
    return user is not None and dept.head_id is not None and dept.head_id == user.id


def is_member(user, dept) -> bool:
    """Listed as a member, or the head (who counts as one)."""
    return user is not None and (is_head(user, dept) or any(m.user_id == user.id for m in dept.memberships))


def assignable_users(dept=None):
    """Users a department's head or members may be chosen from: active users, plus whoever the
    department already has (so an inactive head or member shows until replaced)."""
    current = set()
    if dept is not None:
        current = {m.user_id for m in dept.memberships} | ({dept.head_id} if dept.head_id else set())
    condition = User.active.is_(True)
    if current:
        condition = or_(condition, User.id.in_(current))
    return db.session.scalars(select(User).where(condition).order_by(User.display_name, User.id)).all()


def users_by_id(ids):
    """The users with these ids (unknown ids are dropped), in the order given."""
    ids = [i for i in ids if i is not None]
    if not ids:
        return []
    found = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    return [found[i] for i in ids if i in found]
