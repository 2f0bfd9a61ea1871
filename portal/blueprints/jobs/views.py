"""One job's page: who started it, its state, a progress bar that htmx refreshes while it runs,
and its result or error, or the file it made. Its starter sees it, and administrators."""
from flask import Blueprint, abort, send_file
from flask_login import current_user

from ...authz import access
from ...extensions import db
from ...htmx import render
from ...jobs import effective_state
from ...models import Job
from ...services.rollup.jobs import report_file_path  # registers the report job's handler too

bp = Blueprint("jobs", __name__)
#: where a finished job of each kind sends its user (endpoint, result key → URL parameter)
RESULT_LINKS = {"import_cases": ("cases.import_detail", "import_id")}
#: the kinds of job whose result is a stored file: how to find it by its stored name, and its type
RESULT_FILES = {"rollup_report": (report_file_path, "application/pdf")}


def get_job_or_404(job_id):
    """The job, for the user who started it (and administrators); 404 for everyone else, as if
    it did not exist (a job is a user's own, like a notification)."""
    job = db.session.get(Job, job_id)
    if job is None or (job.started_by_id != current_user.id and not current_user.has_role("admin")):
        abort(404)
    return job


@bp.route("/jobs/<int:job_id>")
@access()
def detail(job_id):
    """The job; htmx polls the status box (every second while it is queued or running)."""
    job = get_job_or_404(job_id)
    return render("jobs/detail.html", "jobs/_status.html", job=job, state=effective_state(job),
                  result_links=RESULT_LINKS)


@bp.route("/jobs/<int:job_id>/file")
@access()
def download(job_id):
    """The file a finished job made, as an attachment; 404 while there is none."""
    job = get_job_or_404(job_id)
    found, mimetype = RESULT_FILES.get(job.kind, (None, None))
    result = job.result or {}
    path = found(result.get("file")) if found and job.state == "done" else None
    if path is None:
        abort(404)
    return send_file(path, mimetype=mimetype, as_attachment=True,
                     download_name=result.get("filename") or path.name, max_age=0)
