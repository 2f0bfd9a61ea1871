"""Disposal (DESIGN §4.6 item 3): the archive role's deliberate batch action on forms whose
retention date has passed and that no legal hold protects — refused here, for the whole batch,
if any form is not eligible (not only hidden on the screen).

What goes: the answers, the comment, the link to the contact, the address and browser it came
from, the scans and the archive PDF (files and rows), the answers quoted in its follow-up's
triggers and the details of its audit events. What stays: the response row (emptied; its score
stays a bare number), a Tombstone (id, quarter, project, channel, dates, the PDF's checksum),
the Disposal (who, when, why, how many) and an audit event. On SQLite, ``secure_delete`` zeroes
what is deleted and a checkpoint moves it out of the write-ahead log (``scrub``)."""
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload

from ...extensions import db
from ...models import AuditEvent, Disposal, FollowUp, Response, Tombstone, User
from ...models.base import utcnow
from .. import DomainError
from ..audit import record_event
from .copies import STORED_NAME, archive_folder, copy_path

MAX_BATCH = 5000
SCRUB_WAIT_MS = 2000
#: an archive copy no form points at is a copies job's still running (it records its files at its
#: end) until it is this old; past it, one whose job was killed
ORPHAN_GRACE = timedelta(days=1)
log = logging.getLogger(__name__)
REDACTED = json.dumps({"redacted": "disposed"})


def may_dispose(user) -> bool:
    return user is not None and user.is_active and user.has_role("archive")


def eligible_condition(now):
    return (Response.archived_at.is_not(None), Response.disposed_at.is_(None),
            Response.legal_hold.is_(False), Response.retain_until <= now)


def eligible_ids(now=None, quarter=None) -> list:
    query = select(Response.id).where(*eligible_condition(now or utcnow())).order_by(Response.id)
    if quarter:
        query = query.where(Response.quarter == quarter)
    return db.session.scalars(query).all()


def why_not(response, now) -> Optional[str]:
    """Why ``response`` may not be disposed of now, or None."""
    if response.archived_at is None:
        return _("form no. %(id)s is not archived", id=response.id)
    if response.disposed_at is not None:
        return _("form no. %(id)s was disposed of already", id=response.id)
    if response.legal_hold:
        return _("form no. %(id)s is on legal hold", id=response.id)
    if response.retain_until > now:
        return _("form no. %(id)s is kept until %(date)s", id=response.id,
                 date=response.retain_until.strftime("%Y-%m-%d"))
    return None


@dataclass(frozen=True)
class Batch:
    """What a disposal would remove: shown for confirmation, then disposed of as shown."""
    ids: tuple
    count: int
    oldest: datetime            # the earliest submission
    newest: datetime            # the latest submission
    kept_until_first: datetime
    kept_until_last: datetime
    quarters: tuple


def _load(ids, lock=False):
    try:
        ids = sorted({int(i) for i in ids})
    except (TypeError, ValueError):
        raise DomainError(_("Choose the forms to dispose of."), field="ids") from None
    if not ids:
        raise DomainError(_("Choose the forms to dispose of."), field="ids")
    if len(ids) > MAX_BATCH:
        raise DomainError(_("At most %(n)d forms in one batch.", n=MAX_BATCH), field="ids")
    query = select(Response).where(Response.id.in_(ids)).options(selectinload(Response.attachments))
    responses = db.session.scalars(query.with_for_update() if lock else query).all()
    if len(responses) != len(ids):
        raise DomainError(_("Some of the chosen forms do not exist."), field="ids")
    return responses


def prepare(ids, now=None, lock=False) -> tuple:
    """(Batch, responses) for the chosen ids; DomainError naming every form that is not eligible."""
    now = now or utcnow()
    responses = _load(ids, lock=lock)
    refused = [reason for reason in (why_not(r, now) for r in responses) if reason]
    if refused:
        shown = "; ".join(refused[:10]) + ("; …" if len(refused) > 10 else "")
        raise DomainError(_("Nothing was disposed of: %(reasons)s.", reasons=shown), field="ids")
    submitted = [r.submitted_at for r in responses]
    kept = [r.retain_until for r in responses]
    batch = Batch(tuple(r.id for r in responses), len(responses), min(submitted), max(submitted), min(kept),
                  max(kept), tuple(sorted({r.quarter for r in responses})))
    return batch, responses


def dispose(ids, *, actor, reason, now=None) -> Disposal:
    """Dispose of the chosen forms, all or none; returns the Disposal with its tombstones."""
    if not may_dispose(actor):
        raise DomainError(_("Only the archive disposes of forms."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the disposal."), field="reason")
    now = now or utcnow()
    batch, responses = prepare(ids, now, lock=True)
    disposal = Disposal(disposed_by_id=actor.id, disposed_at=now, reason=reason[:2000], records=batch.count)
    db.session.add(disposal)
    db.session.flush()
    files = []
    for response in responses:
        db.session.add(Tombstone(disposal_id=disposal.id, response_id=response.id, quarter=response.quarter,
                                 project_id=response.project_id, channel=response.channel,
                                 submitted_at=response.submitted_at, archived_at=response.archived_at,
                                 retain_until=response.retain_until, pdf_sha256=response.archive_pdf_sha256))
        files += [copy_path(response.archive_pdf)] + [_scan_path(a) for a in response.attachments]
        response.disposed_at, response.disposal_id = now, disposal.id
        response.comment = response.contact_id = response.client_ip = response.user_agent = None
        response.archive_pdf = response.archive_pdf_size = None
        for child in (*response.answers, *response.attachments):
            db.session.delete(child)
    db.session.flush()
    _redact_traces(batch.ids)
    record_event("archive_disposed", disposal, actor=actor,
                 detail={"records": batch.count, "quarters": list(batch.quarters), "reason": reason[:2000],
                         "oldest": batch.oldest, "newest": batch.newest})
    db.session.flush()
    disposal._files = [f for f in files if f is not None]  # removed once the caller has committed
    return disposal


def _scan_path(attachment):
    from ..uploads import scan_path
    return scan_path(attachment)


def _redact_traces(ids):
    """The copies of the content elsewhere: audit details about these forms, the answers their
    follow-ups quote (the follow-up itself, and its history, stay)."""
    texts = [str(i) for i in ids]
    db.session.execute(update(AuditEvent).where(AuditEvent.object_type == "Response",
                                                AuditEvent.object_id.in_(texts)).values(detail=REDACTED))
    for followup in db.session.scalars(select(FollowUp).where(FollowUp.response_id.in_(ids))):
        followup.triggers = [{k: v for k, v in t.items() if k not in ("answer",)} | {"answer": None}
                             for t in (followup.triggers or [])]


def remove_files(disposal):
    """After the commit: delete the disposed forms' files (before it, a rollback would keep rows
    whose files were gone)."""
    for path in getattr(disposal, "_files", ()):
        path.unlink(missing_ok=True)


def sweep_orphan_copies(grace=ORPHAN_GRACE) -> int:
    """Archive copies on disk that no form points at, removed: a disposed form's (a disposal
    killed between its commit and ``remove_files``; its tombstone keeps the copy's sha256, so it
    goes at once), and a copies job's that never recorded its files (killed; once ``grace`` old,
    past any job still running). Returns how many files went. Run after each disposal and by
    ``flask archive-report``."""
    folder = archive_folder()
    if not folder.is_dir():
        return 0
    on_disk = [p for p in folder.iterdir() if STORED_NAME.match(p.name) and p.is_file()]
    if not on_disk:
        return 0
    referenced = set(db.session.scalars(select(Response.archive_pdf).where(Response.archive_pdf.is_not(None))))
    disposed = set(db.session.scalars(select(Tombstone.pdf_sha256).where(Tombstone.pdf_sha256.is_not(None))))
    old = time.time() - grace.total_seconds()
    removed = 0
    for path in on_disk:
        if path.name in referenced:
            continue
        if path.stat().st_mtime < old or hashlib.sha256(path.read_bytes()).hexdigest() in disposed:
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.warning("archive: %d copies no form points at were removed", removed)
    return removed


def scrub():
    """After the commit, on SQLite: move the zeroed pages from the write-ahead log into the file
    and empty the log, so no copy of the disposed content stays readable on disk."""
    if db.engine.dialect.name != "sqlite":
        return
    raw = db.engine.raw_connection()  # outside any transaction: a checkpoint cannot run in one
    conn = raw.driver_connection
    try:
        # a long read elsewhere holds the log: wait for it briefly, not the writers' 15 s (the
        # zeroed pages reach the file at the next checkpoint, and the log is overwritten)
        conn.execute(f"PRAGMA busy_timeout = {SCRUB_WAIT_MS}")
        busy, _frames, _moved = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.warning("disposal: the write-ahead log could not be emptied now (a reader held it)")
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(current_app.config['SQLITE_BUSY_TIMEOUT_MS'])}")
        raw.close()


def tombstones(quarter=None, limit=500) -> list:
    query = (select(Tombstone).options(joinedload(Tombstone.disposal).joinedload(Disposal.disposed_by)
                                       .lazyload(User.role_rows), joinedload(Tombstone.project))
             .order_by(Tombstone.response_id).limit(limit))
    if quarter:
        query = query.where(Tombstone.quarter == quarter)
    return db.session.scalars(query).all()


def disposals(limit=50) -> list:
    return db.session.scalars(select(Disposal).options(joinedload(Disposal.disposed_by).lazyload(User.role_rows))
                              .order_by(Disposal.disposed_at.desc()).limit(limit)).all()
