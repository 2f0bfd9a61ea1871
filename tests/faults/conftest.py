"""Fault tests (issue 15 items 5, 6, 8): real processes killed, servers taken away, migrations
run back and forth on a seeded database.

The seeded database is the demo (``flask db upgrade`` then ``flask demo``, the real commands in
their own processes), built once per engine and test process and copied for each test: a copy of
the SQLite file and instance folder, or on PostgreSQL a database created from the seed as its
template. The demo's archive-copy jobs are queued, not run, except those of the old handed-over
quarter, rendered here so that its forms eligible for disposal have their PDFs on disk.

PostgreSQL: the server of TEST_DATABASE_URL when it is one, else FAULTS_PG_SERVER, else
postgresql+psycopg://postgres@127.0.0.1:5432 (trust), with throwaway databases; when none
answers the PostgreSQL cases skip (under CI=true they fail). In the PostgreSQL pass of CI
(TEST_DATABASE_URL set to PostgreSQL) the SQLite cases skip: the SQLite pass ran them.
All of them run on one xdist worker (group "faults"), which seeds each engine once.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")
DEMO_PASSWORD = "portal-demo-faults"
SECRET_KEY = "faults-secret-key"
ENGINES = ("sqlite", "postgresql")
#: files of an instance folder that are not stored data
NOT_DATA = {"portal.sqlite3", "portal.sqlite3-wal", "portal.sqlite3-shm", "jobs.sqlite3",
            "jobs.sqlite3-wal", "jobs.sqlite3-shm", "secret_key"}


@lru_cache(maxsize=1)
def pg_server():
    """The PostgreSQL server the fault tests may create databases on, or None."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    url = url if url.startswith("postgresql") else os.environ.get(
        "FAULTS_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    server = make_url(url)
    engine = create_engine(server.set(database="postgres"), poolclass=NullPool,
                           connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return server
    except Exception:
        return None
    finally:
        engine.dispose()


def _postgresql_pass():
    return os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def require_engine(engine):
    """Each engine's cases run once in CI: the SQLite ones in `make test`, the PostgreSQL ones in
    `make test-pg` (TEST_DATABASE_URL); outside CI, `make test` runs both when a server answers."""
    if engine == "sqlite" and _postgresql_pass():
        pytest.skip("the SQLite cases run in the SQLite pass (make test)")
    if engine == "postgresql" and not _postgresql_pass() and os.environ.get("CI") == "true":
        pytest.skip("the PostgreSQL cases run in the PostgreSQL pass (make test-pg)")
    if engine == "postgresql" and pg_server() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no PostgreSQL server for the fault tests (CI=true: there must be one)")
        pytest.skip("no PostgreSQL server reachable")


def pg_admin(*statements):
    engine = create_engine(pg_server().set(database="postgres"), isolation_level="AUTOCOMMIT",
                           poolclass=NullPool)
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def pg_url(name):
    return pg_server().set(database=name).render_as_string(hide_password=False)


def pytest_configure(config):
    # every module here is in the xdist group "faults" (pytestmark), so that one worker runs them
    # all (make test: --dist loadgroup) and seeds the demo once per engine; known without xdist too
    config.addinivalue_line("markers", "xdist_group(name): run in the same pytest-xdist worker")


@dataclass(frozen=True)
class Portal:
    """One portal's stored state: its database and its instance folder (uploads inside)."""
    engine: str
    url: str
    instance: Path

    @property
    def uploads(self):
        return self.instance / "uploads"

    def env(self, **extra):
        """The environment of a portal process (gunicorn, flask, a child script) on this state."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("JOBS_IMMEDIATE", "REDIS_URL", "TEST_DATABASE_URL", "RATELIMIT_STORAGE_URI")}
        env.update(DATABASE_URL=self.url, PORTAL_INSTANCE_PATH=str(self.instance), SECRET_KEY=SECRET_KEY,
                   UPLOAD_FOLDER=str(self.uploads), ARGON2_PROFILE="fast", DEMO_PASSWORD=DEMO_PASSWORD,
                   PYTHONPATH=str(ROOT), FLASK_APP="wsgi")
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def flask(self, *args, timeout=300, **extra):
        """``flask <args>`` in its own process; the CompletedProcess (check returncode)."""
        return subprocess.run([str(FLASK), *args], cwd=ROOT, env=self.env(**extra), capture_output=True,
                              text=True, timeout=timeout)


RENDER_OLD_COPIES = """
from sqlalchemy import select
from portal import create_app
from portal.extensions import db
from portal.jobs.runner import run_job
from portal.models import ArchiveHandover, Job

if __name__ == "__main__":
    app = create_app()
    with app.app_context():
        quarter, job_id = db.session.execute(select(ArchiveHandover.quarter, ArchiveHandover.job_id)
                                             .order_by(ArchiveHandover.quarter)).first()
        db.session.commit()  # (outside requests a transaction takes SQLite's write lock)
        run_job.call_local(job_id)
        job = db.session.get(Job, job_id)
        assert job.state == "done", (job.state, job.error)
        print(quarter, job.result)
"""


def _seed(engine, folder):
    """The demo on a new database built by ``flask db upgrade``."""
    instance = folder / "instance"
    instance.mkdir(parents=True)
    if engine == "sqlite":
        url = f"sqlite:///{instance}/portal.sqlite3"
    else:
        name = f"portal_faults_seed_{uuid.uuid4().hex[:10]}"
        pg_admin(f'CREATE DATABASE "{name}"')
        url = pg_url(name)
    seed = Portal(engine, url, instance)
    for step in (["db", "upgrade"], ["demo"]):
        done = seed.flask(*step)
        assert done.returncode == 0, done.stderr[-3000:]
    rendered = subprocess.run([sys.executable, "-c", RENDER_OLD_COPIES], cwd=ROOT, env=seed.env(),
                              capture_output=True, text=True, timeout=300)
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    (instance / "secret_key").unlink(missing_ok=True)
    return seed


@pytest.fixture(scope="session")
def seeded(tmp_path_factory):
    """``seeded(engine)``: a new copy of the seeded demo portal on that engine."""
    seeds, copies = {}, []

    def copy(engine):
        require_engine(engine)
        if engine not in seeds:
            seeds[engine] = _seed(engine, tmp_path_factory.mktemp(f"seed-{engine}"))
        seed = seeds[engine]
        folder = tmp_path_factory.mktemp(f"portal-{engine}")
        instance = folder / "instance"
        shutil.copytree(seed.instance, instance)
        if engine == "sqlite":
            url = f"sqlite:///{instance}/portal.sqlite3"
        else:
            name = f"portal_faults_{uuid.uuid4().hex[:12]}"
            pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(seed.url).database}"')
            url = pg_url(name)
            copies.append(name)
        return Portal(engine, url, instance)

    yield copy
    names = copies + [make_url(s.url).database for e, s in seeds.items() if e == "postgresql"]
    if names:
        pg_admin(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names))


@pytest.fixture(params=ENGINES)
def portal(request, seeded):
    return seeded(request.param)


# --- what a portal holds -----------------------------------------------------------------

def database_state(url) -> dict:
    """Every row of every table, read through a new engine (a fresh connection to the file or
    server, as the next start of the portal would make): {table: sorted rows}."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            state = {}
            for table in sorted(inspect(conn).get_table_names()):
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
                state[table] = sorted(repr(tuple(row)) for row in rows)
            return state
    finally:
        engine.dispose()


def changed_tables(before, after) -> dict:
    """{table: (rows before, rows after)} of the tables whose rows differ."""
    return {t: (len(before.get(t, ())), len(after.get(t, ()))) for t in set(before) | set(after)
            if before.get(t) != after.get(t)}


def file_state(folder) -> dict:
    """{path: sha256} of the stored files of an instance folder (not its databases)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in NOT_DATA}


# --- a process killed at a chosen point -----------------------------------------------------

class Child:
    """A Python process running ``script``; it writes JSON to ``marker`` when it reaches the
    point where it is to be killed, then waits there."""

    def __init__(self, script, args, env, folder):
        self.marker = folder / f"marker-{uuid.uuid4().hex[:8]}.json"
        self.log_path = folder / f"child-{uuid.uuid4().hex[:8]}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen([sys.executable, "-c", script, str(self.marker), *map(str, args)],
                                        cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self):
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_ready(self, timeout=90):
        """Until the child says it is ready (``<marker>.ready``); it then waits for ``go``."""
        ready = self.marker.with_suffix(".ready")
        deadline = time.monotonic() + timeout
        while not ready.exists():
            assert self.process.poll() is None, f"the child ended before it was ready:\n{self.log()}"
            assert time.monotonic() < deadline, f"the child did not get ready:\n{self.log()}"
            time.sleep(0.05)

    def go(self):
        self.marker.with_suffix(".go").touch()

    def reached(self, timeout=90) -> dict:
        """What the child wrote at the kill point (fails if it ended or never got there)."""
        deadline = time.monotonic() + timeout
        while not self.marker.exists() or not self.marker.read_text().strip():
            assert self.process.poll() is None, f"the child ended before the kill point:\n{self.log()}"
            assert time.monotonic() < deadline, f"the child did not reach the kill point:\n{self.log()}"
            time.sleep(0.05)
        time.sleep(0.05)  # the marker is written in one call; let it land
        return json.loads(self.marker.read_text())

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._log.close()
        assert self.process.returncode == -signal.SIGKILL

    def finish(self, timeout=120):
        self.process.wait(timeout)
        self._log.close()
        assert self.process.returncode == 0, self.log()
        return self.log()


@pytest.fixture
def child(tmp_path):
    started = []

    def start(script, *args, env):
        made = Child(script, args, env, tmp_path)
        started.append(made)
        return made

    yield start
    for made in started:
        if made.process.poll() is None:
            made.process.kill()
            made.process.wait(10)
