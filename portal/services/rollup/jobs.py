"""The PDF report on the job worker (it takes seconds to lay out): compute the rollup of a period
— or thaw a published revision's figures — render it, and store the file in the instance
folder under a random name (never one a user gave); the job's page then offers it for download
to whoever started it (blueprints/jobs ``jobs.download``)."""
import re
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from ...extensions import db
from ...jobs import JobFailed, job_handler, progress, start_job
from ...models import RollupRevision
from ..pdf.rollup_report import pdf_page_count, render_rollup_report
from .figures import Rollup, thaw
from .period import parse_period
from .service import rollup

KIND = "rollup_report"
STAGES = ("computing", "rendering", "storing")
#: the only names a stored report has (what ``report_file_path`` accepts)
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.pdf$")


def reports_folder() -> Path:
    return Path(current_app.instance_path) / "reports"


def store_report_file(data: bytes) -> str:
    """Write ``data`` under a new random name in the reports folder; returns that name."""
    folder = reports_folder()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.pdf"
    (folder / name).write_bytes(data)
    return name


def report_file_path(stored_name):
    """The stored report of that name, or None (a name of any other shape is never looked up)."""
    if not isinstance(stored_name, str) or not STORED_NAME.match(stored_name):
        return None
    path = reports_folder() / stored_name
    return path if path.is_file() else None


def start_report_job(user, *, period=None, include_pending=False, revision_id=None):
    """Queue the PDF report of ``period`` (its text, e.g. 2026Q4) or of a published revision;
    runs once the caller commits. Returns the Job."""
    if (period is None) == (revision_id is None):
        raise ValueError("give a period or a revision, not both")
    if period is not None:
        period = parse_period(period).key  # DomainError for a text that names no period
    return start_job(KIND, user, period=period, include_pending=bool(include_pending), revision_id=revision_id)


@job_handler(KIND)
def run_rollup_report(job, period=None, include_pending=False, revision_id=None):
    """The job: figures, PDF, file. Its result: {"file": stored name, "filename": download name, "pages": n}."""
    total = len(STAGES)
    progress(job, 0, total=total, stage="computing")
    revision = None
    if revision_id is not None:
        revision = db.session.get(RollupRevision, revision_id)
        if revision is None:
            raise JobFailed(str(_l("This revision no longer exists.")))
        report = thaw(Rollup, revision.figures)
    else:
        report = rollup(parse_period(period), include_pending=include_pending)
    progress(job, 1, total=total, stage="rendering")
    pdf = render_rollup_report(report, revision=revision)
    progress(job, 2, total=total, stage="storing")
    stored = store_report_file(pdf.data)
    progress(job, 3, total=total, stage="storing")
    return {"file": stored, "filename": pdf.filename, "pages": pdf_page_count(pdf.data)}
