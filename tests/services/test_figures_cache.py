"""Figures kept between writes (services/figures_cache.py): every committed write, whatever made
it (the ORM, Core, plain SQL, another process), moves the data generation on, and a kept figure is
never served once it has; reads and rolled-back writes leave it where it was."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, text

from portal.extensions import db
from portal.models import AuditEvent, Client
from portal.services import figures_cache
from portal.services.figures_cache import cached, generation

ROOT = Path(__file__).resolve().parents[2]


def _now_generation():
    db.session.rollback()  # a new transaction: what is committed now
    value = generation()
    db.session.rollback()
    return value


def test_committed_writes_move_the_generation_and_reads_do_not():
    start = _now_generation()
    db.session.scalar(text("SELECT count(*) FROM clients"))
    db.session.commit()
    assert _now_generation() == start  # a read-only transaction
    db.session.add(Client(name="缓存测试客户"))
    db.session.flush()
    db.session.rollback()
    assert _now_generation() == start  # a write rolled back
    db.session.add(Client(name="缓存测试客户"))
    db.session.commit()
    assert _now_generation() == start + 1  # the ORM
    with db.engine.begin() as conn:
        conn.execute(insert(AuditEvent).values(action="cache_test", username="t"))
    assert _now_generation() == start + 2  # Core, on a connection of its own
    db.session.execute(text("UPDATE clients SET notes = 'x'"))
    db.session.commit()
    assert _now_generation() == start + 3  # plain SQL


def test_a_write_in_another_process_is_seen(app):
    """Two web servers, or the job worker: each keeps its own figures, all count on one row."""
    start = _now_generation()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x" * 32,
           "PORTAL_INSTANCE_PATH": app.instance_path, "PYTHONPATH": str(ROOT)}
    script = ("from portal import create_app\nfrom portal.extensions import db\nfrom portal.models import Client\n"
              "app = create_app()\nwith app.app_context():\n"
              "    db.session.add(Client(name='另一进程的客户'))\n    db.session.commit()\n")
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, timeout=120)
    assert _now_generation() == start + 1


def test_a_figure_is_kept_until_a_write_then_computed_again(monkeypatch):
    calls = []

    def compute():
        calls.append(1)
        return db.session.scalar(text("SELECT count(*) FROM clients"))

    db.session.commit()
    assert cached(("test", 1), compute) == 0
    assert cached(("test", 1), compute) == 0 and len(calls) == 1  # kept
    assert cached(("test", 2), compute) == 0 and len(calls) == 2  # another key
    db.session.add(Client(name="新客户"))
    db.session.commit()
    assert cached(("test", 1), compute) == 1 and len(calls) == 3  # written meanwhile
    assert cached(("test", 1), compute) == 1 and len(calls) == 3
    clock = [1000.0]
    monkeypatch.setattr(figures_cache.time, "monotonic", lambda: clock[0])
    cached(("test", 3), compute)
    clock[0] += figures_cache.TTL_SECONDS - 1
    cached(("test", 3), compute)
    assert len(calls) == 4
    clock[0] += 2  # past its minute: computed again though nothing was written
    cached(("test", 3), compute)
    assert len(calls) == 5


def test_figures_carry_their_language(app):
    from flask_babel import force_locale
    with app.test_request_context():
        with force_locale("zh"):
            zh = cached(("test", "language"), lambda: "zh")
        with force_locale("en"):
            en = cached(("test", "language"), lambda: "en")
            assert cached(("test", "language"), lambda: "again") == "en"
    assert (zh, en) == ("zh", "en")


def test_turned_off_it_computes_every_time(app, monkeypatch):
    monkeypatch.setitem(app.config, "FIGURES_CACHE", False)
    calls = []
    for _ in range(3):
        cached(("test", "off"), lambda: calls.append(1))
    assert len(calls) == 3


def test_a_database_without_the_table_still_commits(app, tmp_path):
    """Being migrated (before 0017, or going down past it): the bump must never break a commit."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        engine = create_engine(f"sqlite:///{tmp_path}/bare.sqlite3")
        figures_cache.install(engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT x FROM t")).scalar() == 1
        engine.dispose()
        return
    with db.engine.connect() as conn:  # PostgreSQL: the DO block, in a transaction without the table
        conn.execute(text("DROP TABLE data_generation"))
        conn.exec_driver_sql(figures_cache._BUMP_PG)
        assert conn.execute(text("SELECT 1")).scalar() == 1  # the transaction is not aborted
        conn.rollback()
    assert _now_generation() is not None


@pytest.fixture
def quarter_world(db):
    from portal.services.answers import parse_answers
    from portal.services.quarters import current_quarter
    from portal.services.responses import submit_response
    from tests import factories
    quality = factories.user("quality1", roles=("quality",))
    version = factories.template_version()
    parsed = parse_answers(version, {"q_attitude": "5", "q_timeliness": "5", "q_technical": "9"}, complete=True)
    form = submit_response(version, parsed, channel="paper", project=factories.project(), entered_by=quality)
    db.session.commit()
    return quality, form, current_quarter()


def test_the_close_page_shows_a_verification_at_once(client, auth, quarter_world):
    """Kept figures, and yet the quality manager sees the form they just verified counted."""
    from portal.services.verification import judge
    quality, form, quarter = quarter_world
    auth.login("quality1")
    before = client.get(f"/rollup/{quarter}").get_data(as_text=True)
    assert 'data-missing="unverified"' in before and 'id="preview-n">0<' in before
    assert client.get(f"/rollup/{quarter}").get_data(as_text=True) == before  # kept, the same page
    judge([form], "authentic", actor=quality)
    db.session.commit()
    after = client.get(f"/rollup/{quarter}").get_data(as_text=True)
    assert 'data-missing="unverified"' not in after and 'id="preview-n">1<' in after
    preview = client.get(f"/rollup/{quarter}/preview").get_data(as_text=True)
    judge([form], "rejected", actor=quality, reason="代填")
    db.session.commit()
    assert client.get(f"/rollup/{quarter}/preview").get_data(as_text=True) != preview
