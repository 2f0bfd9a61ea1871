"""Figures kept between writes (issue 15): the busiest staff pages show aggregates over every form
of a quarter (the quarter close page, the rollup preview, the home pages' counts) that cost tens
to hundreds of milliseconds and change only when something is written.

- Every committed write transaction adds one to the ``data_generation`` row, inside the same
  transaction (``install``: a listener sees the statements a connection runs; at its commit, if one
  of them wrote, it runs the bump on the driver's connection before the COMMIT goes out). The new
  value becomes visible with the data, on every engine, process and machine sharing the database.
- ``cached(key, compute)`` reads the value and returns what ``compute`` gave for ``key`` under the
  same value in this process, else computes and keeps it. A figure read after a write is
  therefore never older than the write. Entries also expire after TTL_SECONDS, for what changes
  with the clock alone (a complaint's time limit running out) and for a database restored from a
  backup (its counter goes back).
- Only plain values are kept (the frozen dataclasses of services.rollup, tuples, numbers), never
  ORM objects, which belong to one session. The key holds the locale: some figures carry text.

PostgreSQL: the bump is a DO block that does nothing while the table does not exist (a database
being migrated), so it can never abort the transaction it rides on; it takes the row's lock for
the last moment of each write transaction. SQLite: its writes are one at a time anyway.
"""
import re
import threading
import time
from collections import OrderedDict

from flask import current_app
from flask_babel import get_locale
from sqlalchemy import event, text

from ..database import transaction_memo
from ..extensions import db
from ..models.generation import ROW_ID

TTL_SECONDS = 60
MAX_ENTRIES = 1024
#: statements that change data or schema (SELECT ... FOR UPDATE, PRAGMA, SET do not)
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|CREATE|DROP|ALTER|TRUNCATE|COPY)\b", re.IGNORECASE)
_BUMP = f"UPDATE data_generation SET value = value + 1 WHERE id = {ROW_ID}"
_BUMP_PG = f"DO $$ BEGIN {_BUMP}; EXCEPTION WHEN undefined_table THEN NULL; END $$"
_MISSING = object()


def install(engine):
    """Count ``engine``'s committed write transactions in ``data_generation``."""
    bump = _BUMP_PG if engine.dialect.name == "postgresql" else _BUMP

    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, cursor, statement, parameters, context, executemany):
        if WRITES.match(statement):
            conn.info["wrote"] = True

    @event.listens_for(engine, "commit")
    def _bump(conn):  # runs before the DBAPI commit, in the transaction being committed
        if not conn.info.pop("wrote", False):
            return
        cursor = conn.connection.cursor()  # the driver's: not seen by _note_write, not counted anywhere
        try:
            cursor.execute(bump)
        except Exception as error:  # SQLite before the migration: the statement fails, the transaction stands
            if engine.dialect.name == "postgresql" or "no such table" not in str(error):
                raise
        finally:
            cursor.close()

    @event.listens_for(engine, "rollback")
    def _forget(conn):
        conn.info.pop("wrote", None)


_SEEN = transaction_memo("figures.generation")


def generation():
    """The committed data generation as this transaction sees it (None without its row): read
    once per transaction (a page asks for several figures), again after a commit or rollback."""
    info = db.session.info
    if _SEEN not in info:
        info[_SEEN] = db.session.scalar(text(f"SELECT value FROM data_generation WHERE id = {ROW_ID}"))
    return info[_SEEN]



class _Store:
    """Entries ``key → (generation, expires, value)``, the least recently used dropped first."""

    def __init__(self):
        self.entries = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, gen):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry[0] != gen or entry[1] <= time.monotonic():
                return _MISSING
            self.entries.move_to_end(key)
            return entry[2]

    def put(self, key, gen, value):
        with self.lock:
            self.entries[key] = (gen, time.monotonic() + TTL_SECONDS, value)
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_ENTRIES:
                self.entries.popitem(last=False)


def store() -> _Store:
    return current_app.extensions.setdefault("figures_cache", _Store())


def cached(key: tuple, compute):
    """``compute()``, or what it returned for ``key`` while nothing has been written since."""
    if not current_app.config.get("FIGURES_CACHE", True):
        return compute()
    gen = generation()
    if gen is None:
        return compute()
    full = (*key, str(get_locale() or ""))
    value = store().get(full, gen)
    if value is _MISSING:
        value = compute()
        store().put(full, gen, value)
    return value
