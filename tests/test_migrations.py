"""Migrations: from an empty database up, down to nothing and up again, on SQLite and
(when the suite runs on it, as .ci/run does) PostgreSQL; and the models match the
migrations, so a model change without a migration fails here.

Each test gets its own app on its own empty database: a SQLite file, or a throwaway
database on the PostgreSQL server of TEST_DATABASE_URL.
"""
import os
import uuid
from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import Invitation

from . import factories


def _postgres_server():
    url = os.environ.get("TEST_DATABASE_URL", "")
    return make_url(url) if url.startswith("postgresql") else None


BACKENDS = ["sqlite"] + (["postgresql"] if _postgres_server() else [])


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    """URL of a new, empty database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/migrations.sqlite3"
        return
    server = _postgres_server()
    name = f"portal_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def migration_app(empty_database, tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=empty_database,
                     UPLOAD_FOLDER=str(tmp_path / "uploads"))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _tables():
    return set(inspect(db.engine).get_table_names())


def _current_revision():
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _head_revision(app):
    return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config()).get_current_head()


def _schema_diff():
    """What `flask db migrate` would generate against this database (empty when in sync)."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def _populate():
    """A realistic slice of data: users, client, contact, project, template with questions,
    a round and an invitation with a JSON draft."""
    invitation, _token = factories.invitation()
    invitation.draft = {"q_attitude": "5", "q_opinion": "服务很好"}
    invitation.opened_at = datetime(2026, 3, 1, 9, 30)
    db.session.commit()
    return invitation.id


def test_upgrade_downgrade_upgrade_round_trip(migration_app):
    assert _tables() == set()
    upgrade()
    assert _current_revision() == _head_revision(migration_app)
    assert set(db.metadata.tables) | {"alembic_version"} == _tables()

    invitation_id = _populate()
    db.session.remove()
    stored = db.session.get(Invitation, invitation_id)
    assert stored.draft == {"q_attitude": "5", "q_opinion": "服务很好"}
    assert stored.contact.opted_out is False
    assert stored.round.template_version.questions[0].required is True
    db.session.remove()

    downgrade(revision="base")
    assert _tables() <= {"alembic_version"}
    assert _current_revision() is None

    upgrade()
    assert _current_revision() == _head_revision(migration_app)
    assert set(db.metadata.tables) | {"alembic_version"} == _tables()
    assert db.session.scalar(select(Invitation.id)) is None  # the data went with the tables
    _populate()


def test_models_match_migrations(migration_app):
    """Fails when a model changed without a migration: run `make migration MSG=...`."""
    upgrade()
    diff = _schema_diff()
    assert diff == [], "models and migrations differ; generate a migration:\n" + "\n".join(map(str, diff))


@pytest.mark.parametrize("empty_database", ["sqlite"], indirect=True)
def test_sqlite_migration_leaves_foreign_keys_enforced(migration_app):
    """env.py switches foreign keys off while migrating SQLite; pooled connections get them back."""
    upgrade()
    for _ in range(3):
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA foreign_key_check")).fetchall() == []
