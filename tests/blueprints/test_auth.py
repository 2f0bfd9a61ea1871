"""Sign-in, sessions, CSRF and redirects."""
import pytest

from portal.models import AuditEvent


def test_login_page_renders_chinese(client):
    html = client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "登录" in html


def test_login_success_and_audit(client, auth, make, db):
    make.user("alice", roles=("pm",))
    response = auth.login("alice")
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert db.session.query(AuditEvent).filter_by(action="login", username="alice").count() == 1


def test_failed_login_is_audited_and_shown_at_field(client, make, db):
    make.user("alice")
    response = client.post_form("/login", {"username": "alice", "password": "nope-nope-nope"})
    assert response.status_code == 422
    assert 'class="field has-error"' in response.get_data(as_text=True)
    assert db.session.query(AuditEvent).filter_by(action="login_failed", username="alice").count() == 1


def test_disabled_user_cannot_login(client, make, db):
    user = make.user("bob")
    user.active = False
    db.session.commit()
    response = client.post_form("/login", {"username": "bob", "password": "correct-horse-battery"})
    assert response.status_code == 422


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "https://evil.example",
                                    "http:/evil.example", " //evil.example", "javascript:alert(1)"])
def test_open_redirects_land_on_home(client, make, target):
    make.user("alice")
    response = client.post_form("/login", {"username": "alice", "password": "correct-horse-battery",
                                           "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_next_on_this_site_is_followed(client, make):
    make.user("alice")
    response = client.post_form("/login", {"username": "alice", "password": "correct-horse-battery",
                                           "next": "/?x=1"})
    assert response.headers["Location"] == "/?x=1"


def test_post_without_csrf_token_is_rejected(client, auth, make):
    make.user("alice")
    auth.login("alice")
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", headers={"HX-Request": "true"}).status_code == 400
    assert client.get("/").status_code == 200  # still signed in


def test_htmx_request_carries_csrf_header(client, auth, make):
    make.user("alice")
    auth.login("alice")
    token = client.csrf_token("/")
    response = client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 303


def test_logout_invalidates_copied_cookie(app, client, auth, make):
    make.user("alice")
    auth.login("alice")
    stolen = client.get_cookie("portal_session").value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("portal_session", stolen)
    assert thief.get("/").status_code == 302


def test_disabling_user_invalidates_their_session(app, client, auth, make, db):
    from portal.services.accounts import set_active
    user = make.user("alice")
    auth.login("alice")
    assert client.get("/").status_code == 200
    set_active(user, False)
    db.session.commit()
    assert client.get("/").status_code == 302


def test_session_is_renewed_at_login(client, make):
    make.user("alice")
    client.get("/login")
    before = client.get_cookie("portal_session").value
    client.post_form("/login", {"username": "alice", "password": "correct-horse-battery"})
    assert client.get_cookie("portal_session").value != before


def test_login_is_rate_limited(client, make, db):
    make.user("alice")
    token = client.csrf_token()
    codes = [client.post("/login", data={"username": "alice", "password": "wrong-wrong-wrong",
                                         "csrf_token": token}).status_code for _ in range(12)]
    assert codes[0] == 422 and codes[-1] == 429


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_htmx_unauthenticated_gets_hx_redirect(client):
    response = client.get("/", headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/x"})
    assert response.headers["HX-Redirect"].startswith("/login")


def test_language_switch_persists_for_user(client, auth, make, db):
    user = make.user("alice")
    auth.login("alice")
    client.post_form("/language", {"lang": "en", "next": "/"}, token_from="/")
    db.session.refresh(user)
    assert user.locale == "en"
    assert "Sign out" in client.get("/").get_data(as_text=True)
