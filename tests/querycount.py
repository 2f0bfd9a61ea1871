"""Count the SQL statements one test-client request issues (issue 7: a guard against N+1 queries).

    with count_statements(db.engine) as statements:
        response = client.get("/rounds/outbox")
    assert len(statements) <= 12, statements.report()

A ``before_cursor_execute`` listener on the app's engine records every statement sent to the
database while the block runs. Transaction bookkeeping is left out, so SQLite (which emits its
own ``BEGIN``/``BEGIN IMMEDIATE``, see portal/database.py) and PostgreSQL count alike:
``BEGIN``, ``COMMIT``, ``ROLLBACK`` and the ``SAVEPOINT`` / ``RELEASE SAVEPOINT`` /
``ROLLBACK TO SAVEPOINT`` that nested transactions use. Pool pings and the DBAPI's own
commit/rollback calls never pass through the event, so they are not counted either.
"""
import re
from contextlib import contextmanager

from sqlalchemy import event

from portal.extensions import db

#: statements that only open, close or nest a transaction
NOISE = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


class Statements(list):
    """The SQL text of each counted statement, in order."""

    def report(self) -> str:
        lines = [f"{len(self)} statements:"]
        lines += [f"{i:3d}. {' '.join(sql.split())[:240]}" for i, sql in enumerate(self, 1)]
        return "\n".join(lines)


@contextmanager
def count_statements(engine):
    """Collect the statements ``engine`` executes inside the block into a ``Statements`` list."""
    statements = Statements()

    def record(conn, cursor, statement, parameters, context, executemany):
        if not NOISE.match(statement):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_of_request(client, url, **kwargs):
    """GET ``url`` with the test client; returns ``(response, statements)`` counting that request only.

    The test's own session is committed first (PortalClient.open does so too), so nothing the
    test left pending is flushed inside the counted window; the request then runs in its own
    app context and session, as in production. The figures kept between writes
    (services/figures_cache.py) are left aside: what is counted is what the page costs when it
    computes them, whether or not an earlier request kept them."""
    db.session.commit()
    config = client.application.config
    kept, config["FIGURES_CACHE"] = config.get("FIGURES_CACHE", True), False
    try:
        with count_statements(db.engine) as statements:
            response = client.get(url, **kwargs)
    finally:
        config["FIGURES_CACHE"] = kept
    return response, statements
