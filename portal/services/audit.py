"""Audit events: who did what to which record, when, from which address."""
import json

from flask import has_request_context, request
from flask_login import current_user

from ..extensions import db
from ..models import AuditEvent


def client_address():
    if not has_request_context():
        return None
    return request.remote_addr


def record_event(action, obj=None, *, user=None, username=None, detail=None,
                 object_type=None, object_id=None):
    """Add an audit event to the session (the caller's commit persists it)."""
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user
    if obj is not None:
        object_type = object_type or type(obj).__name__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    event = AuditEvent(
        user_id=user.id if user is not None else None,
        username=username or (user.username if user is not None else None),
        action=action, object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        ip=client_address(),
        detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None)
    db.session.add(event)
    return event


def record_change(action, obj, before=None, after=None):
    """Audit a create/update/delete with the fields that changed."""
    changed = None
    if before is not None and after is not None:
        changed = {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}
    elif after is not None:
        changed = after
    return record_event(action, obj, detail=changed)


def snapshot(obj, fields):
    return {f: getattr(obj, f) for f in fields}


def record_now(action, **kwargs):
    """Persist an event in its own transaction, e.g. a denial that is followed by a rollback."""
    db.session.rollback()
    record_event(action, **kwargs)
    db.session.commit()
