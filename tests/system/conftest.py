"""System fixtures (issue 15 §3, §4): the portal as production runs it — gunicorn processes on
loopback ports, the huey job worker, haproxy in front, one PostgreSQL and one Redis — started from
the test process, with the data built beforehand by the app's own services in the same database.

These tests run in the SQLite pass (``make test``) only and are skipped when TEST_DATABASE_URL is
set (``make test-pg``): the parts that need PostgreSQL create their own throwaway database on the
server ``CI_PG_SERVER`` (default 127.0.0.1:5432, user postgres) whatever the pass, so the PostgreSQL
pass would only run them twice. Redis: ``SYSTEM_REDIS_URL`` (default db 14 of 127.0.0.1:6379,
emptied before and after use). A missing haproxy is installed with apt-get when root, as
``make test`` installs its packages. Under CI=true anything missing fails instead of skipping.
"""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from string import Template
from urllib.parse import urlencode, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HAPROXY_TEMPLATE = Path(__file__).with_name("haproxy.cfg.in")
PG_SERVER = os.environ.get("CI_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("SYSTEM_REDIS_URL", "redis://127.0.0.1:6379/14")
#: every instance of one test signs sessions with this key (as SECRET_KEY on every machine)
SECRET_KEY = "system-test-secret-key"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')
#: what the portal's processes must not inherit from the test process
NOT_INHERITED = ("JOBS_IMMEDIATE", "TEST_DATABASE_URL", "DATABASE_URL", "REDIS_URL", "RATELIMIT_STORAGE_URI",
                 "PORTAL_INSTANCE_PATH", "UPLOAD_FOLDER", "SECRET_KEY", "PUBLIC_BASE_URL", "PROXY_FIX_HOPS")


def pytest_configure(config):
    config.addinivalue_line("markers", "system: real gunicorn/haproxy/worker processes (tests/system)")


def pytest_collection_modifyitems(config, items):
    postgres_pass = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
    for item in items:
        if "tests/system/" not in str(item.fspath).replace(os.sep, "/"):
            continue
        item.add_marker(pytest.mark.system)
        if postgres_pass:
            item.add_marker(pytest.mark.skip(reason="tests/system runs in the SQLite pass only; it makes its own "
                                                    "PostgreSQL databases (tests/system/conftest.py)"))


def unavailable(reason):
    """Skip, or under CI=true fail: CI must run every system test."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the system tests must run)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- HTTP as a browser speaks it (stdlib only: one connection per request) ----------------------

@dataclass
class Reply:
    status: int
    headers: dict
    text: str
    body: bytes = b""

    @property
    def location(self):
        return self.headers.get("location", "")

    def csrf(self):
        match = CSRF_RE.search(self.text)
        assert match, f"no CSRF token in the page ({self.status}): {self.text[:300]}"
        return match.group(1) or match.group(2)


def send(connection, method, path, *, data=None, headers=None, cookies=None) -> Reply:
    """One request on ``connection`` (http.client), the reply read whole."""
    headers = {"Accept-Language": "en", "Connection": "close", **(headers or {})}
    body = None
    if data is not None:
        body = urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                  raw.decode("utf-8", "replace"), raw)
    reply.set_cookies = response.headers.get_all("Set-Cookie") or []
    return reply


def connect(base, source=None, timeout=30) -> http.client.HTTPConnection:
    """A connection to ``base`` (http://127.0.0.1:port), from the loopback address ``source``
    (127.0.0.0/8 is all ours on Linux: each simulated client has an address of its own)."""
    parts = urlsplit(base)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                      source_address=(source, 0) if source else None)


@dataclass
class Browser:
    """A client with its cookie jar and its own source address; ``base`` is where it goes unless a
    request names another server (the cookies are the same for every port of 127.0.0.1)."""
    base: str
    source: str | None = None
    cookies: dict = field(default_factory=dict)

    def request(self, method, path, *, base=None, data=None, headers=None, timeout=30) -> Reply:
        reply = send(connect(base or self.base, self.source, timeout), method, path, data=data,
                     headers=headers, cookies=self.cookies)
        for line in reply.set_cookies:
            for name, morsel in SimpleCookie(line).items():
                if morsel.value and morsel["max-age"] not in ("0",):
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return reply

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, data, **kw):
        return self.request("POST", path, data=data, **kw)

    def login(self, username, password, base=None):
        token = self.get("/login", base=base).csrf()
        return self.post("/login", {"username": username, "password": password, "csrf_token": token}, base=base)


# --- processes ------------------------------------------------------------------------------------

class Process:
    """A process of the system under test, in a process group of its own (so that killing it kills
    its children too, as a machine that dies); its output in ``log_path``."""

    def __init__(self, name, argv, env, log_path):
        self.name, self.log_path = name, Path(log_path)
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    @property
    def alive(self):
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self):
        """SIGKILL to the whole group: nothing gets to finish or clean up."""
        self._signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self):
        if self.alive:
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.popen.wait(10)
        else:  # its children may still run (a worker whose master died)
            self._signal(signal.SIGKILL)
        self._log.close()

    def _signal(self, signum):
        try:
            os.killpg(self.popen.pid, signum)
        except ProcessLookupError:
            pass


def portal_env(**settings) -> dict:
    """The environment of a portal process: this one's, minus what points at the test's own database
    and job mode, plus ``settings`` (str values; None removes)."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(ARGON2_PROFILE="fast", PYTHONPATH=str(ROOT), SECRET_KEY=SECRET_KEY, PYTHONUNBUFFERED="1")
    for key, value in settings.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


def wait_http(base, process, path="/login", timeout=30, host=None):
    """Until ``base`` answers ``path`` with 200 (the process is up), or fail with its log."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            headers = {"Host": host} if host else None
            if send(connect(base, timeout=2), "GET", path, headers=headers).status == 200:
                return
        except OSError:
            pass
        if not process.alive:
            pytest.fail(f"{process.name} exited ({process.popen.returncode}):\n{process.log()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"{process.name} does not answer {base}{path} after {timeout} s:\n{process.log()[-3000:]}")
        time.sleep(0.1)


@dataclass
class Instance:
    """One portal instance (a gunicorn master and its workers), as one machine."""
    name: str
    port: int
    process: Process
    env: dict
    argv: list

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def log(self):
        return self.process.log()


def start_instance(name, log_dir, *, workers=2, threads=4, port=None, wait=True, **settings) -> Instance:
    """``gunicorn wsgi:app`` on a free loopback port (README's production command, access log on),
    once it answers (``wait=False``: at once; then ``wait_http(instance.base, instance.process)``).

    With ``--preload``: the master imports the app once and forks its workers, instead of every
    worker importing it at the same time (4 workers doing so on 2 busy CPUs took 29 s to answer).
    The app opens no database connection and no PDF process before the fork (both are lazy), so
    the workers still share nothing but the database."""
    port = port or free_port()
    argv = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--worker-class", "gthread", "--threads", str(threads), "--no-control-socket", "--preload",
            "--graceful-timeout", "2", "--access-logfile", "-", "wsgi:app"]
    env = portal_env(**settings)
    instance = Instance(name, port, Process(name, argv, env, Path(log_dir) / f"{name}.log"), env, argv)
    if wait:
        wait_http(instance.base, instance.process)
    return instance


def start_job_worker(log_dir, **settings) -> Process:
    """``huey_consumer portal.jobs.worker.huey`` (Makefile's run target), its own process."""
    consumer = BIN / "huey_consumer"
    command = [str(consumer)] if consumer.exists() else [sys.executable, "-m", "huey.bin.huey_consumer"]
    return Process("job worker", [*command, "portal.jobs.worker.huey", "--workers", "2", "--worker-type", "thread"],
                   portal_env(**settings), Path(log_dir) / "worker.log")


# --- haproxy --------------------------------------------------------------------------------------

def haproxy_binary() -> str:
    """haproxy, installed with apt-get when missing and we may (as ``make test`` installs its
    packages); else skip (fail under CI)."""
    def found():
        return shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if os.path.exists(p)), None)
    if found():
        return found()
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "haproxy"]
        for commands in ([install], [["apt-get", "update", "-qq"], install]):
            if all(subprocess.run(c, env=env, capture_output=True, timeout=600).returncode == 0 for c in commands):
                break
    if not found():
        unavailable("haproxy is not installed and `apt-get install -y haproxy` could not install it")
    return found()


@dataclass
class Balancer:
    port: int
    stats_port: int
    process: Process

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict:
        """Per server of the backend: its status and counters (haproxy's CSV stats)."""
        text = send(connect(f"http://127.0.0.1:{self.stats_port}"), "GET", "/stats;csv").text
        lines = text.lstrip("# ").splitlines()
        names = lines[0].split(",")
        rows = [dict(zip(names, line.split(","))) for line in lines[1:] if line]
        return {r["svname"]: r for r in rows if r["pxname"] == "instances"}

    def wait_status(self, server, status, timeout=10):
        deadline = time.monotonic() + timeout
        while self.stats()[server]["status"] != status:
            assert time.monotonic() < deadline, f"haproxy: {server} is not {status}: {self.stats()[server]}"
            time.sleep(0.05)


def start_balancer(log_dir, instances) -> Balancer:
    """haproxy on a free loopback port in front of ``instances`` (round-robin, health checks on
    /login, retries and redispatch: haproxy.cfg.in), once it sees every instance up."""
    binary = haproxy_binary()
    port, stats_port = free_port(), free_port()
    servers = "\n".join(f"    server {i.name} 127.0.0.1:{i.port}" for i in instances)
    config = Path(log_dir) / "haproxy.cfg"
    config.write_text(Template(HAPROXY_TEMPLATE.read_text()).substitute(
        frontend_port=port, stats_port=stats_port, servers=servers))
    check = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    balancer = Balancer(port, stats_port, Process("haproxy", [binary, "-db", "-f", str(config)], dict(os.environ),
                                                  Path(log_dir) / "haproxy.log"))
    wait_http(balancer.base, balancer.process)
    for instance in instances:
        balancer.wait_status(instance.name, "UP")
    return balancer


# --- PostgreSQL, Redis, data ----------------------------------------------------------------------

@contextmanager
def postgres_database():
    """A new database on PG_SERVER (URL yielded), dropped afterwards; skip/fail if no server."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 3})
    name = f"portal_sys_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as error:
        admin.dispose()
        unavailable(f"PostgreSQL is not reachable at {PG_SERVER}: {str(error).splitlines()[0]}")
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def redis_database():
    """REDIS_URL emptied before and after (rate-limit counters and the job queue live there)."""
    import redis
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        unavailable(f"Redis is not reachable at {REDIS_URL}")
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


def build_data(database_url, build, migrate=True):
    """Migrate the database (``flask db upgrade``, as every release does; ``migrate=False``: the
    models' create_all, as the rest of the suite) and run ``build()`` in an app context on it — the
    app's services and the test factories — then commit. Returns its result."""
    import flask_migrate
    from portal import create_app
    from portal.config import TestConfig
    from portal.extensions import db
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY=SECRET_KEY)
    with app.app_context():
        try:
            flask_migrate.upgrade() if migrate else db.create_all()
            with app.test_request_context():
                result = build()
                db.session.commit()
        finally:
            db.session.remove()
            db.engine.dispose()
    return result


def invited_contacts(n):
    """A project with a questionnaire round of ``n`` invitations opened by the project's PM
    (services.rounds.open_round); returns their (invitation id, token) pairs."""
    from portal.extensions import db
    from portal.models import Contact
    from portal.services.invitations import current_token
    from portal.services.quarters import current_quarter
    from portal.services.rounds import open_round
    from tests import factories
    project = factories.project()
    version = factories.template_version()
    contacts = [Contact(client=project.client, name=f"联系人{i}", function="site_admin",
                        email=f"system{i}@example.cn") for i in range(n)]
    db.session.add_all(contacts)
    db.session.flush()
    rnd = open_round(project, current_quarter(), version, contacts, by_user=project.pm)
    db.session.flush()
    return [(inv.id, current_token(inv)) for inv in sorted(rnd.invitations, key=lambda i: i.id)]


def read_rows(database_url, statement, **params):
    """Rows of one query on that database, from a connection of its own."""
    from sqlalchemy import create_engine, text
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(statement), params).all()
    finally:
        engine.dispose()


#: answers to factories.template_version's questions
ANSWERS = {"q_attitude": "5", "q_timeliness": "4", "q_technical": "9", "q_opinion": "系统测试"}


def open_survey(browser, token, base=None) -> str:
    """Open the invitation link as a client does; returns the form's CSRF token."""
    opened = browser.get(f"/s/{token}", base=base)
    assert opened.status == 303 and opened.location.endswith("/survey"), (opened.status, opened.text[:300])
    form = browser.get("/survey", base=base)
    assert form.status == 200, (form.status, form.text[:300])
    return form.csrf()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0
