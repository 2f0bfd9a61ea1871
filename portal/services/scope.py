"""Who may see and who runs which project (DESIGN §1), as plain rules on a user.

Services and the web layer (``portal.authz``) share these, so one place decides:
wide roles see every project; a PM sees the projects they manage, sales the ones
they own; only the project's own PM runs its questionnaire rounds.
"""
from sqlalchemy import or_, select

from ..models import Client, Project


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


def visible_clients(user):
    """SQL condition restricting clients to those ``user`` may see."""
    if user.sees_all_projects:
        return True
    return Client.id.in_(select(Project.client_id).where(project_scope(user)))


def can_view_project(user, project) -> bool:
    return (user.sees_all_projects
            or (user.has_role("pm") and project.pm_id == user.id)
            or (user.has_role("sales") and project.sales_id == user.id))


def runs_project(user, project) -> bool:
    """Issues the project's questionnaires and types in its paper forms: its own PM (DESIGN §1)."""
    return user is not None and user.has_role("pm") and project.pm_id == user.id


def records_inquiries(user, project) -> bool:
    """Records the project's sales inquiries and fills forms on the client's behalf: its own
    sales owner (DESIGN §1)."""
    return user is not None and user.has_role("sales") and project.sales_id == user.id
