"""pytest plugin for `make test-pg`: one PostgreSQL database per pytest-xdist worker.

Every worker's session app (tests/conftest.py) uses TEST_DATABASE_URL and wipes its
tables before each test, so parallel workers must not share a database. Loaded with
`-p tests.pg_workers`; on a worker it creates `<database>_<worker>` afresh, points
TEST_DATABASE_URL at it, and drops it at the end. Without xdist or PostgreSQL it does
nothing.
"""
import os

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

_created = []


def _admin(server, *statements):
    engine = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def pytest_configure(config):
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not worker or not url.startswith("postgresql"):
        return
    base = make_url(url)
    name = f"{base.database}_{worker}"
    _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    os.environ["TEST_DATABASE_URL"] = base.set(database=name).render_as_string(hide_password=False)
    _created.append((base, name))


def pytest_unconfigure(config):
    while _created:
        base, name = _created.pop()
        _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
