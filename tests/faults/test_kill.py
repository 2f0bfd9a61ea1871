"""A portal process killed with SIGKILL in the middle of a publish, a disposal or a backup
leaves no partial data: the next start (a new process, a new engine) finds the state of before
(issue 15 item 6). A job worker killed in the middle of an import is tests/test_job_worker.py's;
a backup that fails on a full disk is tests/test_backup.py's.

Each action runs as the portal runs it: a request to the real view (signed in as the demo user
who may do it), in a process of its own on a copy of the seeded demo, SQLite or PostgreSQL. An
event hook in that process stops it at a chosen point and tells this test, which kills it there:

- ``before_commit``: the action has written everything in its transaction (the hook counts the
  rows as that transaction sees them) and is about to commit;
- ``after_commit`` (disposal): the rows are committed, the files not removed yet.

``flask backup`` is killed in the middle of copying the database pages, or the stored files.
"""
import json
import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from .conftest import DEMO_PASSWORD, changed_tables, database_state, file_state

pytestmark = pytest.mark.xdist_group("faults")  # one worker: the demo is seeded once (conftest)

#: the child: signs in, does the action through its view, stops at the chosen point
ACTION = r"""
import json, sys, time
from pathlib import Path
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

marker, action, point, password = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

from portal import create_app
from portal.config import Config
from portal.extensions import db
from portal.models import Answer, Disposal, Notification, ReportRecipient, RollupRevision, Tombstone

app = create_app(Config, WTF_CSRF_ENABLED=False)
WATCHED = {"publish": RollupRevision, "dispose": Disposal}[action]
armed = []


@event.listens_for(Session, "after_flush")
def _arm(session, _context):
    if any(isinstance(obj, WATCHED) for obj in session.new):
        armed.append(True)


def _stop(seen):
    marker.write_text(json.dumps(seen))
    time.sleep(600)  # killed here


@event.listens_for(Session, "before_commit")
def _before_commit(session):
    if armed and point == "before_commit" and not session.in_nested_transaction():  # not a savepoint
        session.flush()
        count = lambda model: session.scalar(select(func.count()).select_from(model))
        _stop({"revisions": count(RollupRevision), "recipients": count(ReportRecipient),
               "notifications": count(Notification), "disposals": count(Disposal),
               "tombstones": count(Tombstone), "answers": count(Answer)})


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    if armed and point == "after_commit" and not session.in_nested_transaction():
        _stop({})


client = app.test_client()
user = {"publish": "quality1", "dispose": "archive1"}[action]
signed_in = client.post("/login", data={"username": user, "password": password})
assert signed_in.status_code == 303, signed_in.get_data(as_text=True)[:2000]
marker.with_suffix(".ready").touch()  # the test takes the state of before now (sign-in included)
while not marker.with_suffix(".go").exists():
    time.sleep(0.02)
with app.app_context():
    if action == "publish":
        quarter = db.session.scalar(select(RollupRevision.quarter).order_by(RollupRevision.published_at.desc()))
        url, data = f"/rollup/{quarter}/publish", {"reason": "复核后更正两份问卷，重新发布"}
    else:
        from portal.services.archive.disposal import eligible_ids
        ids = eligible_ids()
        assert ids, "the demo has no form eligible for disposal"
        url, data = "/archive/dispose", {"ids": [str(i) for i in ids], "reason": "保存期满，按档案制度销毁"}
done = client.post(url, data=data, headers={"Accept-Language": "en"})
print(action, point, done.status_code, done.headers.get("HX-Redirect") or done.headers.get("Location"))
assert done.status_code in (200, 302, 303), done.get_data(as_text=True)[:3000]
"""


def _run(child, portal, action, point):
    """The child, signed in: (its state of before, the child), the action under way."""
    running = child(ACTION, action, point, DEMO_PASSWORD, env=portal.env())
    running.wait_ready()
    before = database_state(portal.url), file_state(portal.instance)
    running.go()
    return before, running


# --- publish --------------------------------------------------------------------------------

def test_a_publish_killed_before_its_commit_leaves_the_state_before(portal, child):
    (before, files), running = _run(child, portal, "publish", "before_commit")
    seen = running.reached()
    running.kill()
    # it was killed with the revision, its recipients and their notifications written
    assert seen["revisions"] == len(before["rollup_revisions"]) + 1
    assert seen["recipients"] > len(before["report_recipients"])
    assert seen["notifications"] > len(before["notifications"])

    after = database_state(portal.url)
    assert changed_tables(before, after) == {}
    assert file_state(portal.instance) == files

    _, again = _run(child, portal, "publish", "none")  # the next start publishes normally
    again.finish()
    published = database_state(portal.url)
    assert len(published["rollup_revisions"]) == len(before["rollup_revisions"]) + 1  # one, not two


# --- disposal -------------------------------------------------------------------------------

def test_a_disposal_killed_before_its_commit_keeps_every_row_and_every_file(portal, child):
    (before, files), running = _run(child, portal, "dispose", "before_commit")
    assert [p for p in files if p.startswith("archive/")], "the seed rendered no archive copy"

    seen = running.reached()
    running.kill()
    assert seen["disposals"] == len(before["disposals"]) + 1
    assert seen["tombstones"] > len(before["tombstones"]) and seen["answers"] < len(before["answers"])

    after = database_state(portal.url)
    assert changed_tables(before, after) == {}
    assert file_state(portal.instance) == files  # no file goes before the commit

    _, again = _run(child, portal, "dispose", "none")  # the next start disposes of them, files too
    again.finish()
    disposed = database_state(portal.url)
    assert len(disposed["disposals"]) == len(before["disposals"]) + 1
    assert len(file_state(portal.instance)) < len(files)


def test_a_disposal_killed_after_its_commit_leaves_orphan_files_only(portal, child):
    """Killed between the commit and ``remove_files``: the disposal is whole in the database;
    the disposed forms' archive PDFs (and scans) stay on disk with no row pointing at them. No
    partial data; the copies go at the next sweep (``flask archive-report``, or the next
    disposal), recognised by the sha256 their tombstones keep, and nothing else goes with them."""
    (before, files), running = _run(child, portal, "dispose", "after_commit")
    running.reached()
    running.kill()

    after = database_state(portal.url)
    changed = changed_tables(before, after)
    assert {"disposals", "tombstones", "responses", "answers", "audit_events"} <= set(changed)
    assert len(after["disposals"]) == len(before["disposals"]) + 1
    assert file_state(portal.instance) == files  # every file still there: the disposed forms' too
    engine = create_engine(portal.url, poolclass=NullPool)
    with engine.connect() as conn:
        referenced = {f"archive/{name}" for name in conn.execute(
            text("SELECT archive_pdf FROM responses WHERE archive_pdf IS NOT NULL")).scalars()}
    engine.dispose()
    orphans = {p for p in files if p.startswith("archive/")} - referenced
    assert orphans, "the disposed forms' archive copies should be the orphans"
    assert len(orphans) == len(after["tombstones"]) - len(before["tombstones"])

    swept = portal.flask("archive-report")
    assert swept.returncode == 0, swept.stderr[-2000:]
    assert f"Removed {len(orphans)} archive copies" in swept.stdout
    assert set(file_state(portal.instance)) == set(files) - orphans  # the orphans, and only they


# --- backup ---------------------------------------------------------------------------------

#: the child: ``flask backup PATH`` (the real command) stopped while copying
BACKUP = r"""
import json, sys, time
from pathlib import Path

marker, where, target = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
from portal.services import backup

def stop(what):
    marker.write_text(json.dumps(what))
    time.sleep(600)  # killed here

if where == "database pages":
    backup.PAGES_PER_STEP = 4
    steps = []
    def pause(status, remaining, total):
        steps.append(remaining)
        if len(steps) == 3:
            stop({"remaining": remaining, "total": total})
    backup._pause = pause
else:
    real_copy, copied = backup._copy_file, []
    def copy_file(path, dest):
        entry = real_copy(path, dest)
        copied.append(str(dest))
        if len(copied) == 2:
            stop({"copied": copied})
        return entry
    backup._copy_file = copy_file

from flask.cli import main
sys.argv = ["flask", "backup", target]
main()
"""


@pytest.mark.parametrize("where", ["database pages", "files"])
def test_a_backup_killed_mid_copy_leaves_no_backup_and_the_previous_one_intact(seeded, child, tmp_path, where):
    """On SQLite (the backup of PostgreSQL is pg_dump's). What stays behind is the hidden staging
    directory (``.<name>.partial-<host>-<pid>-*``, beside the target): a killed process cannot
    remove it. The next backup there removes it (its process is gone) and works."""
    from portal.services.backup import verify_backup
    portal = seeded("sqlite")
    backups = tmp_path / "backups"
    state = database_state(portal.url)
    first = portal.flask("backup", str(backups / "monday"))
    assert first.returncode == 0, first.stderr[-2000:]
    kept = file_state(backups / "monday")

    running = child(BACKUP, where, backups / "tuesday", env=portal.env())
    seen = running.reached()
    running.kill()
    if where == "database pages":
        assert 0 < seen["remaining"] < seen["total"]
    else:
        assert len(seen["copied"]) == 2

    assert not (backups / "tuesday").exists()
    left = [p for p in os.listdir(backups) if p != "monday"]
    assert len(left) == 1 and left[0].startswith(".tuesday.partial-")  # the staging directory
    assert file_state(backups / "monday") == kept
    assert verify_backup(backups / "monday").tables == json.loads(
        (backups / "monday" / "manifest.json").read_text())["tables"]
    assert changed_tables(state, database_state(portal.url)) == {}

    again = portal.flask("backup", str(backups / "tuesday"))
    assert again.returncode == 0, again.stderr[-2000:]
    assert verify_backup(backups / "tuesday").tables == verify_backup(backups / "monday").tables
    assert sorted(os.listdir(backups)) == ["monday", "tuesday"]  # the dead one's staging is gone
