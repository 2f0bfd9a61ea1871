"""Client and contact screens: who may read and keep them, list in place with htmx,
unique names as field errors, opt-out stamping, audit of every change."""
import pytest

from portal.models import AuditEvent, Client, Contact

HX = {"HX-Request": "true"}


def _login(make, auth, username, roles):
    user = make.user(username, roles=roles, locale="en")
    auth.login(username)
    return user


def test_clients_list_full_page_and_fragment(client, auth, make):
    make.client("华东电网", key_account=True)
    make.client("宁波港")
    _login(make, auth, "q", ("quality",))
    page = client.get("/clients/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and "华东电网" in html and "宁波港" in html
    assert 'hx-target="#client-results"' in html and 'hx-push-url="true"' in html
    fragment = client.get("/clients/?key_account=1", headers=HX)
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "华东电网" in body and "宁波港" not in body
    assert "宁波港" in client.get("/clients/?q=宁波", headers=HX).get_data(as_text=True)
    assert "New client" not in html  # quality reads, does not manage


def test_clients_pagination(client, auth, make):
    for i in range(21):
        make.client(f"Client {i:02d}")
    _login(make, auth, "boss", ("pmo",))
    first = client.get("/clients/", headers=HX).get_data(as_text=True)
    assert "Client 19" in first and "Client 20" not in first and "Page 1 of 2" in first
    assert "Client 20" in client.get("/clients/?page=2", headers=HX).get_data(as_text=True)


def test_pm_sees_only_clients_of_own_projects(client, auth, make):
    pm = _login(make, auth, "pm_a", ("pm",))
    mine, other = make.client("我的客户"), make.client("别人的客户")
    own = make.project(pm=pm, client_=mine, code="MINE-1")
    make.project(client_=mine, code="THEIRS-1")  # same client, another PM's project
    make.project(client_=other, code="THEIRS-2")
    html = client.get("/clients/").get_data(as_text=True)
    assert "我的客户" in html and "别人的客户" not in html
    detail = client.get(f"/clients/{mine.id}").get_data(as_text=True)
    assert "MINE-1" in detail and "THEIRS-1" not in detail
    assert client.get(f"/clients/{other.id}").status_code == 403
    assert client.get("/clients/999999").status_code == 404
    assert own.id


def test_sales_sees_clients_of_projects_they_own(client, auth, make):
    sales = _login(make, auth, "s", ("sales",))
    theirs = make.client("销售客户")
    make.project(client_=theirs, sales=sales)
    assert client.get(f"/clients/{theirs.id}").status_code == 200
    assert client.get(f"/clients/{make.client().id}").status_code == 403


def test_archive_role_gets_no_client_screens(client, auth, make):
    _login(make, auth, "arch", ("archive",))
    target = make.client()
    assert client.get("/clients/").status_code == 403
    assert client.get(f"/clients/{target.id}").status_code == 403
    assert "/clients/" not in client.get("/").get_data(as_text=True)


def test_pmo_creates_client_and_it_is_audited(client, auth, make, db):
    _login(make, auth, "pmo", ("pmo",))
    response = client.post_form("/clients/new", {"name": "苏州工业园区", "key_account": "y", "notes": "重点"},
                                token_from="/")
    created = db.session.query(Client).filter_by(name="苏州工业园区").one()
    assert response.status_code == 303 and response.headers["Location"] == f"/clients/{created.id}"
    assert not created.key_account  # a posted key_account field is ignored: only an approved proposal sets it
    event = db.session.query(AuditEvent).filter_by(action="create", object_type="Client").one()
    assert "苏州工业园区" in event.detail and event.username == "pmo"


@pytest.mark.parametrize("htmx", [False, True])
def test_duplicate_client_name_is_a_field_error(client, auth, make, db, htmx):
    make.client("Acme")
    _login(make, auth, "adm", ("admin",))
    response = client.post_form("/clients/new", {"name": "acme"}, htmx=htmx, token_from="/")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and ("<html" in html) is not htmx
    assert 'id="err-name"' in html and "A client with this name already exists." in html
    assert db.session.query(Client).count() == 1


def test_edit_client_with_htmx_redirects(client, auth, make, db):
    target = make.client("Old name")
    _login(make, auth, "adm", ("admin",))
    response = client.post_form(f"/clients/{target.id}/edit", {"name": "New name"}, htmx=True, token_from="/")
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/clients/{target.id}"
    db.session.refresh(target)
    assert target.name == "New name" and not target.key_account


@pytest.mark.parametrize("role", ["pm", "sales", "quality", "exec"])
def test_only_admin_and_pmo_create_or_edit_clients(client, auth, make, role):
    user = _login(make, auth, "u", (role,))
    target = make.client()
    make.project(client_=target, **({"pm": user} if role == "pm" else {}))
    assert client.get("/clients/new").status_code == 403
    assert client.post_form(f"/clients/{target.id}/edit", {"name": "x"}, token_from="/").status_code == 403


def test_pm_adds_and_edits_contacts_of_own_client(client, auth, make, db):
    pm = _login(make, auth, "pm_a", ("pm",))
    target = make.client()
    make.project(pm=pm, client_=target)
    response = client.post_form(f"/clients/{target.id}/contacts/new", {
        "name": "王建国", "function": "noc_operator", "phone": "13900000000",
        "email": "wang@client.cn", "language": "zh"}, token_from="/")
    assert response.status_code == 303
    contact = db.session.query(Contact).filter_by(name="王建国").one()
    assert contact.client_id == target.id and not contact.opted_out
    response = client.post_form(f"/clients/{target.id}/contacts/{contact.id}/edit", {
        "name": "王建国", "function": "noc_operator", "language": "en", "opted_out": "y"},
        htmx=True, token_from="/")
    assert response.status_code == 204
    db.session.refresh(contact)
    assert contact.opted_out and contact.opted_out_at is not None and contact.language == "en"
    actions = [e.action for e in db.session.query(AuditEvent).filter_by(object_type="Contact").order_by(AuditEvent.id)]
    assert actions == ["create", "update"]
    assert "Opted out" in client.get(f"/clients/{target.id}").get_data(as_text=True)


def test_sales_owner_may_edit_contacts(client, auth, make, db):
    sales = _login(make, auth, "s", ("sales",))
    target = make.client()
    make.project(client_=target, sales=sales)
    contact = make.contact(target)
    assert client.get(f"/clients/{target.id}/contacts/{contact.id}/edit").status_code == 200


def test_pm_cannot_touch_contacts_of_another_client(client, auth, make, db):
    _login(make, auth, "pm_a", ("pm",))
    foreign = make.client()
    make.project(client_=foreign)  # another PM's project
    contact = make.contact(foreign, name="李")
    assert client.get(f"/clients/{foreign.id}/contacts/new").status_code == 403
    response = client.post_form(f"/clients/{foreign.id}/contacts/{contact.id}/edit", {
        "name": "改", "function": "site_admin", "language": "zh"}, token_from="/")
    assert response.status_code == 403
    db.session.refresh(contact)
    assert contact.name == "李"
    assert db.session.query(AuditEvent).filter_by(action="access_denied").count() >= 2


def test_contact_of_another_client_is_404(client, auth, make):
    _login(make, auth, "adm", ("admin",))
    contact = make.contact(make.client())
    assert client.get(f"/clients/{make.client().id}/contacts/{contact.id}/edit").status_code == 404


@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_contact_shows_errors_beside_fields(client, auth, make, htmx):
    _login(make, auth, "adm", ("admin",))
    target = make.client()
    response = client.post_form(f"/clients/{target.id}/contacts/new", {
        "name": "", "function": "janitor", "email": "nope", "language": "zh"}, htmx=htmx, token_from="/")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and ("<html" in html) is not htmx
    for field in ("name", "function", "email"):
        assert f'id="err-{field}"' in html
