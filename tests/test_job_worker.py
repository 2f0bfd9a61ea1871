"""A real job worker (issue 10): ``huey_consumer portal.jobs.worker.huey`` started as its own process,
as ``make run`` and production start it, runs an import job queued in its SQLite queue and records
the result in the test database (SQLite, or PostgreSQL under TEST_DATABASE_URL); a worker killed
in the middle of a large import leaves no case written and a job that shows as interrupted.

Everywhere else the tests run jobs in-process (JOBS_IMMEDIATE, tests/conftest.py). Here the job
row is written directly (``start_job`` would run it at once in this process) and the task is put
on a queue of the worker's own: a SqliteHuey on the jobs.sqlite3 of the worker's instance folder.
While the worker runs, this process reads in deferred transactions and ends each one at once, so
on SQLite it never holds the write lock the worker needs.
"""
import csv
import io
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from huey import SqliteHuey
from sqlalchemy import func, select, text

from portal.database import deferred_outside_requests
from portal.jobs import effective_state
from portal.jobs.queue import NAME
from portal.jobs.runner import STALE_AFTER, run_job
from portal.models import CaseImport, Job, ServiceCase
from portal.models.base import utcnow
from portal.services.cases.importer import import_file_path, store_import_file

ROOT = Path(__file__).resolve().parent.parent
HEADERS = ("case_id", "project_code", "priority", "reporter", "closed_at")
#: how long a worker may take to start and finish the small import
TIMEOUT = 30
#: rows of the import the worker is killed in: still running well after the worker started
LARGE = 200_000
#: on SQLite, how long the worker writes before it is killed (it takes seconds to write LARGE rows)
WRITING = 1.0


def tickets_csv(code, n, prefix="W"):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for i in range(n):
        writer.writerow((f"{prefix}-{i:06d}", code, ("P1", "P2", "P3", "P4")[i % 4], "王建国",
                         f"2026-10-{1 + i % 28:02d} {8 + i % 10:02d}:{i % 60:02d}"))
    return out.getvalue().encode("utf-8")


def queued_import(db, user, data, filename="工单导出.csv") -> int:
    """The job row ``queue_import`` would write (without queueing it in this process); its file
    stored where the worker's app looks (the same UPLOAD_FOLDER)."""
    stored = store_import_file(data)
    job = Job(kind="import_cases", state="queued", started_by_id=user.id,
              params={"stored_name": stored, "filename": filename, "mapping": dict(zip(HEADERS, HEADERS)),
                      "sheet": None, "user_id": user.id})
    db.session.add(job)
    db.session.commit()
    return job.id


def enqueue(instance, job_id):
    """Queue ``run_job(job_id)`` on the worker's queue. The test process's own Huey runs tasks
    immediately, so the task goes through a SqliteHuey of the worker's: the same function
    registered there has the same name (portal.jobs.runner.run_job), which the worker looks up."""
    queue = SqliteHuey(NAME, filename=str(instance / "jobs.sqlite3"), results=False)
    task = queue.task()(run_job.func)
    queue.enqueue(task.s(job_id))
    assert queue.pending_count() == 1


@contextmanager
def worker(app, instance):
    """``huey_consumer portal.jobs.worker.huey -w 1`` with the test app's database and uploads;
    stopped (SIGINT, then SIGKILL) when the block ends. Yields the process."""
    env = {k: v for k, v in os.environ.items() if k not in ("JOBS_IMMEDIATE", "REDIS_URL")}
    env.update(PORTAL_INSTANCE_PATH=str(instance), SECRET_KEY="worker-test-secret",
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"], PYTHONPATH=str(ROOT))
    consumer = Path(sys.executable).with_name("huey_consumer")
    command = [str(consumer)] if consumer.exists() else [sys.executable, "-m", "huey.bin.huey_consumer"]
    log = open(instance / "worker.log", "wb")
    process = subprocess.Popen([*command, "portal.jobs.worker.huey", "-w", "1"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = instance / "worker.log"
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # graceful: finish the running task, then exit
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        log.close()


def worker_log(process) -> str:
    return process.log_path.read_text(errors="replace")[-3000:]


def read_job(db, job_id) -> dict:
    """The job row as committed now, read in a transaction of its own (never holding a lock)."""
    with deferred_outside_requests():
        db.session.rollback()
        job = db.session.get(Job, job_id, populate_existing=True)
        row = {c: getattr(job, c) for c in ("state", "stage", "done", "total", "result", "error",
                                            "started_at", "heartbeat_at", "finished_at")}
        db.session.rollback()
    return row


def wait_for(db, process, job_id, condition, timeout=TIMEOUT, every=0.02) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        row = read_job(db, job_id)
        if condition(row):
            return row
        if process.poll() is not None:
            pytest.fail(f"the worker exited ({process.returncode}) with the job {row['state']}:\n"
                        f"{worker_log(process)}")
        if time.monotonic() > deadline:
            pytest.fail(f"the job is still {row['state']} ({row['stage']}) after {timeout} s; "
                        f"{_fresh_view(db, job_id)}:\n{worker_log(process)}")
        time.sleep(every)


def _fresh_view(db, job_id) -> str:
    """What a new connection (as the worker opens) sees of the job, to tell a job the worker
    could not see from one it skipped (its log says which: "job N skipped: ...")."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        return f"database {url.database}"
    import sqlite3
    path = Path(url.database)
    with sqlite3.connect(path, timeout=1) as conn:
        seen = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchall()
    return f"a new connection to {path} (inode {path.stat().st_ino}) sees {seen}"


def counts(db) -> tuple:
    with deferred_outside_requests():
        db.session.rollback()
        found = (db.session.scalar(select(func.count(ServiceCase.id))),
                 db.session.scalar(select(func.count(CaseImport.id))))
        db.session.rollback()
    return found


@pytest.fixture
def instance(tmp_path):
    """The worker's instance folder: its queue (jobs.sqlite3), secret and log."""
    folder = tmp_path / "worker-instance"
    folder.mkdir()
    return folder


def test_a_real_worker_runs_an_import_job(app, make, db, instance):
    quality = make.user("quality7", roles=("quality",))
    project = make.project(code="PRJ-W-001")
    job_id = queued_import(db, quality, tickets_csv(project.code, 12))
    stored = db.session.get(Job, job_id).params["stored_name"]
    enqueue(instance, job_id)

    with worker(app, instance) as process:
        row = wait_for(db, process, job_id, lambda r: r["state"] in ("done", "failed"))
        assert row["state"] == "done", f"{row['error']}\n{worker_log(process)}"
    assert row["result"]["state"] == "imported" and row["result"]["rows_added"] == 12, row["result"]
    assert row["total"] == 12 and row["stage"] == "writing" and row["finished_at"] >= row["started_at"]
    record = db.session.get(CaseImport, row["result"]["import_id"])
    assert record.file_name == "工单导出.csv" and record.imported_by_id == quality.id
    assert record.rows_read == record.rows_added == 12 and record.state == "imported"
    cases = db.session.scalars(select(ServiceCase).order_by(ServiceCase.external_id)).all()
    assert [c.external_id for c in cases] == [f"W-{i:06d}" for i in range(12)]
    assert {c.project_id for c in cases} == {project.id} and {c.quarter for c in cases} == {"2026Q4"}
    assert import_file_path(stored) is None  # the worker deleted the stored upload


def test_a_killed_worker_leaves_no_case_and_an_interrupted_job(app, make, db, instance):
    quality = make.user("quality8", roles=("quality",))
    project = make.project(code="PRJ-W-002")
    job_id = queued_import(db, quality, tickets_csv(project.code, LARGE, prefix="K"))
    stored = db.session.get(Job, job_id).params["stored_name"]
    enqueue(instance, job_id)
    postgres = db.engine.dialect.name == "postgresql"

    with worker(app, instance) as process:
        # killed while it writes: after write_phase, with (on PostgreSQL, where progress is still
        # reported while writing) some chunks inserted in its uncommitted transaction
        row = wait_for(db, process, job_id, lambda r: r["state"] != "queued" and (
            r["state"] != "running" or r["stage"] == "writing" and (not postgres or r["done"] > 0)))
        if not postgres:  # SQLite records no progress while the job writes: give it time to insert
            time.sleep(WRITING)
            row = read_job(db, job_id)
        assert row["state"] == "running", f"the import ended before the worker was killed: {row}"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        assert process.returncode == -signal.SIGKILL

    if postgres:  # the server ends the dead worker's transaction once it sees the connection gone
        _wait_for_other_sessions(db)
    assert counts(db) == (0, 0)  # nothing of the import was written, not even its record
    row = read_job(db, job_id)
    assert row["state"] == "running" and row["finished_at"] is None  # nobody was left to say more
    job = db.session.get(Job, job_id)
    assert effective_state(job) == "running"
    assert effective_state(job, now=utcnow() + STALE_AFTER + STALE_AFTER / 10) == "interrupted"
    path = import_file_path(stored)
    assert path is not None  # the job never reached its end, where it deletes the upload
    path.unlink()


def _wait_for_other_sessions(db, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = db.session.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state <> 'idle'"))
        db.session.rollback()
        if not busy:
            return
        time.sleep(0.05)
