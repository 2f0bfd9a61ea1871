"""The one authorization mechanism: every view declares who may call it with
``@access(...)``; object ownership goes through the ``get_*_or_404`` helpers and
``visible_projects``. Denials are audited. The URL-map test checks every
endpoint carries a declaration."""
from dataclasses import dataclass
from functools import wraps

from flask import abort, request
from flask_login import current_user
from sqlalchemy import exists, or_, select

from .extensions import db, login_manager
from .models import Client, Project, SurveyRound
from .services.audit import record_event, set_audit_context
from .services.scope import can_view_project, project_scope, runs_project, visible_clients  # noqa: F401


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
    """Audit the refusal and answer 403. Whatever the view had changed is rolled back first;
    the denial itself is committed, so it survives the error page's rollback."""
    db.session.rollback()
    record_event("access_denied", detail={"reason": reason, "path": request.path,
                                           "method": request.method, **detail})
    db.session.commit()
    abort(403)


def bind_audit_context():
    """before_request: this request's audit events name the signed-in user and the remote address."""
    set_audit_context(actor=lambda: current_user._get_current_object() if current_user.is_authenticated
                      else None, address=request.remote_addr)


def visible_projects(user):
    return select(Project).where(project_scope(user))


def can_manage_master_data(user) -> bool:
    return user.has_role("admin", "pmo")


def can_run_rounds(user, project) -> bool:
    """Issue questionnaires / enter paper forms: the project's own PM (DESIGN §1)."""
    return runs_project(user, project)


def can_edit_milestones(user, project) -> bool:
    """Admin, PMO and the project's own PM keep its milestones."""
    return can_manage_master_data(user) or (user.has_role("pm") and project.pm_id == user.id)


def _owns_project_of(user, client) -> bool:
    conds = []
    if user.has_role("pm"):
        conds.append(Project.pm_id == user.id)
    if user.has_role("sales"):
        conds.append(Project.sales_id == user.id)
    return bool(conds) and bool(db.session.scalar(
        select(exists().where(Project.client_id == client.id, or_(*conds)))))


def can_view_client(user, client) -> bool:
    """Wide roles see every client; PM/sales only clients of their own projects."""
    return user.sees_all_projects or _owns_project_of(user, client)


def can_edit_contacts(user, client) -> bool:
    """Master-data managers, or a PM/sales who owns a project of this client."""
    return can_manage_master_data(user) or _owns_project_of(user, client)


def get_client_or_404(client_id, *, contacts=False):
    """The client, 404 if missing, 403 if not visible (contacts: not yours to edit contacts of)."""
    client = db.session.get(Client, client_id) or abort(404)
    allowed = can_edit_contacts(current_user, client) if contacts else can_view_client(current_user, client)
    if not allowed:
        deny("client", client_id=client_id)
    return client


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


def _get_in_project_or_404(model, object_id, project_of, run, reason):
    obj = db.session.get(model, object_id) or abort(404)
    project = project_of(obj)
    allowed = can_run_rounds(current_user, project) if run else can_view_project(current_user, project)
    if not allowed:
        deny(reason, **{f"{reason}_id": object_id})
    return obj


def get_invitation_or_404(invitation_id, *, run=False):
    """An invitation, 404 if missing, 403 unless its project is visible (run: yours as PM)."""
    from .models import Invitation
    return _get_in_project_or_404(Invitation, invitation_id, lambda i: i.round.project, run, "invitation")


def get_response_or_404(response_id):
    """A response, 404 if missing, 403 unless its project is visible to you."""
    from .models import Response
    return _get_in_project_or_404(Response, response_id, lambda r: r.project, False, "response")


def get_attachment_or_404(attachment_id):
    """A scan, 404 if missing, 403 unless its response's project is visible to you."""
    from .models import Attachment
    return _get_in_project_or_404(Attachment, attachment_id, lambda a: a.response.project, False,
                                  "attachment")


def get_outbox_message_or_404(message_id):
    """An outbox message, 404 if missing (or not about an invitation), 403 unless you run its round."""
    from .models import OutboxMessage
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.invitation is None:
        abort(404)
    if not can_run_rounds(current_user, message.invitation.round.project):
        deny("message", message_id=message_id)
    return message


def get_inquiry_or_404(inquiry_id):
    """A sales inquiry, 404 if missing, 403 unless its project is visible to you."""
    from .models import SalesInquiry
    return _get_in_project_or_404(SalesInquiry, inquiry_id, lambda i: i.project, False, "inquiry")
