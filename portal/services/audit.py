"""Audit events: who did what to which record, when, from which address (DESIGN §2).

Services pass the actor (a User, or None for the client/cron) and may pass the
address; whatever they leave out comes from the unit of work's audit context,
which whoever owns the transaction sets: the web layer at the start of each
request (the signed-in user and the remote address), a CLI command or job for
its own. This module never reads the request and never commits: the event joins
the caller's transaction and lives or dies with it.
"""
import json

from ..extensions import db
from ..models import AuditEvent

_ACTOR, _ADDRESS = "audit_actor", "audit_address"


def set_audit_context(*, actor=None, address=None):
    """Defaults for this unit of work's events. ``actor``: a User, None, or a callable returning one
    (resolved only when an event is recorded, so pages that record nothing never load the user)."""
    db.session.info[_ACTOR] = actor
    db.session.info[_ADDRESS] = address


def _context_actor():
    actor = db.session.info.get(_ACTOR)
    return actor() if callable(actor) else actor


def record_event(action, obj=None, *, actor=None, address=None, username=None, detail=None,
                 object_type=None, object_id=None):
    """Add an audit event to the session (the caller's commit persists it)."""
    if actor is None:
        actor = _context_actor()
    if address is None:
        address = db.session.info.get(_ADDRESS)
    if obj is not None:
        object_type = object_type or type(obj).__name__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    event = AuditEvent(
        user_id=actor.id if actor is not None else None,
        username=username or (actor.username if actor is not None else None),
        action=action, object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        ip=address,
        detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None)
    db.session.add(event)
    return event


def record_change(action, obj, before=None, after=None, *, actor=None):
    """Audit a create/update/delete with the fields that changed."""
    changed = None
    if before is not None and after is not None:
        changed = {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}
    elif after is not None:
        changed = after
    return record_event(action, obj, actor=actor, detail=changed)


def snapshot(obj, fields):
    return {f: getattr(obj, f) for f in fields}
