"""The one authorization mechanism: every view declares who may call it with
``@access(...)``; object ownership goes through the ``get_*_or_404`` helpers and
``visible_projects``. Denials are audited. The URL-map test checks every
endpoint carries a declaration."""
from dataclasses import dataclass
from functools import wraps

from flask import abort, request
from flask_login import current_user
from sqlalchemy import or_, select

from .extensions import db, login_manager
from .models import Project, SurveyRound
from .services.audit import record_now


@dataclass(frozen=True)
class AccessRule:
    roles: frozenset  # empty: any signed-in user
    public: bool = False


def access(*roles, public=False):
    """Declare and enforce who may call a view (any one of ``roles``)."""
    rule = AccessRule(frozenset(roles), public)

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not public:
                if not current_user.is_authenticated:
                    return login_manager.unauthorized()
                if rule.roles and not current_user.has_role(*rule.roles):
                    deny("role", needed=sorted(rule.roles))
            return view(*args, **kwargs)
        wrapper.access_rule = rule
        return wrapper
    return decorate


def deny(reason, **detail):
    """Audit the refusal and answer 403."""
    record_now("access_denied", detail={"reason": reason, "path": request.path,
                                         "method": request.method, **detail})
    abort(403)


def project_scope(user):
    """SQL condition restricting projects to those ``user`` may see."""
    if user.sees_all_projects:
        return True
    conds = []
    if user.has_role("pm"):
        conds.append(Project.pm_id == user.id)
    if user.has_role("sales"):
        conds.append(Project.sales_id == user.id)
    return or_(*conds) if conds else False


def visible_projects(user):
    return select(Project).where(project_scope(user))


def can_view_project(user, project) -> bool:
    return (user.sees_all_projects
            or (user.has_role("pm") and project.pm_id == user.id)
            or (user.has_role("sales") and project.sales_id == user.id))


def can_manage_master_data(user) -> bool:
    return user.has_role("admin", "pmo")


def can_run_rounds(user, project) -> bool:
    """Issue questionnaires / enter paper forms: the project's own PM (DESIGN §1)."""
    return user.has_role("pm") and project.pm_id == user.id


def get_project_or_404(project_id, *, manage=False):
    """The project, 404 if missing, 403 if not yours (or not yours to change)."""
    project = db.session.get(Project, project_id) or abort(404)
    allowed = can_manage_master_data(current_user) if manage else can_view_project(current_user, project)
    if not allowed:
        deny("project", project_id=project_id)
    return project


def get_round_or_404(round_id, *, run=False):
    """A survey round, 404 if missing, 403 unless its project is visible (run: yours as PM)."""
    rnd = db.session.get(SurveyRound, round_id) or abort(404)
    allowed = can_run_rounds(current_user, rnd.project) if run else can_view_project(current_user, rnd.project)
    if not allowed:
        deny("round", round_id=round_id)
    return rnd
