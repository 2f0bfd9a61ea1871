"""Guessing is stopped per account and per address, counted in the database (services/throttle.py):
one guesser behind a company's NAT address must not lock everybody else out."""
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from portal.models import AuditEvent

ROOT = Path(__file__).resolve().parent.parent.parent
WRONG = "wrong-wrong-wrong"
RIGHT = "correct-horse-battery"
LOCKED = "Too many failed attempts, try again in 1 minute."


def sign_in(client, username, password=WRONG):
    return client.post_form("/login", {"username": username, "password": password})


def lock(client, username):
    """Ten wrong passwords from a browser the account has never seen."""
    codes = [sign_in(client, username).status_code for _ in range(10)]
    assert codes == [422] * 10


@pytest.fixture
def browser_of(app):
    """browser_of(name): a browser that signed in to that account once, and signed out again."""
    def known_browser(username):
        browser = app.test_client()
        assert sign_in(browser, username, RIGHT).status_code == 303
        assert browser.post_form("/logout", token_from="/").status_code == 303
        return browser
    return known_browser


def test_ten_wrong_passwords_lock_the_account_for_unknown_browsers(client, make, db):
    make.user("alice")
    lock(client, "alice")
    refused = sign_in(client, "alice", RIGHT)  # even the right password: it is not checked now
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert LOCKED in html and 'class="field has-error" id="field-password"' in html
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert db.session.query(AuditEvent).filter_by(action="login_refused", username="alice").count() == 1
    assert db.session.query(AuditEvent).filter_by(action="login").count() == 0


def test_the_lockout_message_is_translated(client, make):
    make.user("alice")
    lock(client, "alice")
    token = client.csrf_token()
    refused = client.post("/login", data={"username": "alice", "password": WRONG, "csrf_token": token},
                          headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 429 and "失败次数过多，请 1 分钟后再试。" in refused.get_data(as_text=True)


def test_another_user_from_the_same_address_signs_in(app, client, make):
    make.user("alice")
    make.user("bob")
    lock(client, "alice")
    colleague = app.test_client()  # same NAT address, never signed in here before
    assert sign_in(colleague, "bob", RIGHT).status_code == 303


def test_the_locked_users_known_browser_signs_in(app, client, make, browser_of):
    make.user("alice")
    alices_pc = browser_of("alice")
    lock(client, "alice")
    assert sign_in(client, "alice", RIGHT).status_code == 429
    assert sign_in(alices_pc, "alice", RIGHT).status_code == 303


def test_a_browser_known_to_bob_is_not_known_to_alice(app, client, make, browser_of):
    make.user("alice")
    make.user("bob")
    bobs_pc = browser_of("bob")
    lock(client, "alice")
    assert sign_in(bobs_pc, "alice", RIGHT).status_code == 429


def test_device_cookie_is_signed_httponly_and_sent_to_the_login_only(client, make):
    make.user("alice")
    response = sign_in(client, "alice", RIGHT)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("portal_device="))
    assert "HttpOnly" in cookie and "Path=/login" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie
    assert client.get_cookie("portal_device", path="/login").value.count(".") == 2  # itsdangerous


def test_a_forged_device_cookie_is_ignored(app, client, make):
    make.user("alice")
    lock(client, "alice")
    client.set_cookie("portal_device", "eyJkIjoiYWJjIiwiYSI6WzFdfQ.forged.sig", path="/login")
    assert sign_in(client, "alice", RIGHT).status_code == 429


def test_many_failures_from_one_address_refuse_its_unknown_browsers(app, client, make, browser_of,
                                                                     monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ADDRESS", "5 per 10 minutes")
    make.user("bob")
    bobs_pc = browser_of("bob")
    for i in range(5):  # a spray over many names, each far below its own limit
        assert sign_in(client, f"name{i}").status_code == 422
    newcomer = app.test_client()
    refused = sign_in(newcomer, "bob", RIGHT)
    assert refused.status_code == 429 and "try again in 10 minutes" in refused.get_data(as_text=True)
    assert sign_in(bobs_pc, "bob", RIGHT).status_code == 303


def test_the_flood_guard_answers_at_the_password_field(app, client, make, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    codes = [sign_in(client, f"name{i}").status_code for i in range(4)]
    assert codes == [422, 422, 422, 429]
    flooded = sign_in(client, "name9").get_data(as_text=True)
    assert 'class="field has-error" id="field-password"' in flooded
    assert "Too many attempts. Please wait a minute" in flooded


def test_survey_guessing_gets_429_after_the_threshold_even_for_a_good_link(app, client, make, db,
                                                                          monkeypatch):
    monkeypatch.setitem(app.config, "SURVEY_LINK_FAILURES_PER_ADDRESS", "5 per 10 minutes")
    monkeypatch.setitem(app.config, "SURVEY_RATE_LIMIT", "1000 per minute")
    inv, token = make.invitation()
    for _ in range(3):  # good lookups are not counted
        assert client.get(f"/s/{token}").status_code == 303
    for i in range(5):
        assert client.get(f"/s/{'C' * 42}{i}").status_code == 404
    blocked = app.test_client().get(f"/s/{token}")  # another browser, same address
    assert blocked.status_code == 429
    assert blocked.headers["Referrer-Policy"] == "no-referrer"
    assert token not in blocked.get_data(as_text=True)
    assert db.session.query(AuditEvent).filter_by(action="survey_link_invalid", ip="127.0.0.1").count() == 5


# --- across processes -----------------------------------------------------------------------

SETUP = """
from portal import create_app
from portal.extensions import db
from portal.services.accounts import create_user
app = create_app()
with app.app_context():
    db.create_all()
    create_user("alice", "correct-horse-battery", ["pm"])
    db.session.commit()
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port, method, path, body=None, headers=None):
    """One request on a fresh connection, so the kernel may hand it to any worker."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.getheader("Set-Cookie"), response.read().decode()
    finally:
        conn.close()


def _wait_until_serving(port, server):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn exited"
        try:
            if _request(port, "GET", "/login")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail("gunicorn did not start")


def test_failed_sign_ins_are_counted_across_gunicorn_workers(tmp_path):
    """Three worker processes, one budget: after ten failures every worker refuses."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/portal.sqlite3",
           "PORTAL_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "gunicorn-test",
           "RATELIMIT_STORAGE_URI": "memory://", "ARGON2_PROFILE": "fast"}
    setup = subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
    assert setup.returncode == 0, setup.stderr[-2000:]
    port, log = _free_port(), tmp_path / "access.log"
    server = subprocess.Popen(
        # --preload only saves importing the app three times: each worker still forks with its own memory
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", "3", "--preload",
         "--bind", f"127.0.0.1:{port}", "--no-control-socket", "--access-logfile", str(log),
         "--access-logformat", "%(p)s %(m)s %(s)s", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_serving(port, server)
        _, set_cookie, html = _request(port, "GET", "/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        form = urlencode({"username": "alice", "password": WRONG, "csrf_token": token})
        headers = {"Cookie": set_cookie.split(";")[0], "Content-Type": "application/x-www-form-urlencoded"}
        codes = [_request(port, "POST", "/login", form, headers)[0] for _ in range(15)]
    finally:
        server.send_signal(signal.SIGINT)  # quick shutdown; SIGTERM waits for idle workers' select()
        server.wait(timeout=30)
    assert codes == [422] * 10 + [429] * 5
    workers = {line.split()[0] for line in log.read_text().splitlines() if " POST " in line}
    assert len(workers) >= 2, "all attempts went to one worker: nothing was proven"
