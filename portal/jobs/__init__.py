"""Background jobs (issue 10): work that can outlast a request runs on a Huey worker.

- ``queue``: the Huey instance — SQLite storage in the instance folder by default (no extra
  server), Redis when ``REDIS_URL`` is set, in-process and immediate under ``JOBS_IMMEDIATE``.
- ``runner``: ``start_job(kind, user, **params)`` records a Job row and queues it; a handler
  registered with ``@job_handler(kind)`` does the work in one transaction and reports progress
  through ``progress(done, total)``. A handler that raises leaves nothing written (rollback) and
  the job says why; a worker that dies leaves a job whose heartbeat stops, shown as interrupted.
"""
from .runner import JobFailed, effective_state, job_handler, progress, start_job, write_phase  # noqa: F401
