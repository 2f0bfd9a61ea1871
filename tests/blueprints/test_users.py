"""User administration screens: admin only, list in place with htmx, create/edit with errors
beside the fields, disable (ends sessions, blocks sign-in) and password reset."""
import pytest

from portal.models import AuditEvent, User

from ..factories import PASSWORD

HX = {"HX-Request": "true"}


@pytest.fixture
def admin(make, auth):
    user = make.user("root", roles=("admin",), display_name="Root Admin", locale="en")
    auth.login("root")
    return user


def test_users_list_full_page_and_htmx_fragment(client, admin, make):
    make.user("wang", roles=("pm",), display_name="王芳")
    page = client.get("/users/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and "wang" in html
    assert 'hx-trigger="input changed delay:300ms from:input, change"' in html
    assert "HX-Request" in page.headers["Vary"]
    fragment = client.get("/users/?q=王", headers=HX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert "wang" in body and "root" not in body


def test_users_filter_by_role_and_status(client, admin, make, db):
    make.user("li", roles=("sales",))
    off = make.user("zhao", roles=("sales",))
    off.active = False
    db.session.commit()
    html = client.get("/users/?role=sales&active=1", headers=HX).get_data(as_text=True)
    assert "li" in html and "zhao" not in html
    html = client.get("/users/?active=0", headers=HX).get_data(as_text=True)
    assert "zhao" in html and ">li<" not in html
    assert client.get("/users/?role=bogus&active=maybe&page=x").status_code == 200  # bad filters ignored


def test_users_pagination(client, admin, make):
    for i in range(22):
        make.user(f"u{i:02d}", roles=("pm",))
    first = client.get("/users/", headers=HX).get_data(as_text=True)
    assert "u00" in first and "u19" not in first  # root + u00..u18 on page 1
    assert 'hx-target="#user-results"' in first and "page=2" in first
    second = client.get("/users/?page=2", headers=HX).get_data(as_text=True)
    assert "u19" in second and "u21" in second and "u00" not in second


@pytest.mark.parametrize("role", ["pm", "pmo", "quality", "exec"])
def test_only_admins_manage_users(client, auth, make, role):
    make.user("someone", roles=(role,))
    auth.login("someone")
    assert client.get("/users/").status_code == 403
    assert client.get("/users/new").status_code == 403


def test_create_user_plain_form_redirects_and_audits(client, admin, db):
    response = client.post_form("/users/new", {
        "username": "liu.yang", "display_name": "刘洋", "email": "liu@example.com",
        "roles": ["pm", "sales"], "locale": "zh", "password": "initial-password-1"}, token_from="/")
    assert response.status_code == 303 and response.headers["Location"] == "/users/"
    user = db.session.query(User).filter_by(username="liu.yang").one()
    assert user.roles == {"pm", "sales"} and user.locale == "zh" and user.active
    assert db.session.query(AuditEvent).filter_by(action="create", object_type="User",
                                                  object_id=str(user.id)).count() == 1


def test_create_user_with_htmx_gets_hx_redirect(client, admin, db):
    response = client.post_form("/users/new", {
        "username": "sun", "display_name": "孙丽", "roles": ["sales"], "locale": "",
        "password": "initial-password-1"}, htmx=True, token_from="/")
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/users/"
    assert db.session.query(User).filter_by(username="sun").one().locale is None


@pytest.mark.parametrize("htmx", [False, True])
def test_create_user_invalid_shows_errors_beside_fields(client, admin, make, htmx):
    make.user("taken")
    response = client.post_form("/users/new", {
        "username": "taken", "display_name": "X", "email": "not-an-address", "roles": [],
        "password": "initial-password-1"}, htmx=htmx, token_from="/")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ("<html" in html) is not htmx
    assert 'id="err-email"' in html and "Enter a valid e-mail address." in html
    assert 'id="err-roles"' in html and "Pick at least one role." in html


@pytest.mark.parametrize("data,field,message", [
    ({"username": "taken"}, "username", "This user name is taken."),
    ({"password": "short"}, "password", "At least"),
])
def test_create_user_service_errors_land_at_their_field(client, admin, make, data, field, message):
    make.user("taken")
    form = {"username": "new", "display_name": "X", "roles": ["pm"], "password": "initial-password-1", **data}
    response = client.post_form("/users/new", form, token_from="/")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="err-{field}"' in html and message in html


def test_edit_user_changes_roles(client, admin, make, db):
    user = make.user("wang", roles=("pm",))
    assert client.get(f"/users/{user.id}/edit").status_code == 200
    response = client.post_form(f"/users/{user.id}/edit", {
        "display_name": "王芳", "email": "", "roles": ["pm", "quality"], "locale": "en"}, token_from="/")
    assert response.status_code == 303
    db.session.refresh(user)
    assert user.roles == {"pm", "quality"} and user.display_name == "王芳" and user.locale == "en"


def test_admin_cannot_remove_own_admin_role(client, admin, db):
    response = client.post_form(f"/users/{admin.id}/edit", {
        "display_name": "Root", "roles": ["pm"], "locale": ""}, htmx=True, token_from="/")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert 'id="err-roles"' in html and "You cannot remove your own administrator role." in html
    db.session.refresh(admin)
    assert "admin" in admin.roles


def test_admin_cannot_disable_themselves(client, admin, db):
    response = client.post_form(f"/users/{admin.id}/disable", token_from="/")
    assert response.status_code == 422
    assert "You cannot disable your own account." in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.active


def test_disabled_user_cannot_log_in_and_loses_sessions(app, client, admin, make, db):
    make.user("victim", roles=("pm",))
    other = app.test_client()
    other.post_form("/login", {"username": "victim", "password": PASSWORD})
    assert other.get("/").status_code == 200
    victim = db.session.query(User).filter_by(username="victim").one()
    response = client.post_form(f"/users/{victim.id}/disable", htmx=True, token_from="/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="user-status"' in html and "<html" not in html
    assert "Enable account" in html
    assert other.get("/").status_code == 302  # signed out everywhere
    assert other.post_form("/login", {"username": "victim", "password": PASSWORD}).status_code == 422
    response = client.post_form(f"/users/{victim.id}/enable", token_from="/")
    assert response.status_code == 303
    assert other.post_form("/login", {"username": "victim", "password": PASSWORD}).status_code == 303


def test_reset_password(app, client, admin, make, db):
    user = make.user("zhang", roles=("pm",))
    bad = client.post_form(f"/users/{user.id}/password", {"password": "new-password-123", "confirm": "other"},
                           token_from="/")
    assert bad.status_code == 422 and "The two passwords differ." in bad.get_data(as_text=True)
    weak = client.post_form(f"/users/{user.id}/password", {"password": "short", "confirm": "short"},
                            htmx=True, token_from="/")
    assert weak.status_code == 422 and 'id="err-password"' in weak.get_data(as_text=True)
    ok = client.post_form(f"/users/{user.id}/password", {"password": "new-password-123",
                                                        "confirm": "new-password-123"}, token_from="/")
    assert ok.status_code == 303
    other = app.test_client()
    assert other.post_form("/login", {"username": "zhang", "password": PASSWORD}).status_code == 422
    assert other.post_form("/login", {"username": "zhang", "password": "new-password-123"}).status_code == 303


def test_unknown_user_is_404(client, admin):
    assert client.get("/users/999999/edit").status_code == 404
