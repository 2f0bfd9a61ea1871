"""Department screens: the administrator creates and edits (members in place with htmx), quality
reads every department, a PM reads only a department they belong to, a duplicate name is refused
beside its field."""
from portal.models import AuditEvent, Department
from portal.services.departments import create_department

HX = {"HX-Request": "true"}


def _login(make, auth, username, roles):
    user = make.user(username, roles=roles, locale="en")
    auth.login(username)
    return user


def _department(db, name, head=None, members=()):
    dept = create_department(name, head=head, members=members, actor=None)
    db.session.commit()
    return dept


def test_admin_creates_a_department_from_the_list(client, auth, make, db):
    _login(make, auth, "admin", ("admin",))
    head = make.user("zhang", roles=("pm",), display_name="张伟")
    page = client.get("/departments/").get_data(as_text=True)
    assert "<html" in page and 'id="department-new"' in page and "张伟" in page
    response = client.post_form("/departments/new", {"name": "运维服务部", "head": str(head.id)},
                                htmx=True, token_from="/departments/")
    dept = db.session.query(Department).filter_by(name="运维服务部").one()
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/departments/{dept.id}"
    assert dept.head_id == head.id and dept.active
    listing = client.get("/departments/").get_data(as_text=True)
    assert "运维服务部" in listing and "张伟" in listing
    plain = client.post_form("/departments/new", {"name": "技术支持部"}, token_from="/departments/new")
    assert plain.status_code == 303


def test_admin_edits_name_head_and_members_in_place(client, auth, make, db):
    _login(make, auth, "admin", ("admin",))
    head = make.user("pmo1", roles=("pmo",), display_name="李强")
    a = make.user("pm2", roles=("pm",), display_name="刘洋")
    b = make.user("q1", roles=("quality",), display_name="王芳")
    dept = _department(db, "技术支持部")
    page = client.get(f"/departments/{dept.id}").get_data(as_text=True)
    assert 'id="department-profile"' in page and 'id="department-members"' in page and 'type="checkbox"' in page

    box = client.post_form(f"/departments/{dept.id}/edit", {"name": "技术支持中心", "head": str(head.id),
                                                            "active": "y"}, htmx=True, token_from=f"/departments/{dept.id}")
    html = box.get_data(as_text=True)
    assert box.status_code == 200 and "<html" not in html and html.lstrip().startswith('<section class="card" id="department-profile"')
    assert "was saved" in html and 'hx-swap-oob="true"' in html and "技术支持中心" in html

    box = client.post_form(f"/departments/{dept.id}/members", {"members": [str(a.id), str(b.id)]},
                           htmx=True, token_from=f"/departments/{dept.id}")
    html = box.get_data(as_text=True)
    assert box.status_code == 200 and "<html" not in html and 'id="department-members"' in html
    assert "刘洋" in html and "王芳" in html and "The members were saved." in html
    db.session.expire_all()
    dept = db.session.get(Department, dept.id)
    assert dept.name == "技术支持中心" and dept.head_id == head.id
    assert sorted(m.user_id for m in dept.memberships) == sorted([a.id, b.id])
    assert db.session.query(AuditEvent).filter_by(object_type="Department", action="update").count() == 2

    plain = client.post_form(f"/departments/{dept.id}/members", {"members": [str(a.id)]},
                             token_from=f"/departments/{dept.id}")
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/departments/{dept.id}")


def test_a_duplicate_name_is_refused_beside_the_field(client, auth, make, db):
    _login(make, auth, "admin", ("admin",))
    _department(db, "Support")
    other = _department(db, "Operations")
    response = client.post_form("/departments/new", {"name": "support"}, htmx=True, token_from="/departments/")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert 'id="field-name"' in html and "A department with this name already exists." in html
    assert html.index('id="field-name"') < html.index("already exists") < html.index('id="field-head"')
    response = client.post_form(f"/departments/{other.id}/edit", {"name": "SUPPORT"}, htmx=True,
                                token_from=f"/departments/{other.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="department-profile"' in html and "already exists" in html
    assert db.session.get(Department, other.id).name == "Operations"
    full = client.post_form("/departments/new", {"name": ""}, token_from="/departments/new")
    assert full.status_code == 422 and "<html" in full.get_data(as_text=True)


def test_an_unknown_member_is_refused_beside_the_field(client, auth, make, db):
    _login(make, auth, "admin", ("admin",))
    dept = _department(db, "D")
    response = client.post_form(f"/departments/{dept.id}/members", {"members": ["99999"]}, htmx=True,
                                token_from=f"/departments/{dept.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="field-members"' in html and 'class="errors"' in html


def test_quality_reads_every_department_but_edits_none(client, auth, make, db):
    dept = _department(db, "运维服务部", head=make.user("h", roles=("pm",), display_name="张伟"))
    _login(make, auth, "q", ("quality",))
    listing = client.get("/departments/").get_data(as_text=True)
    assert "运维服务部" in listing and 'id="department-new"' not in listing
    page = client.get(f"/departments/{dept.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "张伟" in html and "<form" not in html.split('id="department-profile"')[1]
    token = client.csrf_token(f"/departments/{dept.id}")
    assert client.post(f"/departments/{dept.id}/edit", data={"csrf_token": token, "name": "x"}).status_code == 403
    assert client.post(f"/departments/{dept.id}/members", data={"csrf_token": token}).status_code == 403
    assert client.get("/departments/new").status_code == 403


def test_a_pm_reads_their_own_department_only(client, auth, make, db):
    pm = _login(make, auth, "pm_a", ("pm",))
    mine = _department(db, "运维服务部", members=[pm])
    headed = _department(db, "交付部", head=pm)
    other = _department(db, "技术支持部", members=[make.user("pm_b", roles=("pm",))])
    assert client.get(f"/departments/{mine.id}").status_code == 200
    assert client.get(f"/departments/{headed.id}").status_code == 200
    assert client.get(f"/departments/{other.id}").status_code == 403
    listing = client.get("/departments/").get_data(as_text=True)
    assert "运维服务部" in listing and "交付部" in listing and "技术支持部" not in listing


def test_a_pm_outside_every_department_gets_403(client, auth, make, db):
    dept = _department(db, "运维服务部", members=[make.user("member", roles=("pm",))])
    _login(make, auth, "pm_x", ("pm",))
    assert client.get(f"/departments/{dept.id}").status_code == 403
    assert db.session.query(AuditEvent).filter_by(action="access_denied").count() == 1
    assert client.get("/departments/999999").status_code == 404


def test_departments_nav_item_for_readers_only(client, auth, make):
    _login(make, auth, "exec", ("exec",))
    assert 'href="/departments/"' in client.get("/").get_data(as_text=True)
    auth.logout()
    _login(make, auth, "pm_a", ("pm",))
    assert 'href="/departments/"' not in client.get("/").get_data(as_text=True)
