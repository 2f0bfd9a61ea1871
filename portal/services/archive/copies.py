"""The archive copy of each handed-over form (DESIGN §4.6, §7): its filled PDF, rendered once by
the job worker and stored in the instance's archive folder under a random name with its sha256
and size; reading it back checks the checksum, so a copy changed on disk is reported, never
served as if it were the original."""
import hashlib
import re
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...jobs import JobFailed, job_handler, progress, start_job
from ...jobs.runner import write_phase
from ...models import ArchiveHandover, Response
from .. import DomainError
from ..audit import record_event
from ..pdf.filled_response import render_filled_response

KIND = "archive_copies"
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.pdf$")


class CopyDamaged(DomainError):
    """The stored copy's checksum is not the one recorded at hand-over."""


def archive_folder() -> Path:
    return Path(current_app.instance_path) / "archive"


def copy_path(stored_name):
    """The stored copy of that name, or None (a name of any other shape is never looked up)."""
    if not isinstance(stored_name, str) or not STORED_NAME.match(stored_name):
        return None
    return archive_folder() / stored_name


def start_copies_job(handover, user):
    return start_job(KIND, user, handover_id=handover.id)


@job_handler(KIND)
def render_copies(job, handover_id):
    """Render the PDF of every form of the hand-over that has none yet; then record them all at
    once (a failure keeps none: the files written are removed)."""
    handover = db.session.get(ArchiveHandover, handover_id)
    if handover is None:
        raise JobFailed(str(_l("This hand-over no longer exists.")))
    responses = db.session.scalars(
        select(Response).where(Response.handover_id == handover_id, Response.archive_pdf.is_(None),
                               Response.disposed_at.is_(None))
        .options(selectinload(Response.attachments)).order_by(Response.id)).all()
    total = len(responses)
    progress(job, 0, total=total, stage="rendering")
    folder = archive_folder()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        rendered = []
        for done, response in enumerate(responses, start=1):
            data = render_filled_response(response).data
            name = f"{secrets.token_hex(16)}.pdf"
            (folder / name).write_bytes(data)
            written.append(folder / name)
            rendered.append((response.id, name, hashlib.sha256(data).hexdigest(), len(data)))
            progress(job, done, total=total, stage="rendering")
        write_phase(job, done=total, stage="storing")  # the session's read snapshot ends here
        for response_id, name, digest, size in rendered:
            response = db.session.get(Response, response_id)
            response.archive_pdf, response.archive_pdf_sha256, response.archive_pdf_size = name, digest, size
        db.session.flush()
    except Exception:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return {"rendered": total, "quarter": handover.quarter}


def read_copy(response, *, actor=None) -> bytes:
    """The stored PDF of ``response``, its checksum verified. A missing or changed file raises
    CopyDamaged (and is audited); not rendered yet: DomainError."""
    if response.disposed_at is not None:
        raise DomainError(_("Form no. %(id)s was disposed of: its archive copy is gone.", id=response.id))
    if not response.archive_pdf:
        raise DomainError(_("The archive copy of form no. %(id)s is still being rendered.", id=response.id))
    path = copy_path(response.archive_pdf)
    data = path.read_bytes() if path is not None and path.is_file() else None
    if data is None or hashlib.sha256(data).hexdigest() != response.archive_pdf_sha256:
        record_event("archive_copy_damaged", response, actor=actor,
                     detail={"expected": response.archive_pdf_sha256, "missing": data is None})
        raise CopyDamaged(_("The archive copy of form no. %(id)s does not match the checksum recorded when it was "
                            "archived (%(sha)s…): it was changed or lost on disk and is not served. Restore it "
                            "from a backup.", id=response.id, sha=response.archive_pdf_sha256[:12]))
    return data
