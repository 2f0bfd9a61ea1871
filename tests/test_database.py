"""The SQLite defaults hold under concurrency (portal/database.py).

A portal on its embedded SQLite file must not lose writes or fail with "database is
locked" when several threads/workers read and then write at the same time. These
tests use their own app on a temporary SQLite file, whatever TEST_DATABASE_URL says.
"""
import threading
import time

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text, update

from portal import create_app
from portal.config import TestConfig
from portal.database import wants_immediate
from portal.extensions import db

THREADS = 8
INCREMENTS = 25

counters = Table("concurrency_counters", MetaData(),
                 Column("id", Integer, primary_key=True), Column("value", Integer, nullable=False))


@pytest.fixture
def sqlite_app(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/portal.sqlite3",
                     UPLOAD_FOLDER=str(tmp_path / "uploads"))
    with app.app_context():
        counters.create(db.engine)
        db.session.execute(insert(counters).values(id=1, value=0))
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_file_database_pragmas(sqlite_app):
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar().lower() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL: safe with WAL


def test_concurrent_read_then_write_transactions_lose_nothing(sqlite_app):
    """Each thread reads the counter, waits a little, writes value + 1 and commits.
    With deferred transactions this fails with "database is locked" or loses updates;
    the portal's BEGIN IMMEDIATE makes the transactions queue instead."""
    errors = []
    start = threading.Barrier(THREADS)

    def worker():
        with sqlite_app.app_context():
            start.wait()
            try:
                for _ in range(INCREMENTS):
                    value = db.session.execute(select(counters.c.value).where(counters.c.id == 1)).scalar_one()
                    time.sleep(0.001)  # widen the read-then-write window
                    db.session.execute(update(counters).where(counters.c.id == 1).values(value=value + 1))
                    db.session.commit()
            except Exception as exc:  # collected and reported by the test thread
                errors.append(repr(exc))
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert errors == []
    assert db.session.execute(select(counters.c.value)).scalar_one() == THREADS * INCREMENTS


def test_get_request_reads_while_a_writer_holds_the_lock(sqlite_app):
    """Safe requests begin deferred: with WAL a reader does not wait for an open write transaction."""
    holding, release = threading.Event(), threading.Event()

    def writer():
        with sqlite_app.app_context():
            db.session.execute(update(counters).values(value=41))  # BEGIN IMMEDIATE: lock held
            holding.set()
            release.wait(30)
            db.session.commit()
            db.session.remove()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        with sqlite_app.test_request_context("/", method="GET"):
            started = time.monotonic()
            value = db.session.execute(select(counters.c.value)).scalar_one()
            waited = time.monotonic() - started
            db.session.remove()
        assert value == 0  # the committed state, not the writer's uncommitted one
        assert waited < 5, f"the reader waited {waited:.1f}s for the writer"
        with sqlite_app.test_request_context("/", method="POST"):
            assert wants_immediate()  # and unsafe requests take the write lock up front
    finally:
        release.set()
        thread.join(30)
    assert db.session.execute(select(counters.c.value)).scalar_one() == 41
