"""Host-header injection: client links are built from PUBLIC_BASE_URL when set, and requests
whose Host is not trusted are refused before any view runs (400)."""
import re

import pytest

from portal import create_app
from portal.config import TestConfig

from ..conftest import PortalClient
from ..factories import PASSWORD
from ..rounds_world import build_world

LINK_RE = re.compile(r"(https?://[^\s\"<]+)/s/[A-Za-z0-9_-]+")


@pytest.fixture
def default_hosts_app(app):
    """The app as `make run` configures it: trusted hosts computed, not set by the tests."""
    other = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"], TRUSTED_HOSTS=None,
                       PUBLIC_BASE_URL="https://survey.example.cn", TRUSTED_HOSTS_EXTRA="portal.intra, .corp.example")
    other.test_client_class = PortalClient
    yield other
    from portal.extensions import db as _db
    with other.app_context():
        _db.engine.dispose()  # its own pool: closed here, not by the garbage collector in a later test


def test_default_trusted_hosts(default_hosts_app):
    assert default_hosts_app.config["TRUSTED_HOSTS"] == [
        "localhost", "127.0.0.1", "::1", "survey.example.cn", "portal.intra", ".corp.example"]


@pytest.mark.parametrize("host, status", [
    ("evil.example", 400), ("survey.example.cn.evil.example", 400), ("127.0.0.1:8000", 200),
    ("localhost:8000", 200), ("survey.example.cn", 200), ("portal.intra", 200), ("a.corp.example", 200),
])
def test_untrusted_host_headers_are_refused(default_hosts_app, db, host, status):
    client = default_hosts_app.test_client()
    assert client.get("/login", headers={"Host": host}).status_code == status


def test_a_forged_host_never_reaches_a_link(default_hosts_app, db):
    world = build_world()
    rnd = world.open()
    client = default_hosts_app.test_client()
    client.post_form("/login", {"username": "pm_a", "password": PASSWORD})
    forged = client.post(f"/invitations/{rnd.invitations[0].id}/link", headers={"Host": "evil.example"})
    assert forged.status_code == 400 and "evil.example" not in forged.get_data(as_text=True)


def test_links_use_public_base_url_whatever_the_host(app, client, auth, db):
    world = build_world()
    rnd = world.open()
    app.config["PUBLIC_BASE_URL"] = "https://survey.example.cn"
    try:
        auth.login("pm_a")
        shown = client.post_form(f"/invitations/{rnd.invitations[0].id}/link", token_from="/")
        client.post_form(f"/rounds/{rnd.id}/invitations/send", token_from="/")
        from portal.models import OutboxMessage
        from portal.extensions import db as _db
        message = _db.session.scalars(_db.select(OutboxMessage)).first()
        copied = client.post_form(f"/outbox/{message.id}/copy", token_from="/")
    finally:
        app.config["PUBLIC_BASE_URL"] = None
    assert {m.group(1) for m in LINK_RE.finditer(shown.get_data(as_text=True))} == {"https://survey.example.cn"}
    assert {m.group(1) for m in LINK_RE.finditer(copied.get_data(as_text=True))} == {"https://survey.example.cn"}
