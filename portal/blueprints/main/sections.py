"""The foundation's home sections; later features register their own."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import AuditEvent, Client, Project, Response, User
from ...navigation import home_section
from ...services.figures_cache import cached
from ...services.scope import project_scope


@home_section(10, "main/_section_my_projects.html", roles=("pm",))
def my_pm_projects(user):
    projects = db.session.scalars(
        select(Project).where(Project.pm_id == user.id, Project.status == "active")
        .options(joinedload(Project.client)).order_by(Project.code)).all()
    return {"title": _l("My active projects"), "projects": projects}


@home_section(30, "main/_section_overview.html", roles=("quality", "pmo", "exec"))
def overview(user):
    return cached(("home-overview", user.id), lambda: _overview_counts(user))


def _overview_counts(user):
    count = lambda stmt: db.session.scalar(stmt) or 0  # noqa: E731
    return {
        "active_projects": count(select(func.count(Project.id)).where(
            project_scope(user), Project.status == "active")),
        "clients": count(select(func.count(Client.id))),
        "key_accounts": count(select(func.count(Client.id)).where(Client.key_account.is_(True))),
        "responses": count(select(func.count(Response.id))),
    }


@home_section(25, "main/_section_quarter.html", roles=("quality", "pmo", "exec"))
def this_quarter(user):
    """Countdown to publication and what is still missing this quarter."""
    from ...services.quarter_overview import quarter_overview
    return {"q": quarter_overview(user)}


@home_section(40, "main/_section_archive.html", roles=("archive",))
def archive_overview(user):
    rows = cached(("home-archive-quarters",), lambda: tuple(tuple(row) for row in db.session.execute(
        select(Response.quarter, func.count(Response.id),
               func.count(Response.archived_at)).group_by(Response.quarter)
        .order_by(Response.quarter.desc()))))
    return {"quarters": rows}


@home_section(50, "main/_section_admin.html", roles=("admin",))
def admin_overview(user):
    users = db.session.scalar(select(func.count(User.id))) or 0
    disabled = db.session.scalar(select(func.count(User.id)).where(User.active.is_(False))) or 0
    recent = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(("login_failed", "login_refused", "access_denied", "survey_link_invalid")))
        .order_by(AuditEvent.at.desc()).limit(8)).all()
    return {"users": users, "disabled": disabled, "recent": recent}
