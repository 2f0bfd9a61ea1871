"""Sessions, cookies, guessing and redirects.

Proved elsewhere and not repeated here:
- a cookie copied before logout is refused after it: tests/blueprints/test_auth.py
  ``test_logout_invalidates_copied_cookie``; disabling a user ends their session (service call):
  ``test_disabling_user_invalidates_their_session``; the session is renewed at login;
- HttpOnly + SameSite=Lax on the session cookie under the test config: ``test_security_headers``;
  the login-device cookie's flags: tests/blueprints/test_login_throttle.py;
- ``next`` after login (//, /\\, https://, javascript:): ``test_open_redirects_land_on_home``;
- survey-link guessing → 429: tests/blueprints/test_login_throttle.py
  ``test_survey_guessing_gets_429_after_the_threshold_even_for_a_good_link``;
- foreign Host headers → 400, and no link is built from one: tests/blueprints/test_trusted_hosts.py.

Added here: the Secure flag under the production config, the invalidations driven through the
admin's own pages, the complaint-check link's guessing limit, and ``next`` taken from the login
page's query string and from the language switch.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal.extensions import limiter
from portal.services.accounts import find_user

from .. import factories
from . import APP_LAYER_ONLY

pytestmark = APP_LAYER_ONLY

ROOT = Path(__file__).resolve().parents[2]


def _signed_in(app, username):
    client = app.test_client()
    client.post_form("/login", {"username": username, "password": factories.PASSWORD})
    assert client.get("/").status_code == 200
    return client


PRODUCTION_COOKIES = r"""
import json, sys
from portal import create_app
from portal.config import Config
from portal.extensions import db
app = create_app(Config)
with app.app_context():
    db.create_all()
client = app.test_client()
page = client.get("/login", base_url="https://portal.example.cn")
print(json.dumps({"secure": Config.SESSION_COOKIE_SECURE, "remember": Config.REMEMBER_COOKIE_SECURE,
                  "status": page.status_code, "cookies": page.headers.getlist("Set-Cookie")}))
"""


def test_production_config_sets_secure_httponly_lax_session_cookies(tmp_path):
    """Published over https (PUBLIC_BASE_URL), the real Config marks the cookie Secure."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_COOKIE", "TEST_DATABASE"))}
    env.update(PUBLIC_BASE_URL="https://portal.example.cn", SECRET_KEY="x" * 64,
               PORTAL_INSTANCE_PATH=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path}/p.sqlite3",
               RATELIMIT_STORAGE_URI="memory://")
    out = subprocess.run([sys.executable, "-c", PRODUCTION_COOKIES], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["secure"] is True and result["remember"] is True and result["status"] == 200
    session = next(c for c in result["cookies"] if c.startswith("portal_session="))
    assert "Secure" in session and "HttpOnly" in session and "SameSite=Lax" in session


def test_a_password_set_by_the_admin_ends_the_users_other_sessions(app, db):
    factories.user("alice", roles=("pm",))
    factories.user("root", roles=("admin",))
    phone, laptop = _signed_in(app, "alice"), _signed_in(app, "alice")
    stolen = laptop.get_cookie("portal_session").value
    admin = _signed_in(app, "root")
    user_id = find_user("alice").id
    new = "another-horse-battery-staple"
    changed = admin.post_form(f"/users/{user_id}/password", {"password": new, "confirm": new}, token_from="/users/")
    assert changed.status_code in (200, 303), changed.status_code
    for client in (phone, laptop):
        assert client.get("/").status_code == 302  # sent to the login page
    replay = app.test_client()
    replay.set_cookie("portal_session", stolen)
    assert replay.get("/").status_code == 302
    assert admin.get("/").status_code == 200  # the admin's own session is untouched
    fresh = app.test_client()
    assert fresh.post_form("/login", {"username": "alice", "password": new}).status_code == 303


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_user_disabled_by_the_admin_is_refused_on_the_next_request(app, db, htmx):
    target = factories.user("alice", roles=("pm",))
    factories.user("root", roles=("admin",))
    alice = _signed_in(app, "alice")
    admin = _signed_in(app, "root")
    assert admin.post_form(f"/users/{target.id}/disable", token_from="/users/").status_code in (200, 303)
    headers = {"HX-Request": "true"} if htmx else {}
    refused = alice.get("/projects/", headers=headers)
    assert refused.status_code in (302, 401) or "HX-Redirect" in refused.headers
    assert "/login" in (refused.headers.get("Location") or refused.headers.get("HX-Redirect") or "")
    assert alice.post_form("/logout", token_from="/login").status_code in (302, 303)  # nothing to log out of


def test_logout_through_htmx_also_invalidates_the_copied_cookie(app, db):
    factories.user("alice", roles=("pm",))
    browser = _signed_in(app, "alice")
    stolen = browser.get_cookie("portal_session").value
    token = browser.csrf_token("/")
    assert browser.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": token}).status_code == 303
    thief = app.test_client()
    thief.set_cookie("portal_session", stolen)
    assert thief.get("/").status_code == 302
    assert thief.get("/projects/", headers={"HX-Request": "true"}).headers.get("HX-Redirect", "").startswith("/login")


def test_complaint_check_link_guessing_gets_429(app, client, db, monkeypatch):
    """/k/<token> (the complainant's satisfaction check) is throttled like /s/<token>."""
    monkeypatch.setitem(app.config, "SURVEY_LINK_FAILURES_PER_ADDRESS", "5 per 10 minutes")
    limiter.enabled = False  # the coarse per-route limit would hide the guessing counter
    try:
        codes = [client.get(f"/k/{'D' * 42}{i}").status_code for i in range(7)]
    finally:
        limiter.enabled = True
    assert codes[:5] == [404] * 5 and codes[-1] == 429, codes


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example",
                                    "%2F%2Fevil.example", "/%09/evil.example", "https:evil.example"])
def test_next_from_the_login_page_address_is_never_followed_off_site(client, db, target):
    factories.user("alice", roles=("pm",))
    page = client.get(f"/login?next={target}")
    assert page.status_code == 200
    token = client.csrf_token(f"/login?next={target}")
    from urllib.parse import unquote
    response = client.post(f"/login?next={target}", data={"username": "alice", "password": factories.PASSWORD,
                                                           "next": unquote(target), "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/", response.headers["Location"]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_the_language_switch_does_not_redirect_off_site(client, db, target):
    response = client.post_form("/language", {"lang": "en", "next": target})
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == "/"
