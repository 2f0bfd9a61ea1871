"""Sales inquiries (DESIGN §3, §4.2): every project needs at least one sales inquiry in its
life, made after it completes or reaches a key milestone. This module decides which of a
sales owner's projects are due one."""
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Project


def inquiry_due(project) -> bool:
    """Completed, or a key milestone reached: the sales owner should inquire now."""
    return project.status == "completed" or project.key_milestone_reached


@dataclass
class SalesOverview:
    due: list = field(default_factory=list)          # ready for an inquiry
    in_progress: list = field(default_factory=list)  # active, nothing reached yet
    suspended: list = field(default_factory=list)


def sales_overview(user) -> SalesOverview:
    """The sales owner's projects, sorted into due for an inquiry, in progress and suspended."""
    projects = db.session.scalars(
        select(Project).where(Project.sales_id == user.id).order_by(Project.code)
        .options(selectinload(Project.milestones), selectinload(Project.client))).all()
    overview = SalesOverview()
    for project in projects:
        if inquiry_due(project):
            overview.due.append(project)
        elif project.status == "suspended":
            overview.suspended.append(project)
        else:
            overview.in_progress.append(project)
    return overview
