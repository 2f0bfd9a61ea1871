"""Migrations: from an empty database up, down to nothing and up again, on SQLite and
(when the suite runs on it, as .ci/run does) PostgreSQL; each revision up and down with
data in the tables; and the models match the migrations (columns, indexes, unique keys,
and the CHECK constraints that autogenerate does not compare), so a model change
without a migration fails here.

Each test gets its own app on its own empty database: a SQLite file, or a throwaway
database on the PostgreSQL server of TEST_DATABASE_URL.
"""
import os
import re
import uuid
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import Invitation
from portal.services import DomainError
from portal.services import questionnaires as questionnaire_svc

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


def test_every_revision_file_is_named_by_date_then_revision(migration_app):
    """yyyy_mm_dd_<rev>_<slug>.py (migrations/alembic.ini), so files list in the order written."""
    scripts = ScriptDirectory.from_config(migration_app.extensions["migrate"].migrate.get_config())
    for script in scripts.walk_revisions():
        name = os.path.basename(script.path)
        assert re.fullmatch(rf"20\d\d_\d\d_\d\d_{script.revision}_[a-z0-9_]+\.py", name), name


# --- 0002: scale option points, CHECK constraints, unique template names, rollup index --------

ROLLUP_INDEX = "ix_responses_quarter_verification_status_project_id"


def _insert(conn, table, **values):
    """Insert one row with the table as the database has it now (reflected), return its id."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
    return conn.execute(sa.insert(reflected).values(**values)).inserted_primary_key[0]


def _rows_at_0001():
    """Representative data as 0001 stored it: scales with options (five labels, ten points,
    a numeric one), a template with questions, a round, an invitation, a response with its
    normalized answers, an outbox message."""
    now = datetime(2026, 11, 20, 10, 0)
    with db.engine.begin() as conn:
        user = _insert(conn, "users", username="pm1", display_name="王经理", password_hash="x",
                       active=True, session_token="t", created_at=now)
        _insert(conn, "user_roles", user_id=user, role="pm")
        client = _insert(conn, "clients", name="省数据中心", key_account=True, created_at=now)
        contact = _insert(conn, "contacts", client_id=client, name="李工", function="noc_operator",
                          email="li@example.cn", language="zh", opted_out=False, created_at=now)
        project = _insert(conn, "projects", code="P-001", name="运维项目", client_id=client,
                          pm_id=user, status="active", created_at=now)
        scales = {}
        for code, style, lo, hi, values in [("sat5_a", "labels", 1, 5, [5, 4, 3, 2, 1]),
                                            ("points10", "labels", 1, 10, list(range(10, 0, -1))),
                                            ("score100", "numeric", 0, 100, [])]:
            scales[code] = _insert(conn, "scales", code=code, name_zh=code, name_en=code, style=style,
                                   lo=lo, hi=hi)
            for position, value in enumerate(values):
                _insert(conn, "scale_options", scale_id=scales[code], position=position, value=value,
                        label_zh=f"{value}", label_en=f"{value}")
        template = _insert(conn, "templates", kind="pm_quarterly", language="zh", name="季度调查",
                           archived=False, created_at=now)
        version = _insert(conn, "template_versions", template_id=template, number=1, title="季度调查",
                          created_at=now, frozen_at=now)
        questions = {}
        for position, (code, qtype, scale, dimension) in enumerate([
                ("attitude", "scale", "sat5_a", "attitude"), ("technical", "scale", "points10", "technical"),
                ("overall", "scale", "score100", "overall"), ("opinion", "text", None, None)]):
            questions[code] = _insert(conn, "questions", version_id=version, position=position, code=code,
                                      text=code, type=qtype, scale_id=scales.get(scale),
                                      dimension=dimension, required=True, allow_na=False)
        survey_round = _insert(conn, "survey_rounds", project_id=project, quarter="2026Q4",
                               template_version_id=version, due_date=date(2026, 12, 20),
                               created_by_id=user, created_at=now)
        invitation = _insert(conn, "invitations", round_id=survey_round, contact_id=contact,
                             token_hash="a" * 64, expires_at=now, created_at=now, sent_count=1,
                             reminded_count=0, used_at=now)
        response = _insert(conn, "responses", template_version_id=version, project_id=project,
                           round_id=survey_round, invitation_id=invitation, contact_id=contact,
                           quarter="2026Q4", channel="online", submitted_at=now, score=4.0,
                           verification_status="pending", legal_hold=False)
        for code, raw, normalized in [("attitude", 4, 4.0), ("technical", 7, 1 + 4 * 6 / 9),
                                      ("overall", 75, 4.0)]:
            _insert(conn, "answers", response_id=response, question_id=questions[code], raw_value=raw,
                    is_na=False, normalized=normalized)
        _insert(conn, "answers", response_id=response, question_id=questions["opinion"],
                text_value="服务很好", is_na=False)
        _insert(conn, "outbox_messages", invitation_id=invitation, kind="invitation",
                to_addr="li@example.cn", subject="满意度调查", body="…", status="outbox", created_at=now)


def _snapshot():
    """What must survive every step, table by table (points aside)."""
    with db.engine.connect() as conn:
        def q(sql):
            return [tuple(row) for row in conn.execute(text(sql))]
        return {
            "options": q("SELECT s.code, o.position, o.value, o.label_zh FROM scale_options o "
                         "JOIN scales s ON s.id = o.scale_id ORDER BY s.code, o.position"),
            "answers": q("SELECT q.code, a.raw_value, a.text_value, a.normalized FROM answers a "
                         "JOIN questions q ON q.id = a.question_id ORDER BY q.code"),
            "responses": q("SELECT quarter, channel, verification_status, score FROM responses"),
            "outbox": q("SELECT kind, status, subject FROM outbox_messages"),
            "templates": q("SELECT kind, language, name FROM templates ORDER BY id"),
            "questions": q("SELECT code, type, dimension FROM questions ORDER BY position"),
            "contacts": q("SELECT name, function, language FROM contacts"),
            "projects": q("SELECT code, status FROM projects"),
            "roles": q("SELECT role FROM user_roles"),
            "invitations": q("SELECT token_hash, sent_count FROM invitations"),
        }


def _points():
    with db.engine.connect() as conn:
        return {(code, value): points for code, value, points in conn.execute(text(
            "SELECT s.code, o.value, o.points FROM scale_options o JOIN scales s ON s.id = o.scale_id"))}


def _refused(sql):
    """True when the database refuses ``sql`` (a constraint), leaving the data as it was."""
    try:
        with db.engine.begin() as conn:
            conn.execute(text(sql))
    except IntegrityError:
        return True
    return False


def test_0002_up_and_down_with_data(migration_app):
    upgrade(revision="0001")
    _rows_at_0001()
    before = _snapshot()

    upgrade(revision="0002")
    assert _snapshot() == before  # every row as it was; answers keep their normalized values
    points = _points()
    assert [points[("sat5_a", v)] for v in (5, 4, 3, 2, 1)] == [5, 4, 3, 2, 1]
    assert points[("points10", 10)] == 5 and points[("points10", 1)] == 1
    assert points[("points10", 7)] == pytest.approx(1 + 4 * 6 / 9)
    # the constraints hold on this engine, and what the code writes passes them
    assert _refused("UPDATE responses SET channel = 'fax'")
    assert _refused("UPDATE outbox_messages SET status = 'lost'")
    assert _refused("UPDATE questions SET dimension = 'price' WHERE code = 'attitude'")
    assert _refused("UPDATE scale_options SET points = NULL")
    assert _refused("INSERT INTO templates (kind, language, name, archived, created_at) "
                    "SELECT kind, language, name, archived, created_at FROM templates")
    assert not _refused("UPDATE outbox_messages SET status = 'copied'")
    assert not _refused("UPDATE questions SET dimension = NULL WHERE code = 'attitude'")
    assert not _refused("INSERT INTO templates (kind, language, name, archived, created_at) "
                        "SELECT kind, 'en', name, archived, created_at FROM templates")
    assert ROLLUP_INDEX in {ix["name"] for ix in inspect(db.engine).get_indexes("responses")}
    after = _snapshot()

    downgrade(revision="0001")
    assert _current_revision() == "0001"
    assert _snapshot() == after  # a 'copied' message stays copied
    assert "points" not in {c["name"] for c in inspect(db.engine).get_columns("scale_options")}
    assert not _refused("UPDATE responses SET channel = 'fax'")  # 0001 checked no values
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE responses SET channel = 'online'"))

    upgrade()
    assert _current_revision() == _head_revision(migration_app)
    assert _snapshot() == after and _points() == points
    assert _refused("UPDATE responses SET channel = 'fax'")



def _check_values(sqltext):
    """The quoted values a CHECK lists, whatever way the engine writes it back."""
    return set(re.findall(r"'([^']*)'", sqltext))


def test_check_constraints_of_the_models_exist_in_the_migrated_database(migration_app):
    """Autogenerate does not compare CHECK constraints: every one the models declare must be
    in the migrated database under the same name (the naming convention), listing the same values."""
    upgrade()
    inspector = inspect(db.engine)
    expected, found = {}, {}
    for table in db.metadata.sorted_tables:
        for constraint in table.constraints:
            if isinstance(constraint, sa.CheckConstraint):
                expected[str(constraint.name)] = _check_values(str(constraint.sqltext))
        for reflected in inspector.get_check_constraints(table.name):
            found[reflected["name"]] = _check_values(reflected["sqltext"])
    assert ENUM_CHECKS <= set(expected)
    assert found == expected


ENUM_CHECKS = {
    "ck_projects_status", "ck_responses_channel", "ck_responses_verification_status",
    "ck_templates_kind", "ck_templates_language", "ck_questions_type", "ck_questions_dimension",
    "ck_scales_style", "ck_user_roles_role", "ck_contacts_function", "ck_contacts_language",
    "ck_outbox_messages_status", "ck_outbox_messages_kind"}


# --- template names: unique in the database, a field error in the service --------------------

def _taken_check_misses_once(monkeypatch):
    """As if another request stored the name between our check and our write."""
    real, calls = questionnaire_svc._name_taken, []

    def check(*args, **kwargs):
        calls.append(args)
        return False if len(calls) == 1 else real(*args, **kwargs)
    monkeypatch.setattr(questionnaire_svc, "_name_taken", check)


def test_a_template_name_stored_meanwhile_is_the_name_field_error_not_a_500(db, monkeypatch):
    questionnaire_svc.create_template("pm_quarterly", "zh", "季度调查", "标题")
    db.session.commit()
    _taken_check_misses_once(monkeypatch)
    with pytest.raises(DomainError) as err:
        questionnaire_svc.create_template("pm_quarterly", "zh", "季度调查", "另一个")
    assert err.value.field == "name"
    questionnaire_svc.create_template("pm_quarterly", "zh", "另一个名称", "标题")  # the session goes on
    db.session.commit()


def test_a_rename_to_a_name_stored_meanwhile_is_the_name_field_error(db, monkeypatch):
    questionnaire_svc.create_template("pm_quarterly", "zh", "季度调查", "标题")
    other = questionnaire_svc.create_template("pm_quarterly", "zh", "回访", "标题")
    db.session.commit()
    _taken_check_misses_once(monkeypatch)
    with pytest.raises(DomainError) as err:
        questionnaire_svc.rename_template(other, "季度调查")
    assert err.value.field == "name"
    assert other.name == "回访"
