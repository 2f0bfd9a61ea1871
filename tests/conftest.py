"""Fixtures: app, db (clean per test), client, runner, auth, factories.

The database is SQLite (a temporary file) unless TEST_DATABASE_URL points at
PostgreSQL; .ci/run runs the suite on both.
"""
import os
import re

os.environ.setdefault("ARGON2_PROFILE", "fast")  # cheaper Argon2id for test logins (see passwords.py)
os.environ["JOBS_IMMEDIATE"] = "1"  # background jobs run in-process at commit (one test runs a real worker)

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db as _db
from portal.models import archive_guard

from . import factories

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


class PortalClient(FlaskClient):
    """Test client whose requests each get their own app context and database session,
    as in production; it can fetch a CSRF token the way a browser page carries it."""

    def open(self, *args, **kwargs):
        """English unless a test asks for another language (tests read English UI text)."""
        headers = kwargs.setdefault("headers", {})
        if isinstance(headers, dict) and "Accept-Language" not in headers:
            headers["Accept-Language"] = "en"
        _db.session.commit()  # end the test's transaction so the request can take the write lock
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        _db.session.expire_all()
        return response

    def csrf_token(self, path="/login"):
        html = self.get(path).get_data(as_text=True)
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def post_form(self, url, data=None, htmx=False, token_from="/login", **kwargs):
        data = dict(data or {})
        headers = dict(kwargs.pop("headers", {}) or {})
        token = self.csrf_token(token_from)
        if htmx:
            headers.update({"HX-Request": "true", "X-CSRFToken": token})
        else:
            data.setdefault("csrf_token", token)
        return self.post(url, data=data, headers=headers, **kwargs)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{instance}/test.sqlite3"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, UPLOAD_FOLDER=str(instance / "uploads"))
    app.instance_path = str(instance)
    app.test_client_class = PortalClient
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture(autouse=True)
def db(app):
    """Each test starts with empty tables and an app context."""
    with app.app_context():
        _wipe()
        yield _db
        _db.session.rollback()
        _db.session.remove()
    from portal.extensions import limiter
    limiter.reset()


def _wipe():
    """Empty every table, children first. DELETE, not TRUNCATE: a test leaves a few rows, and
    PostgreSQL's TRUNCATE of some fifty tables costs half a second whatever they hold; the id
    sequences are then set back to 1 in one statement, as TRUNCATE ... RESTART IDENTITY would."""
    # (not the data generation's one row: services/figures_cache.py counts on it being there)
    tables = [t.name for t in reversed(_db.metadata.sorted_tables) if t.name != "data_generation"]
    with _db.engine.begin() as conn:
        # archived forms: the database's triggers refuse deleting them (models/archive_guard.py);
        # the tests' wipe alone steps around them, for the length of this transaction
        archived = conn.execute(text("SELECT 1 FROM responses WHERE archived_at IS NOT NULL LIMIT 1")).first()
        if archived and conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        elif archived:
            for statement in archive_guard.drop_statements("sqlite"):
                conn.exec_driver_sql(statement)
        for t in tables:
            conn.execute(text(f'DELETE FROM "{t}"'))
        if archived and conn.dialect.name == "sqlite":
            for statement in archive_guard.create_statements("sqlite"):
                conn.exec_driver_sql(statement)
        if conn.dialect.name == "postgresql":
            serial = [t.name for t in _db.metadata.sorted_tables if "id" in t.c and t.c.id.primary_key
                      and t.name != "data_generation"]
            conn.execute(text("SELECT " + ", ".join(
                f"setval(pg_get_serial_sequence('\"{t}\"', 'id'), 1, false)" for t in serial)))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, username, password=factories.PASSWORD):
        response = self.client.post_form("/login", {"username": username, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return response

    def logout(self):
        return self.client.post_form("/logout", token_from="/")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def make(db):
    """Factories bound to the test database: make.user(...), make.project(...)..."""
    return factories
