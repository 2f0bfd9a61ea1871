"""flask backup / flask restore (issue 14 item 7, services/backup.py).

The SQLite tests build portals of their own (a SQLite file and an instance folder in a temporary
directory, the schema from the migrations), so they run the same whatever database the session
app uses; the PostgreSQL round trip runs when TEST_DATABASE_URL is PostgreSQL (and pg_dump is
installed). What is proved:

- a backup taken while another process commits transactions holds whole transactions only and
  passes SQLite's integrity check, and its manifest counts what it holds;
- backup then restore into a new instance gives the same rows per table and the same bytes of
  every stored file, and a portal that starts on it finds its data;
- a backup changed after it was written is refused, and the refusal writes nothing;
- a backup that fails (disk full) leaves neither a partial backup nor its temporary directory,
  and the earlier backup beside it is intact;
- the commands' exit codes and messages, including refusals.
"""
import errno
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import Project, User
from portal.services import backup
from portal.services.backup import BackupError, make_backup, restore_backup, verify_backup

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "demo-password-1"

#: the writer of the concurrency test: commits batches of ROWS audit events together with a
#: settings row holding the batch number, through the portal's own engine (WAL, BEGIN IMMEDIATE)
ROWS = 5
WRITER = f"""
import sys
from pathlib import Path
from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import AuditEvent, Setting

database, stop = sys.argv[1], Path(sys.argv[2])
app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite:///" + database)
with app.app_context():
    batch = 0
    while not stop.exists():
        batch += 1
        for i in range({ROWS}):
            db.session.add(AuditEvent(action="backup_test", object_type="batch", object_id=str(batch),
                                      detail="x" * 2000))
        counter = db.session.get(Setting, "backup_test.batches") or Setting(key="backup_test.batches")
        counter.value = batch
        db.session.add(counter)
        db.session.commit()
"""


@pytest.fixture(scope="module")
def schema_db(tmp_path_factory):
    """An empty SQLite database at the migrations' head (copied for each portal: faster)."""
    from flask_migrate import upgrade
    path = tmp_path_factory.mktemp("schema") / "portal.sqlite3"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
                     UPLOAD_FOLDER=str(path.parent / "uploads"))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture
def portal(schema_db, tmp_path):
    """``portal(name)``: a portal on SQLite in its own instance folder under tmp_path, with the
    schema (``empty=True``: no database file at all, as on a new machine)."""
    made = []

    def make(name, *, empty=False, instance=None):
        instance = instance or tmp_path / name
        instance.mkdir(exist_ok=True)
        if not empty and not (instance / "portal.sqlite3").exists():
            shutil.copyfile(schema_db, instance / "portal.sqlite3")
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance}/portal.sqlite3",
                         UPLOAD_FOLDER=str(instance / "uploads"))
        app.instance_path = str(instance)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def sqlite_counts(path):
    conn = sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def file_hashes(folder):
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def every_path(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def seed_small(app):
    """A user, a project and three stored files (upload folder and reports), committed."""
    from portal.services.rollup.jobs import store_report_file
    from tests import factories
    with app.app_context():
        factories.project(code="BK-1")
        db.session.commit()
        folder = Path(app.config["UPLOAD_FOLDER"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "scan-1").write_bytes(os.urandom(50_000))
        (folder / "scan-2").write_bytes(b"%PDF-1.4 scan two")
        store_report_file(b"%PDF-1.4 report")


# 1. consistency under concurrent writes ----------------------------------------------------

def test_backup_while_another_process_commits_holds_whole_transactions(portal, tmp_path, monkeypatch):
    app = portal("live")
    database = Path(app.instance_path) / "portal.sqlite3"
    stop = tmp_path / "stop-writer"
    log = tmp_path / "writer.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(log, "wb") as err:
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(database), str(stop)], env=env,
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)

    def batches():
        conn = sqlite3.connect(database, timeout=5)
        try:
            row = conn.execute("SELECT value FROM settings WHERE key = 'backup_test.batches'").fetchone()
            return int(row[0]) if row else 0
        finally:
            conn.close()

    try:
        deadline = time.monotonic() + 60
        while batches() < 300:  # ~3 MB of rows before the backup starts
            assert writer.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the writer did not get going"
            time.sleep(0.05)
        monkeypatch.setattr(backup, "PAGES_PER_STEP", 8)  # many small steps: the copy takes a while
        before = batches()
        result = make_backup(tmp_path / "backup", app=app)
        after = batches()
        assert writer.poll() is None, "the writer stopped (was it blocked or did it fail?)"
    finally:
        stop.touch()
        writer.wait(timeout=30)
    assert writer.returncode == 0, log.read_text()[-2000:]

    copy = tmp_path / "backup" / "portal.sqlite3"
    conn = sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        counter = int(conn.execute(
            "SELECT value FROM settings WHERE key = 'backup_test.batches'").fetchone()[0])
        per_batch = dict(conn.execute("SELECT CAST(object_id AS INTEGER), count(*) FROM audit_events "
                                      "WHERE action = 'backup_test' GROUP BY object_id").fetchall())
    finally:
        conn.close()
    assert before <= counter < after  # the copy is one moment of the live database
    assert after - before >= 10, "the writer committed hardly anything while the backup ran"
    assert per_batch == {b: ROWS for b in range(1, counter + 1)}  # every transaction whole, none later
    assert result.tables == sqlite_counts(copy) == json.loads((tmp_path / "backup" / "manifest.json")
                                                             .read_text())["tables"]
    assert result.tables["audit_events"] == ROWS * counter
    assert not list(copy.parent.glob("portal.sqlite3-*"))  # one self-contained file, no -wal beside it
    verify_backup(tmp_path / "backup")


# 2. round trip ------------------------------------------------------------------------------

def test_restore_into_a_new_instance_gives_the_same_rows_and_files(portal, tmp_path):
    from portal.demo import load_demo_data
    from portal.services.cases.importer import store_import_file
    from portal.services.complaints.evidence import write_upload
    from portal.services.rollup.jobs import store_report_file

    source = portal("source")
    instance = Path(source.instance_path)
    with source.app_context():
        load_demo_data(PASSWORD)
        db.session.commit()
        write_upload(b"\xff\xd8\xff evidence photo" + os.urandom(20_000))
        store_import_file("工单号,项目\nT-1,BK\n".encode("gb18030"))
        store_report_file(b"%PDF-1.4 quarterly report")
    (instance / "archive" / "2026").mkdir(parents=True)  # any other folder of stored files goes too
    (instance / "archive" / "2026" / "handover.pdf").write_bytes(b"%PDF-1.4 archive")
    (instance / "secret_key").write_text("not-to-be-copied")
    source_counts = sqlite_counts(instance / "portal.sqlite3")
    source_files = {"uploads": file_hashes(instance / "uploads"), "reports": file_hashes(instance / "reports"),
                    "archive": file_hashes(instance / "archive")}
    assert len(source_files["uploads"]) == 2 and source_counts["users"] == 9

    made = make_backup(tmp_path / "backups" / "nightly", app=source)
    manifest = json.loads((made.path / "manifest.json").read_text())
    assert manifest["tables"] == source_counts and manifest["revision"]
    assert manifest["left_out"] == ["secret_key"] and "secret_key" in manifest["note"]
    assert not any("secret_key" in p for p in every_path(made.path))

    target = portal("target", empty=True)
    restored = restore_backup(made.path, app=target, force=False)
    new = Path(target.instance_path)
    assert restored.tables == source_counts == sqlite_counts(new / "portal.sqlite3")
    assert {name: file_hashes(new / name) for name in source_files} == source_files
    assert restored.files == sum(map(len, source_files.values())) and not (new / "secret_key").exists()
    assert not [p for p in os.listdir(new) if p.startswith(".")]  # no staging left behind

    started = portal("target", instance=new)  # the portal starting on the restored instance
    with started.app_context():
        from portal.services.accounts import authenticate
        assert db.session.scalar(select(func.count(Project.id))) == source_counts["projects"] == 20
        assert authenticate("pm1", PASSWORD) is not None
        assert db.session.scalar(select(User.display_name).where(User.username == "pm1")) == "项目经理 张伟"


# 3. tampered backups ------------------------------------------------------------------------

@pytest.mark.parametrize("tamper", ["file", "database", "extra file"])
def test_changed_backup_is_refused_and_nothing_is_written(portal, tmp_path, tamper):
    source = portal("source")
    seed_small(source)
    made = make_backup(tmp_path / "backup", app=source)
    if tamper == "extra file":
        (made.path / "files" / "uploads" / "planted").write_bytes(b"x")
    else:
        victim = made.path / ("portal.sqlite3" if tamper == "database" else "files/uploads/scan-2")
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0x01  # one bit of one byte
        victim.write_bytes(bytes(data))

    target = portal("target", empty=True)
    before = every_path(target.instance_path)
    with pytest.raises(BackupError) as refused:
        restore_backup(made.path, app=target, force=True)
    expected = {"file": "files/uploads/scan-2 does not match its sha256",
                "database": "portal.sqlite3 does not match its sha256",
                "extra file": "files/uploads/planted is not in the manifest"}[tamper]
    assert expected in refused.value.message
    assert every_path(target.instance_path) == before  # no database, no folder, no staging


# 4. a backup that fails ---------------------------------------------------------------------

@pytest.mark.parametrize("into", ["new path", "empty directory"])
def test_failed_backup_leaves_no_trace_and_keeps_the_previous_one(portal, tmp_path, monkeypatch, into):
    source = portal("source")
    seed_small(source)
    backups = tmp_path / "backups"
    first = make_backup(backups / "monday", app=source)
    kept = file_hashes(first.path)
    if into == "empty directory":
        (backups / "tuesday").mkdir()

    real_copy, copies = backup._copy_file, []

    def disk_fills_up(path, dest):
        """The second file gets half written, then the disk is full."""
        copies.append(dest)
        if len(copies) == 2:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dest))
        return real_copy(path, dest)

    monkeypatch.setattr(backup, "_copy_file", disk_fills_up)
    with pytest.raises(BackupError) as failed:
        make_backup(backups / "tuesday", app=source)
    assert "No space left on device" in failed.value.message and "nothing was written" in failed.value.message
    assert len(copies) == 2
    if into == "empty directory":
        assert sorted(os.listdir(backups)) == ["monday", "tuesday"] and not os.listdir(backups / "tuesday")
    else:
        assert os.listdir(backups) == ["monday"]  # no partial backup, no temporary directory
    assert file_hashes(first.path) == kept
    assert verify_backup(first.path).files == 3


def test_a_database_inside_a_copied_folder_is_only_in_the_backup_as_its_copy(schema_db, tmp_path):
    """DATABASE_URL may put the SQLite file in a folder of the instance (instance/data/...): the
    backup holds its consistent copy, never the live file read as a plain one (which would also
    drop this process's SQLite locks on it)."""
    instance = tmp_path / "instance"
    (instance / "data").mkdir(parents=True)
    live = instance / "data" / "portal.sqlite3"
    shutil.copyfile(schema_db, live)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{live}", UPLOAD_FOLDER=str(instance / "uploads"))
    app.instance_path = str(instance)
    try:
        seed_small(app)
        (instance / "data" / "notes.txt").write_text("kept")
        made = make_backup(tmp_path / "backup", app=app)
        files = set(json.loads((made.path / "manifest.json").read_text())["files"])
        assert "data/notes.txt" in files
        assert not any(name.startswith("data/portal.sqlite3") for name in files), files
        assert verify_backup(made.path).tables["projects"] == 1
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_killed_backups_staging_is_removed_by_the_next_one_and_no_other(portal, tmp_path):
    """The staging of a backup killed mid-copy stays (tests/faults/test_kill.py): the next backup
    in that folder removes it once its process is gone, never a running one's or another
    machine's (a folder of backups shared by several)."""
    import socket
    source = portal("source")
    seed_small(source)
    backups = tmp_path / "backups"
    backups.mkdir()
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(ended.stdout)
    host = socket.gethostname()
    dead = backups / f".monday.partial-{host}-{dead_pid}-abc123"
    running = backups / f".monday.partial-{host}-{os.getpid()}-def456"
    elsewhere = backups / f".monday.partial-another-machine-{dead_pid}-ghi789"
    for staging in (dead, running, elsewhere):
        (staging / "files").mkdir(parents=True)
        (staging / "database.sqlite3").write_bytes(b"half a copy")
    made = make_backup(backups / "tuesday", app=source)
    assert verify_backup(made.path).files == 3
    assert not dead.exists() and running.exists() and elsewhere.exists()


# 5. the commands ----------------------------------------------------------------------------

def invoke(app, *args):
    """``flask <args>`` on ``app`` (as the flask command does, in that app's context: the
    session app's context, pushed for every test, must not be the one the command sees)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def test_backup_and_restore_commands(portal, tmp_path):
    source = portal("source")
    seed_small(source)
    path = tmp_path / "backups" / "b1"

    done = invoke(source, "backup", str(path))
    assert done.exit_code == 0, done.output
    assert "Backed up the sqlite database" in done.output and "3 files" in done.output
    assert str(path) in done.output and (path / "manifest.json").is_file()

    again = invoke(source, "backup", str(path))
    assert again.exit_code == 1 and "already exists and is not empty" in again.output

    inside = invoke(source, "backup", str(Path(source.instance_path) / "backups" / "b2"))
    assert inside.exit_code == 1 and "keep backups outside" in inside.output
    assert not (Path(source.instance_path) / "backups").exists()

    target = portal("target")
    with target.app_context():
        from tests import factories
        factories.user(username="already-here")
        db.session.commit()
    target_db = Path(target.instance_path) / "portal.sqlite3"
    refused = invoke(target, "restore", str(path))
    assert refused.exit_code == 1 and "already holds data" in refused.output and "--force" in refused.output
    assert sqlite_counts(target_db)["users"] == 1

    holder = sqlite3.connect(target_db)  # the portal still running on it
    holder.execute("SELECT count(*) FROM users").fetchone()
    try:
        running = invoke(target, "restore", "--force", str(path))
    finally:
        holder.close()
    assert running.exit_code == 1 and "stop the portal" in running.output
    assert sqlite_counts(target_db)["users"] == 1

    forced = invoke(target, "restore", "--force", str(path))
    assert forced.exit_code == 0, forced.output
    assert "Restored the sqlite database" in forced.output and "3 files" in forced.output
    assert "projects: 1" in forced.output
    assert sqlite_counts(target_db) == sqlite_counts(Path(source.instance_path) / "portal.sqlite3")
    assert file_hashes(Path(target.instance_path) / "uploads") == file_hashes(path / "files" / "uploads")

    not_a_backup = invoke(target, "restore", str(tmp_path))
    assert not_a_backup.exit_code == 1 and "is not a portal backup" in not_a_backup.output


def test_postgresql_without_pg_dump_is_refused_with_the_documented_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://portal@127.0.0.1:1/portal",
                     UPLOAD_FOLDER=str(tmp_path / "uploads"))
    app.instance_path = str(tmp_path / "instance")
    result = invoke(app, "backup", str(tmp_path / "b"))
    assert result.exit_code == 1
    assert 'pg_dump -Fc -f portal.dump "$DATABASE_URL"' in result.output and "README" in result.output
    assert not (tmp_path / "b").exists() and not [p for p in os.listdir(tmp_path) if p.startswith(".")]


# PostgreSQL ---------------------------------------------------------------------------------

def _postgres_server():
    url = os.environ.get("TEST_DATABASE_URL", "")
    return make_url(url) if url.startswith("postgresql") else None


@pytest.mark.skipif(_postgres_server() is None, reason="TEST_DATABASE_URL is not PostgreSQL")
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_postgresql_round_trip_with_pg_dump(app, make, tmp_path):
    """The session app is on PostgreSQL here: pg_dump into database.dump, restored with
    pg_restore into a new database with the same counts."""
    make.project(code="PG-1")
    make.user(username="pg-user")
    db.session.commit()
    upload = Path(app.config["UPLOAD_FOLDER"])
    upload.mkdir(parents=True, exist_ok=True)
    (upload / f"pg-{uuid.uuid4().hex}").write_bytes(b"stored on a PostgreSQL portal")

    made = make_backup(tmp_path / "pg-backup", app=app)
    assert (made.path / "database.dump").read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    live = {t: db.session.scalar(select(func.count()).select_from(db.metadata.tables[t]))
            for t in made.tables if t in db.metadata.tables}
    assert made.engine == "postgresql" and live == made.tables and made.tables["projects"] == 1

    server = _postgres_server()
    name = f"portal_restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    target = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=server.set(database=name).render_as_string(
        hide_password=False), UPLOAD_FOLDER=str(tmp_path / "target" / "uploads"))
    target.instance_path = str(tmp_path / "target")
    try:
        restored = restore_backup(made.path, app=target)
        assert restored.tables == made.tables
        assert file_hashes(tmp_path / "target" / "uploads") == file_hashes(upload)
        with target.app_context():
            assert db.session.scalar(select(User.id).where(User.username == "pg-user")) is not None
            db.session.remove()
            db.engine.dispose()
        with pytest.raises(BackupError, match="already holds data"):
            restore_backup(made.path, app=target)
    finally:
        with target.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
