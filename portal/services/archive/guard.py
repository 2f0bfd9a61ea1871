"""Archived forms are read-only (DESIGN §4.6), enforced where every write passes: the ORM's
flush. Whatever view, job or command changes an archived response, its answers or scans, the
history of its follow-up or its callback record, the flush raises ``ArchivedRecord`` (a
DomainError: the page says why, never a 500) and nothing is written. The database's triggers
(models/archive_guard.py) refuse the same for SQL that bypasses the ORM.

What may still change on an archived form: its legal hold, its archive PDF (rendered once at
hand-over) and, by a disposal (services.archive.disposal) once its date has passed and no hold
is on it, its content — emptied, never edited."""
from flask_babel import gettext as _
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from ...models import Answer, Attachment, CallAttempt, CallbackTask, FollowUp, FollowUpEvent, Response
from .. import DomainError

#: what a hand-over, the archive PDF job, a hold and a disposal set on an archived form
MAY_CHANGE = {"legal_hold", "archive_pdf", "archive_pdf_sha256", "archive_pdf_size", "handover_id",
              "disposed_at", "disposal_id"}
#: what only a disposal empties
CONTENT = {"comment", "contact_id", "client_ip", "user_agent"}


class ArchivedRecord(DomainError):
    """An archived record may not be changed or deleted."""


def refuse(response=None):
    if response is not None and response.retain_until is not None:
        raise ArchivedRecord(_("Form no. %(id)s is archived: it is read-only and kept until %(date)s.",
                               id=response.id, date=response.retain_until.strftime("%Y-%m-%d")))
    raise ArchivedRecord(_("This record belongs to an archived form: it is read-only."))


def _before(obj, key):
    """The value ``key`` had before this flush."""
    history = inspect(obj).attrs[key].history
    return history.deleted[0] if history.deleted else (history.unchanged[0] if history.unchanged else None)


def was_archived(response) -> bool:
    """Archived before this flush (the hand-over itself sets archived_at)."""
    return response is not None and _before(response, "archived_at") is not None


def ensure_editable(response):
    """For services, before they change a form: refuse an archived one with the clear message."""
    if response is not None and response.archived_at is not None:
        refuse(response)


def _changed_columns(obj):
    state = inspect(obj)
    return {attr.key for attr in state.mapper.column_attrs if state.attrs[attr.key].history.has_changes()}


def _check_response(response, deleted):
    if not was_archived(response):
        return
    if deleted:
        refuse(response)
    changed = _changed_columns(response)
    disposing = "disposed_at" in changed and _before(response, "disposed_at") is None
    if "disposed_at" in changed and not disposing:
        refuse(response)  # disposed of once, for good
    if disposing and response.legal_hold:
        refuse(response)
    if changed - MAY_CHANGE - (CONTENT if disposing else set()):
        refuse(response)
    if "archive_pdf_sha256" in changed and _before(response, "archive_pdf_sha256") is not None and not disposing:
        refuse(response)  # rendered once: the stored copy is never replaced


def _owner(session, obj):
    """The response an answer, scan, follow-up event, callback task or call belongs to (by its
    relationship, or by its id when only that was set)."""
    if isinstance(obj, CallAttempt):
        obj = obj.task if obj.task is not None else session.get(CallbackTask, obj.task_id)
    if isinstance(obj, FollowUpEvent):
        obj = obj.followup if obj.followup is not None else session.get(FollowUp, obj.followup_id)
    if obj is None:
        return None
    if obj.response is not None:
        return obj.response
    return session.get(Response, obj.response_id) if obj.response_id is not None else None


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_archived(session, _context, _instances):
    for obj in session.dirty:
        if isinstance(obj, Response) and session.is_modified(obj, include_collections=False):
            _check_response(obj, deleted=False)
    for obj in session.deleted:
        if isinstance(obj, Response):
            _check_response(obj, deleted=True)
    children = [o for o in (*session.new, *session.dirty, *session.deleted)
                if isinstance(o, (Answer, Attachment, FollowUpEvent, CallbackTask, CallAttempt))]
    for obj in children:
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        response = _owner(session, obj)
        if response is None or response.archived_at is None:
            continue
        if obj in session.new and isinstance(obj, FollowUpEvent):
            continue  # the follow-up's loop goes on: new steps are added, past ones never change
        if obj in session.deleted and isinstance(obj, (Answer, Attachment)) and response.disposed_at is not None:
            continue  # the disposal empties the form
        refuse(response)
