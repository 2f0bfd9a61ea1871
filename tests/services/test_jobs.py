"""Background jobs: recorded, run once committed (in-process here), progress reported on its own
transaction, a failing job rolls its work back and says why, a dead worker shows as interrupted."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.jobs import JobFailed, effective_state, job_handler, progress, start_job, write_phase
from portal.jobs.runner import execute
from portal.models import Client, Job
from portal.models.base import utcnow

@job_handler("test_write")
def _write(job, name, fail=None):
    from portal.extensions import db
    progress(job, 0, 2, stage="reading")
    write_phase(job, 1)
    db.session.add(Client(name=name))
    db.session.flush()
    if fail == "domain":
        raise JobFailed("row 7: unknown project")
    if fail == "crash":
        raise RuntimeError("disk on fire")
    return {"written": name}


def test_a_job_runs_once_committed_and_records_its_result(make, db):
    user = make.user(roles=("quality",))
    job = start_job("test_write", user, name="甲公司")
    assert db.session.get(Job, job.id).state == "queued"  # nothing runs before the commit
    db.session.commit()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.state == "done" and job.result == {"written": "甲公司"} and job.started_by_id == user.id
    assert job.started_at and job.finished_at and job.total == 2 and job.done == 1 and job.stage == "writing"
    assert db.session.scalar(select(func.count(Client.id)).where(Client.name == "甲公司")) == 1


@pytest.mark.parametrize("fail, message", [("domain", "row 7: unknown project"),
                                           ("crash", "RuntimeError: disk on fire")])
def test_a_failing_job_leaves_nothing_written_and_says_why(make, db, fail, message):
    job = start_job("test_write", None, name="乙公司", fail=fail)
    db.session.commit()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.state == "failed" and job.error == message and job.finished_at is not None
    assert db.session.scalar(select(func.count(Client.id)).where(Client.name == "乙公司")) == 0


def test_a_job_is_run_only_once(make, db):
    job = start_job("test_write", None, name="丙公司")
    db.session.commit()
    execute(job.id)  # delivered twice: the second run finds it no longer queued
    assert db.session.scalar(select(func.count(Client.id)).where(Client.name == "丙公司")) == 1


def test_a_running_job_without_a_heartbeat_shows_as_interrupted(db):
    now = utcnow()
    job = Job(kind="test_write", state="running", started_at=now - timedelta(minutes=10),
              heartbeat_at=now - timedelta(minutes=5), params={})
    assert effective_state(job, now) == "interrupted"
    job.heartbeat_at = now - timedelta(seconds=20)
    assert effective_state(job, now) == "running"


def test_an_unknown_kind_is_refused(db):
    with pytest.raises(ValueError):
        start_job("no_such_kind", None)


def test_a_job_the_queue_cannot_take_fails_and_keeps_what_was_committed(make, db, monkeypatch):
    """Redis down when a job starts: the request that started it (and committed its own rows
    with it) gets no error page; the job shows as failed with the reason, to be started again."""
    from huey import RedisHuey

    from portal.jobs import runner
    dead = RedisHuey("portal-test-dead", url="redis://127.0.0.1:1/0", results=False)  # nothing listens on 1
    monkeypatch.setattr(runner, "huey", dead)
    monkeypatch.setattr(runner, "run_job", dead.task()(runner.run_job.func))
    db.session.add(Client(name="丁公司"))
    job = start_job("test_write", None, name="戊公司")
    db.session.commit()  # no exception: the queue's failure is the job's
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.state == "failed" and job.error == str(runner.QUEUE_DOWN) and job.finished_at is not None
    assert db.session.scalar(select(func.count(Client.id)).where(Client.name == "丁公司")) == 1
    assert db.session.scalar(select(func.count(Client.id)).where(Client.name == "戊公司")) == 0
