"""Recording, queueing and running jobs; the Job row is the one thing every page reads."""
import logging
import traceback
from datetime import timedelta

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from ..database import job_transactions, job_writes
from ..extensions import db
from ..models import Job
from ..models.base import utcnow
from .queue import huey

log = logging.getLogger(__name__)
_HANDLERS = {}
#: a running job that has not reported for this long has died with its worker
STALE_AFTER = timedelta(minutes=2)
#: a job that could not be handed to the queue (in the language of whoever started it)
QUEUE_DOWN = _l("The job queue could not be reached, so this job never started. Start it again in a minute.")


def immediate() -> bool:
    """Jobs run in the calling process at once (JOBS_IMMEDIATE: tests, flask commands)."""
    return bool(getattr(huey, "immediate", False))


class JobFailed(Exception):
    """A handler's way to fail with a message for the user (nothing it wrote is kept)."""


def job_handler(kind):
    """Register ``handler(job, **params) -> dict`` (its result) for jobs of ``kind``."""
    def register(handler):
        _HANDLERS[kind] = handler
        return handler
    return register


def start_job(kind, user, **params) -> Job:
    """Record a queued job and hand it to the worker once the caller commits; returns the Job."""
    if kind not in _HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    job = Job(kind=kind, state="queued", started_by_id=user.id if user else None, params=params)
    db.session.add(job)
    db.session.flush()
    job_id = job.id
    from sqlalchemy import event

    handed = []

    def _enqueue(committed):  # only a committed job can be picked up by another process
        if handed or committed.in_nested_transaction():
            return  # handed over already, or a savepoint released (begin_nested): not the commit yet
        handed.append(job_id)  # (a listener cannot remove itself while the event runs)
        try:
            run_job(job_id)
        except Exception:  # the queue (Redis) cannot be reached: what was committed stays, the job says why
            if immediate():
                raise  # run here (tests, flask commands): the job's own failure is already recorded
            log.error("job %s (%s) could not be queued", job_id, kind, exc_info=True)
            _set(job_id, state="failed", error=str(QUEUE_DOWN), finished_at=utcnow())
    event.listen(db.session(), "after_commit", _enqueue)
    return job


def progress(job, done, total=None, stage=None):
    """Report progress on its own short transaction (the page polls it); never fails the job.
    On SQLite nothing is recorded once the job writes (its transaction holds the only write lock)."""
    if getattr(job, "_writing", False) and db.engine.dialect.name == "sqlite":
        return
    values = {"done": done, "heartbeat_at": utcnow()}
    if total is not None:
        values["total"] = total
    if stage is not None:
        values["stage"] = stage
    try:
        with db.engine.begin() as conn:
            conn.execute(update(Job).where(Job.id == job.id).values(**values))
    except Exception:  # a busy database must not stop the work: the next report catches up
        log.warning("job %s: progress not recorded", job.id, exc_info=True)


def write_phase(job, done=None, stage="writing"):
    """The job now writes what it read and checked: one transaction from here to its end,
    committed by ``execute`` or rolled back. Call it before adding or changing anything (what the
    session loaded so far is expired and read again)."""
    progress(job, job.done if done is None else done, stage=stage)
    db.session.rollback()  # end the read snapshot: the write transaction starts fresh
    job_writes()
    job._writing = True


def effective_state(job, now=None) -> str:
    """The state to show: a running job without a heartbeat for STALE_AFTER was interrupted."""
    if job.state == "running" and (job.heartbeat_at or job.started_at or job.created_at) \
            < (now or utcnow()) - STALE_AFTER:
        return "interrupted"
    return job.state


def _set(job_id, **values):
    with db.engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(**values))


def _claim(job_id, now) -> bool:
    """queued → running, once: a job delivered twice runs once."""
    with db.engine.begin() as conn:
        claimed = conn.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                               .values(state="running", started_at=now, heartbeat_at=now))
        return claimed.rowcount == 1


def execute(job_id):
    """Run one job in this process: its handler's work commits as a whole or not at all."""
    with job_transactions():
        _execute(job_id)


def _execute(job_id):
    job = db.session.get(Job, job_id)
    if job is None or job.state != "queued":
        log.warning("job %s skipped: %s in %s", job_id, "not found" if job is None else job.state,
                    db.engine.url.render_as_string(hide_password=True))
        db.session.rollback()
        return
    kind, handler = job.kind, _HANDLERS[job.kind]
    db.session.rollback()  # no snapshot held while the state is written on another connection
    now = utcnow()
    started = _claim(job_id, now)
    if not started:
        return  # another worker took it
    job = db.session.get(Job, job_id)
    try:
        result = handler(job, **(job.params or {}))
        db.session.commit()
    except Exception as error:  # the work is rolled back; the job says why
        db.session.rollback()
        message = str(error) if isinstance(error, JobFailed) else f"{type(error).__name__}: {error}"
        if not isinstance(error, JobFailed):
            log.error("job %s (%s) failed\n%s", job_id, kind, traceback.format_exc())
        _set(job_id, state="failed", error=message[:4000], finished_at=utcnow())
        return
    _set(job_id, state="done", result=result or {}, finished_at=utcnow())


_worker_app = None


def _app():
    """The Flask app of a worker process (created once); in a web process, the current one."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from .. import create_app
        _worker_app = create_app()
    return _worker_app


@huey.task()
def run_job(job_id):
    """The Huey task: a fresh app context (and so a fresh database session) per job."""
    with _app().app_context():
        try:
            execute(job_id)
        finally:
            db.session.remove()
