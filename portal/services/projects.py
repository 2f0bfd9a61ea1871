"""Projects and milestones: create, update, list. Every change is audited."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload

from ..extensions import db
from ..models import PROJECT_STATUSES, Client, Milestone, Project, User, UserRole
from . import DomainError
from .audit import record_change, snapshot
from .listing import contains_any, paginate
from .quarters import local_today
from .scope import project_scope

PROJECT_FIELDS = ("code", "name", "client_id", "pm_id", "sales_id", "status",
                  "start_date", "end_date", "description")
MILESTONE_FIELDS = ("project_id", "name", "planned_date", "reached_date", "is_key")

#: a project list shows its PM and sales owner by name, not their roles
_PEOPLE = (joinedload(Project.pm).lazyload(User.role_rows),
           joinedload(Project.sales).lazyload(User.role_rows))


def search_projects(user, *, q=None, status=None, pm_id=None, client_id=None, page=1, per_page=20):
    """The projects ``user`` may see, searched by code, name or client name, and filtered."""
    stmt = (select(Project).join(Project.client).order_by(Project.code)
            .options(contains_eager(Project.client), *_PEOPLE))
    conditions = [
        project_scope(user), contains_any(q, Project.code, Project.name, Client.name),
        Project.status == status if status else None,
        Project.pm_id == pm_id if pm_id else None,
        Project.client_id == client_id if client_id else None,
    ]
    return paginate(stmt, page, per_page, conditions)


def users_with_role(role):
    """Active users holding ``role``, for the PM / sales owner pickers."""
    return db.session.scalars(select(User).join(UserRole).where(UserRole.role == role, User.active.is_(True))
                              .order_by(User.display_name)).all()


def filter_choices(user):
    """The PMs and clients of the projects ``user`` can see, for the list filters."""
    scoped = select(Project).where(project_scope(user)).subquery()
    pms = db.session.scalars(select(User).where(User.id.in_(select(scoped.c.pm_id)))
                             .order_by(User.display_name)).all()
    clients = db.session.scalars(select(Client).where(Client.id.in_(select(scoped.c.client_id)))
                                 .order_by(Client.name)).all()
    return {"pms": pms, "clients": clients}


def form_choices(project=None):
    """Every client, the active PMs and sales owners, and ``project``'s current ones even if no longer so."""
    pms, sales = users_with_role("pm"), users_with_role("sales")
    if project is not None and project.pm is not None and project.pm not in pms:
        pms.append(project.pm)
    if project is not None and project.sales is not None and project.sales not in sales:
        sales.append(project.sales)
    clients = db.session.scalars(select(Client).order_by(Client.name)).all()
    return {"clients": clients, "pms": pms, "sales": sales}


def _validate(project, code, name, pm_id, sales_id, client_id, status, start_date, end_date):
    code = (code or "").strip()
    if not code:
        raise DomainError(_l("A code is required."), field="code")
    clash = db.session.scalar(select(Project.id).where(Project.code == code))
    if clash is not None and clash != project.id:
        raise DomainError(_l("Another project already has this code."), field="code")
    if db.session.get(Client, client_id) is None:
        raise DomainError(_l("Choose a client."), field="client_id")
    pm = db.session.get(User, pm_id)
    if pm is None or not pm.has_role("pm"):
        raise DomainError(_l("The project manager must hold the project manager role."), field="pm_id")
    if sales_id is not None:
        sales = db.session.get(User, sales_id)
        if sales is None or not sales.has_role("sales"):
            raise DomainError(_l("The sales owner must hold the sales role."), field="sales_id")
    if status not in PROJECT_STATUSES:
        raise DomainError(_l("Choose a status."), field="status")
    if start_date and end_date and end_date < start_date:
        raise DomainError(_l("The end date cannot be before the start date."), field="end_date")
    if not (name or "").strip():
        raise DomainError(_l("A name is required."), field="name")
    return code


def _apply(project, *, code, name, client_id, pm_id, sales_id=None, status="active",
           start_date=None, end_date=None, description=None):
    project.code = _validate(project, code, name, pm_id, sales_id, client_id, status, start_date, end_date)
    project.name, project.client_id, project.pm_id, project.sales_id = name.strip(), client_id, pm_id, sales_id
    project.status, project.start_date, project.end_date = status, start_date, end_date
    project.description = description or None


def create_project(**data):
    """A new project; code unique, PM a project manager, sales owner a salesperson, end ≥ start."""
    project = Project()
    _apply(project, **data)
    db.session.add(project)
    db.session.flush()
    record_change("create", project, after=snapshot(project, PROJECT_FIELDS))
    return project


def update_project(project, **data):
    before = snapshot(project, PROJECT_FIELDS)
    with db.session.no_autoflush:
        _apply(project, **data)
    db.session.flush()
    record_change("update", project, before, snapshot(project, PROJECT_FIELDS))
    return project


def save_milestone(project, milestone=None, *, name, planned_date=None, reached_date=None, is_key=False):
    """Add a milestone to ``project`` or change one of its milestones."""
    if milestone is not None and milestone.project_id != project.id:
        raise DomainError(_l("This milestone belongs to another project."))
    if not (name or "").strip():
        raise DomainError(_l("A name is required."), field="name")
    creating = milestone is None
    before = None if creating else snapshot(milestone, MILESTONE_FIELDS)
    milestone = milestone or Milestone(project_id=project.id)
    milestone.name, milestone.planned_date = name.strip(), planned_date
    milestone.reached_date, milestone.is_key = reached_date, bool(is_key)
    db.session.add(milestone)
    db.session.flush()
    record_change("create" if creating else "update", milestone, before, snapshot(milestone, MILESTONE_FIELDS))
    db.session.expire(project, ["milestones"])
    return milestone


def mark_milestone_reached(milestone, on=None):
    """Record that ``milestone`` was reached (today unless ``on`` is given)."""
    before = snapshot(milestone, MILESTONE_FIELDS)
    milestone.reached_date = on or local_today()
    db.session.flush()
    record_change("update", milestone, before, snapshot(milestone, MILESTONE_FIELDS))
    return milestone
