"""Database defaults that survive real use.

SQLite: WAL, a busy timeout, foreign keys, and write transactions that take the
write lock up front (BEGIN IMMEDIATE) so that read-then-write requests from
several workers wait for each other instead of failing with "database is locked".
Safe requests (GET/HEAD/OPTIONS) begin deferred so readers never block writers,
unless a view declares it writes with ``write_intent()``.
"""
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)
#: outside requests transactions begin IMMEDIATE unless this is turned off (e.g. a test thread
#: that only reads while a live server writes)
_immediate_outside_requests: ContextVar[bool] = ContextVar("immediate_outside_requests", default=True)
#: set by background jobs: their transactions begin as they say, whatever request runs them
_job_mode: ContextVar[bool | None] = ContextVar("job_mode", default=None)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def sqlite_uri_for(instance_path):
    return f"sqlite:///{instance_path}/portal.sqlite3"


def wants_immediate():
    if _job_mode.get() is not None:
        return _job_mode.get()
    if _write_intent.get():
        return True
    if has_request_context():
        return request.method not in SAFE_METHODS
    return _immediate_outside_requests.get()  # CLI, background jobs: assume they write


@contextmanager
def deferred_outside_requests():
    token = _immediate_outside_requests.set(False)
    try:
        yield
    finally:
        _immediate_outside_requests.reset(token)


@contextmanager
def job_transactions():
    """A background job's transactions begin deferred (it reads and reports progress on other
    connections) until ``job_writes()`` says it now writes."""
    token = _job_mode.set(False)
    try:
        yield
    finally:
        _job_mode.reset(token)


def job_writes():
    """From now on the job's transactions take the write lock up front (until the job ends)."""
    _job_mode.set(True)


@contextmanager
def write_intent():
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def writes_on_get(view):
    """Decorator for a GET view that writes (e.g. marking an invitation opened)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        with write_intent():
            return view(*args, **kwargs)
    return wrapper


def configure_sqlite(engine: Engine, busy_timeout_ms: int):
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys = ON")
        # what is deleted is overwritten with zeros, not left in free pages: a disposed form's
        # content must not stay readable in the file (DESIGN §4.6; services.archive.disposal)
        cur.execute("PRAGMA secure_delete = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if wants_immediate() else "BEGIN")


#: keys of ``session.info`` that hold what one transaction read (the settings, the data
#: generation): forgotten when it ends, or a savepoint does (services.settings, figures_cache)
TRANSACTION_MEMOS: set = set()


def transaction_memo(key: str) -> str:
    """Register ``key`` as a per-transaction memo in ``session.info``; returns it."""
    TRANSACTION_MEMOS.add(key)
    return key


def _forget_transaction_memos(session, transaction):
    for key in TRANSACTION_MEMOS:
        session.info.pop(key, None)


from sqlalchemy.orm import Session as _Session  # noqa: E402

event.listen(_Session, "after_transaction_end", _forget_transaction_memos)
