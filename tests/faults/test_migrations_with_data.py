"""The migrations back and forth on the seeded database (issue 15 item 8), SQLite file and
PostgreSQL. tests/test_migrations.py runs the whole chain up, down to base and up again on an
empty database, and 0002 up and down with hand-made rows; this runs the last migrations on the
demo's data (``flask db upgrade`` + ``flask demo``): down one revision at a time from the head to
FLOOR (0011), then up to the head again. What it proves:

- every downgrade step and the upgrade back succeed with the demo's rows in the tables, and each
  step down leaves exactly the tables of its revision;
- every table that existed at FLOOR keeps its number of rows through each step and the round
  trip, and the tables whose columns no later migration changed keep every row as it was;
- after the round trip the schema is the original one: the same tables, columns, primary and
  foreign keys, unique and CHECK constraints, indexes and triggers (the archive guard's), by name;
- what is lost is what the downgraded migrations added and nothing else: the tables they created
  come back empty, and the columns they added to older tables come back with their defaults
  (a downgrade cannot keep data that has no place in the older schema), and what the downgrades
  delete or rewrite on purpose, as their code says: 0014's relationship calls (no ticket) with
  their attempts, 0012's complaint e-mails relabelled as notifications.
"""
import re

import pytest
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db

from .conftest import changed_tables, database_state

pytestmark = pytest.mark.xdist_group("faults")  # one worker: the demo is seeded once (conftest)

#: the round trip goes down to this revision (the migrations after it create data-bearing tables:
#: improvement plans, key accounts, rollup revisions, the archive). Not further: 0011's downgrade
#: deletes the complaint follow-up questionnaire, which the demo's answered complaint surveys
#: still point at, so it is refused (test_a_refused_downgrade_leaves_the_database_as_it_was)
FLOOR = "0011"


#: rows a downgrade deletes on purpose (its code says so): the older schema has no place for them.
#: {revision downgraded: {table: the count of what it deletes, taken before}}
DELETED_BY_DOWNGRADE = {
    "0014": {  # relationship calls have no ticket: they go, with their attempts
        "callback_tasks": "SELECT count(*) FROM callback_tasks WHERE kind = 'relationship'",
        "call_attempts": "SELECT count(*) FROM call_attempts WHERE task_id IN "
                         "(SELECT id FROM callback_tasks WHERE kind = 'relationship')"},
}


#: values a downgrade rewrites on purpose: 0012's complaint e-mails become plain notifications
#: (0011 has no 'complaint' kind), and stay so after the upgrade
RELABELLED = {"outbox_messages": "SELECT kind, count(*) FROM outbox_messages GROUP BY kind"}


def _kinds(table):
    with db.engine.connect() as conn:
        return dict(conn.execute(text(RELABELLED[table])).all())


def _deleted_by_downgrades():
    with db.engine.connect() as conn:
        return {revision: {t: conn.execute(text(sql)).scalar() for t, sql in tables.items()}
                for revision, tables in DELETED_BY_DOWNGRADE.items()}


def _revision():
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _counts():
    with db.engine.connect() as conn:
        return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()
                for t in inspect(conn).get_table_names()}


def _columns():
    inspector = inspect(db.engine)
    return {t: tuple(sorted(c["name"] for c in inspector.get_columns(t))) for t in inspector.get_table_names()}


def _normal(sql):
    return re.sub(r"\s+", " ", str(sql or "")).strip().lower()


def _schema():
    """Every table's columns (name, type, nullable), keys, constraints and indexes, and the
    triggers, as the database reports them."""
    inspector = inspect(db.engine)
    schema = {}
    for table in sorted(inspector.get_table_names()):
        pk = inspector.get_pk_constraint(table)
        schema[table] = {
            "columns": sorted((c["name"], str(c["type"]).split("(")[0].lower(), c["nullable"])
                              for c in inspector.get_columns(table)),
            "pk": (pk.get("name"), tuple(pk["constrained_columns"])),
            "fks": sorted((fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"],
                           tuple(fk["referred_columns"]), (fk.get("options") or {}).get("ondelete"))
                          for fk in inspector.get_foreign_keys(table)),
            "uniques": sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)),
            "checks": sorted((c["name"], tuple(sorted(set(re.findall(r"'([^']*)'", c["sqltext"])))))
                             for c in inspector.get_check_constraints(table)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in inspector.get_indexes(table)),
        }
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            triggers = conn.execute(text("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")).all()
        else:
            triggers = conn.execute(text("SELECT DISTINCT trigger_name, event_object_table "
                                         "FROM information_schema.triggers")).all()
    schema["(triggers)"] = sorted(tuple(t) for t in triggers)
    return schema


@pytest.fixture
def migrating(portal):
    """An app on the seeded copy (its engine closed at the end); yields the app."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=portal.url, UPLOAD_FOLDER=str(portal.uploads))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_down_to_0011_and_up_again_on_the_seeded_demo_keeps_rows_and_constraints(portal, migrating):
    with migrating.app_context():
        head = _revision()
        counts, columns, schema = _counts(), _columns(), _schema()
        rows = database_state(portal.url)
        assert counts["responses"] > 50 and counts["complaints"] and counts["rollup_revisions"]
        assert counts["tombstones"] and counts["archive_handovers"]

        deleted = _deleted_by_downgrades()
        expected = dict(counts)
        kinds = _kinds("outbox_messages")
        copies_sql = text("SELECT count(*) FROM responses WHERE archive_pdf IS NOT NULL")
        with db.engine.connect() as conn:
            archive_copies = [conn.execute(copies_sql).scalar()]

        steps = []
        while (revision := _revision()) != FLOOR:
            downgrade(revision="-1")
            db.session.remove()
            for table, n in deleted.get(revision, {}).items():
                expected[table] -= n
            now = _counts()
            steps.append(_revision())
            lost = {t: (expected[t], now[t]) for t in now if t in counts and now[t] != expected[t]}
            assert lost == {}, f"rows lost going down from {revision}: {lost}"
        assert steps == [f"{n:04d}" for n in range(int(head) - 1, int(FLOOR) - 1, -1)]
        at_floor = _columns()
        assert set(at_floor) < set(columns)

        upgrade()
        db.session.remove()
        assert _revision() == head
        assert _schema() == schema  # the same tables, columns, keys, constraints, indexes, triggers
        after, after_rows = _counts(), database_state(portal.url)
        kinds_after = _kinds("outbox_messages")
        with db.engine.connect() as conn:
            archive_copies.append(conn.execute(copies_sql).scalar())

    created_later = set(columns) - set(at_floor)
    kept = {t for t in at_floor if t != "alembic_version"}
    untouched = {t for t in kept if at_floor[t] == columns[t] and expected[t] == counts[t] and t not in RELABELLED}
    assert {t: after[t] for t in kept} == {t: expected[t] for t in kept}  # every row of the older tables
    assert deleted["0014"]["callback_tasks"]  # (the demo has some)
    assert {t for t in untouched if after_rows[t] != rows[t]} == set()  # ... as it was
    assert kinds.get("complaint") and "complaint" not in kinds_after
    assert kinds_after["notification"] == kinds["notification"] + kinds["complaint"]
    # what went: the tables of the downgraded migrations (back empty, but for the one row the
    # data generation's migration writes) ...
    assert {t: after[t] for t in created_later} == {**dict.fromkeys(created_later, 0), "data_generation": 1}
    assert {t for t in created_later if counts[t]} >= {"improvement_plans", "rollup_revisions", "tombstones"}
    # ... and the values of the columns they added to older tables: e.g. responses.archive_pdf
    # (0016), the name of each form's archive copy, is empty again for every form
    assert "archive_pdf" in set(columns["responses"]) - set(at_floor["responses"])
    assert archive_copies[0] > 0 and archive_copies[1] == 0


def test_a_refused_downgrade_leaves_the_database_as_it_was(portal, migrating):
    """0011 down with the demo's data: its DELETE of the complaint follow-up questionnaire would
    orphan the answered complaint surveys (SQLite: env.py's foreign-key check refuses it;
    PostgreSQL: the foreign key does). The migration's transaction is rolled back: the database
    stays at 0011 with every row, and goes up to the head again."""
    with migrating.app_context():
        head = _revision()
        downgrade(revision="0011")
        db.session.remove()
        before = database_state(portal.url)
        with pytest.raises((SystemExit, IntegrityError)):
            downgrade(revision="-1")
        db.session.remove()
        assert _revision() == "0011"
        assert changed_tables(before, database_state(portal.url)) == {}
        upgrade()
        db.session.remove()
        assert _revision() == head
