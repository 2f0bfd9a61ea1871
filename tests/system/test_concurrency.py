"""Concurrency (issue 15 §4) through real HTTP to a real gunicorn with 4 worker processes (4 threads
each, README's production command): 200 simultaneous submissions of one client form make exactly
one response on SQLite (the default instance: PORTAL_INSTANCE_PATH's portal.sqlite3, WAL) and on
PostgreSQL; 50 writers saving drafts for 30 s on SQLite never meet "database is locked".

tests/services/test_submit_race.py races 20 threads in one process through the test client; here
the submissions come from 20 browsers (each opened the link itself, from its own address) over
200 connections released together, and land in 4 processes that share nothing but the database.
On SQLite the invitation row lock is BEGIN IMMEDIATE (portal/database.py), on PostgreSQL SELECT ...
FOR UPDATE (services.survey.submit_online).

Runs in the SQLite pass only (tests/system/conftest.py): the PostgreSQL case makes its own database
on CI_PG_SERVER. The 30 s writers test is this suite's one long test; the module shares the
xdist group "system" with test_scale_out.py, so one pytest-xdist worker runs them one after the
other (``--dist loadgroup``) and two sets of servers never compete for the CPUs.
"""
import json
import re
import threading
import time
from collections import Counter
from contextlib import contextmanager

import pytest

from portal.database import sqlite_uri_for
from tests.texts import zh

from .conftest import (ANSWERS, Browser, Reply, build_data, connect, invited_contacts, open_survey, percentile,
                       postgres_database, read_rows, send, start_instance)

pytestmark = pytest.mark.xdist_group("system")

RACERS = 200
BROWSERS = 20
WRITERS = 50
WRITING_SECONDS = 30
#: only the race is measured here: the per-address flood guard must not refuse it
UNLIMITED = "100000 per minute;1000000 per hour"


@contextmanager
def portal_on(engine, folder, invitations):
    """A gunicorn (4 workers x 4 threads) on a new database of ``engine`` holding one round of
    ``invitations`` invitations; yields (database URL, instance, [(invitation id, token)])."""
    instance_path = folder / "instance"
    instance_path.mkdir()
    with (postgres_database() if engine == "postgresql" else _sqlite_file(instance_path)) as url:
        forms = build_data(url, lambda: invited_contacts(invitations), migrate=False)
        server = start_instance("portal", folder, workers=4, threads=4, PORTAL_INSTANCE_PATH=instance_path,
                                DATABASE_URL=url if engine == "postgresql" else None,
                                SURVEY_RATE_LIMIT=UNLIMITED)
        try:
            yield url, server, forms
        finally:
            server.process.stop()


@contextmanager
def _sqlite_file(instance_path):
    """The default instance's database: the server gets no DATABASE_URL and finds this file."""
    yield sqlite_uri_for(instance_path)


#: a 5xx in gunicorn's access log ('... "POST /survey/submit HTTP/1.1" 500 ...')
SERVER_ERROR = re.compile(r'HTTP/1\.[01]" 5\d\d ')


def server_errors(log):
    """The lines of the server's log that tell of a failure: tracebacks, a locked database, a 5xx."""
    return [line for line in log.splitlines()
            if "Traceback" in line or "database is locked" in line.lower() or SERVER_ERROR.search(line)]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_200_simultaneous_submissions_of_one_form_make_exactly_one_response(engine, tmp_path):
    already = zh("This questionnaire has already been submitted")
    with portal_on(engine, tmp_path, invitations=1) as (url, server, forms):
        ((invitation_id, token),) = forms
        browsers = [Browser(server.base, source=f"127.2.0.{i + 1}") for i in range(BROWSERS)]
        csrf = [open_survey(browser, token) for browser in browsers]  # the link opened on 20 devices
        connections = [connect(server.base, browsers[i % BROWSERS].source, timeout=120) for i in range(RACERS)]
        for connection in connections:
            connection.connect()  # every connection open before any request is sent
        start = threading.Barrier(RACERS)
        results = [None] * RACERS

        def submit(i):
            start.wait()
            began = time.perf_counter()
            try:
                reply = send(connections[i], "POST", "/survey/submit", cookies=browsers[i % BROWSERS].cookies,
                             data={**ANSWERS, "csrf_token": csrf[i % BROWSERS]})
            except OSError as error:
                reply = error
            results[i] = (reply, time.perf_counter() - began)

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(RACERS)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        elapsed = time.perf_counter() - began
        assert not any(t.is_alive() for t in threads), "a submission hung"
        replies = [reply for reply, _seconds in results]
        log = server.log()
        recorded = _count_responses(url, invitation_id)

    statuses = Counter(r.status if isinstance(r, Reply) else repr(r) for r in replies)
    thanks = [r for r in replies if isinstance(r, Reply) and r.status == 303 and r.location.endswith("/survey/thanks")]
    refused = [r for r in replies if isinstance(r, Reply) and r.status == 409 and already in r.text]
    print(f"\n{engine}: {RACERS} simultaneous submits in {elapsed:.2f} s: {dict(statuses)}; latency p50/max "
          f"{1000 * percentile([s for _r, s in results], 50):.0f}/{1000 * max(s for _r, s in results):.0f} ms")
    assert len(thanks) == 1, statuses
    assert len(refused) == RACERS - 1, statuses  # the others: "already submitted", none a 5xx
    assert recorded == 1
    assert not server_errors(log), server_errors(log)[:20]


def _count_responses(url, invitation_id):
    return read_rows(url, "SELECT count(*) FROM responses WHERE invitation_id = :id", id=invitation_id)[0][0]


def test_50_writers_for_30_seconds_on_sqlite_never_meet_database_is_locked(tmp_path):
    """Each writer is a client saving its form's draft over and over (an UPDATE of its invitation
    and an audit row per save, through 16 server threads in 4 processes); every save it was told
    succeeded is the one the database holds at the end."""
    with portal_on("sqlite", tmp_path, invitations=WRITERS) as (url, server, forms):
        writers = [Browser(server.base, source=f"127.3.0.{i + 1}") for i in range(WRITERS)]
        csrf = [open_survey(writer, token) for writer, (_id, token) in zip(writers, forms)]
        acknowledged = [None] * WRITERS
        errors, latencies = [], []
        lock = threading.Lock()
        start = threading.Barrier(WRITERS)

        def write(i):
            start.wait()
            deadline = time.monotonic() + WRITING_SECONDS
            n = 0
            while time.monotonic() < deadline:
                n += 1
                text = f"草稿 {i}-{n}"
                began = time.perf_counter()
                try:
                    reply = writers[i].post("/survey/draft", {**ANSWERS, "q_opinion": text, "csrf_token": csrf[i]},
                                            headers={"HX-Request": "true"}, timeout=60)
                except OSError as error:
                    reply = error
                seconds = time.perf_counter() - began
                with lock:
                    latencies.append(seconds)
                    if isinstance(reply, Reply) and reply.status == 200:
                        acknowledged[i] = text
                    else:
                        errors.append(reply.status if isinstance(reply, Reply) else repr(reply))

        threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(WRITING_SECONDS + 120)
        elapsed = time.perf_counter() - began
        assert not any(t.is_alive() for t in threads), "a writer hung"
        log = server.log()
        saved = {row[0]: row[1] for row in read_rows(url, "SELECT id, draft FROM invitations")}

    drafts = [(json.loads(saved[i]) if isinstance(saved[i], str) else saved[i]) for i, _token in forms]
    print(f"\nsqlite: {WRITERS} writers for {elapsed:.1f} s: {len(latencies)} draft saves "
          f"({len(latencies) / elapsed:.0f}/s), errors {Counter(errors)}; latency p50/p95/p99/max "
          + "/".join(f"{1000 * percentile(latencies, p):.0f}" for p in (50, 95, 99))
          + f"/{1000 * max(latencies):.0f} ms")
    assert "database is locked" not in log.lower()
    assert not errors, Counter(errors)
    assert not server_errors(log), server_errors(log)[:20]
    assert [d.get("q_opinion") for d in drafts] == acknowledged  # every last acknowledged save is there
