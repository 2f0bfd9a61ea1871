"""The database goes away and comes back (issue 15 item 6): pages answer 503 with a clear message
(no traceback, no SQL, no driver names), the log says what happened in one line, and the portal
recovers by itself when the database returns, without a restart.

PostgreSQL: the portal runs under gunicorn (a real server process) and reaches PostgreSQL through
a TCP forwarder this test stops (every open connection is cut, new ones refused) and starts
again. SQLite: the database file missing when the portal starts (its folder not mounted yet),
then there; and the file locked by another writer past the busy timeout, then free.
"""
import http.cookiejar
import logging
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from portal import create_app
from portal.config import TestConfig

from .conftest import DEMO_PASSWORD, ROOT
from .proxy import Proxy, free_port

pytestmark = pytest.mark.xdist_group("faults")  # one worker: the demo is seeded once (conftest)

MESSAGE = "The database cannot be reached right now; try again in a minute."
SIGNED_IN = 'action="/logout"'
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
#: what an error page must never show
LEAKS = ("Traceback", "SELECT", "sqlalchemy", "psycopg", "sqlite3", "OperationalError", "connection to server",
         "Connection refused", "unable to open", "database is locked", "portal.sqlite3",
         "127.0.0.1")


def assert_clear_503(status, headers, body):
    assert status == 503, body[:2000]
    assert MESSAGE in body
    assert not [leak for leak in LEAKS if leak.lower() in body.lower()], body
    assert 50 <= int(headers.get("Retry-After", 0)) <= 60  # (a rate-limited route counts it down)


# --- PostgreSQL under gunicorn --------------------------------------------------------------

class Browser:
    """A cookie-keeping HTTP client, in English; answers (status, headers, body)."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, path, data=None, headers=None):
        encoded = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=encoded,
                                         headers={"Accept-Language": "en", **(headers or {})})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def login(self, username, password):
        status, _, page = self.request("/login")
        assert status == 200, page[:1000]
        token = CSRF_RE.search(page).group(1)
        status, _, page = self.request("/login", {"username": username, "password": password, "csrf_token": token})
        assert status == 200 and SIGNED_IN in page, page[:2000]


def _worker_pids(master):
    return sorted(int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split())


@pytest.fixture
def gunicorn_on_proxy(seeded, tmp_path):
    """The seeded portal on PostgreSQL under gunicorn (1 worker, 2 threads), its database reached
    through a forwarder; yields (browser, proxy, process, log path)."""
    portal = seeded("postgresql")
    server = make_url(portal.url)
    proxy = Proxy(server.port or 5432, server.host or "127.0.0.1").start()
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = portal.env(DATABASE_URL=server.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--worker-class", "gthread", "--threads", "2", "--no-control-socket", "--access-logfile", "-",
             "wsgi:app"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    browser = Browser(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                if browser.request("/login")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield browser, proxy, process, log
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        proxy.close()


def test_postgresql_gone_gives_a_clear_503_and_the_portal_recovers_without_restart(gunicorn_on_proxy):
    browser, proxy, process, log = gunicorn_on_proxy
    browser.login("pm1", DEMO_PASSWORD)
    assert browser.request("/")[0] == 200
    workers = _worker_pids(process.pid)

    proxy.stop()  # PostgreSQL is gone: pooled connections cut, new ones refused
    started = time.monotonic()
    assert_clear_503(*browser.request("/"))
    assert_clear_503(*browser.request("/projects/"))
    status, headers, fragment = browser.request("/", headers={"HX-Request": "true"})
    assert_clear_503(status, headers, fragment)
    assert "<html" not in fragment  # htmx gets the message alone
    assert time.monotonic() - started < 10  # refused at once, not after a timeout
    written = log.read_text()
    assert "database unavailable (GET /)" in written and "database unavailable (GET /projects/)" in written
    assert re.search(r'"GET / HTTP/1\.1" 503', written)  # the access log
    assert "Traceback" not in written  # one line per failed request, no stack

    proxy.start()  # back, on the same address
    status, _, page = browser.request("/")
    assert status == 200, page[:2000]
    assert SIGNED_IN in page  # still signed in: the session survived
    assert _worker_pids(process.pid) == workers and process.poll() is None  # no restart


# --- SQLite ---------------------------------------------------------------------------------

def _app(path, **config):
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", WTF_CSRF_ENABLED=False,
                      UPLOAD_FOLDER=str(Path(path).parent / "uploads"), **config)


def _sign_in(client):
    return client.post("/login", data={"username": "pm1", "password": DEMO_PASSWORD},
                       headers={"Accept-Language": "en"})


def _as_text(response):
    return response.status_code, response.headers, response.get_data(as_text=True)


def test_sqlite_file_missing_gives_a_clear_503_then_works_once_it_is_there(seeded, tmp_path, caplog):
    portal = seeded("sqlite")
    path = tmp_path / "not-mounted-yet" / "portal.sqlite3"
    client = _app(path).test_client()
    with caplog.at_level(logging.ERROR, logger="portal"):
        assert_clear_503(*_as_text(_sign_in(client)))
    assert any("database unavailable (POST /login)" in r.getMessage() and "unable to open database file"
               in r.getMessage() for r in caplog.records)

    path.parent.mkdir()
    shutil.copyfile(portal.instance / "portal.sqlite3", path)  # the volume is mounted
    assert _sign_in(client).status_code == 303
    assert client.get("/", headers={"Accept-Language": "en"}).status_code == 200


def test_sqlite_locked_past_the_busy_timeout_gives_a_clear_503_then_works(seeded, caplog):
    import sqlite3
    portal = seeded("sqlite")
    path = portal.instance / "portal.sqlite3"
    client = _app(path, SQLITE_BUSY_TIMEOUT_MS=200).test_client()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer keeps the write lock
    try:
        with caplog.at_level(logging.ERROR, logger="portal"):
            assert_clear_503(*_as_text(_sign_in(client)))
        assert any("database is locked" in r.getMessage() for r in caplog.records)
    finally:
        holder.rollback()
        holder.close()
    assert _sign_in(client).status_code == 303
    assert client.get("/", headers={"Accept-Language": "en"}).status_code == 200


def test_a_postgresql_host_that_never_answers_gives_503_within_the_connect_timeout(tmp_path):
    """A database host gone from the network: the connection attempt hangs (here: a socket that
    accepts and never says a word). DATABASE_CONNECT_TIMEOUT ends it; the page says so, in
    seconds, not the system's minutes of TCP retries."""
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    try:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://portal@127.0.0.1:{port}/portal",
                         DATABASE_CONNECT_TIMEOUT=1, UPLOAD_FOLDER=str(tmp_path / "uploads"))
        started = time.monotonic()
        response = app.test_client().get("/healthz")
        elapsed = time.monotonic() - started
        link = app.test_client().get("/s/" + "x" * 43, headers={"Accept-Language": "en"})  # looks it up
    finally:
        silent.close()
    assert response.status_code == 503 and elapsed < 10, (response.status_code, elapsed)
    assert link.status_code == 503 and MESSAGE in link.get_data(as_text=True)
