"""Scale-out (issue 15 §3): two portal instances — separate gunicorn masters on two loopback
ports, as two machines — and one job worker share one PostgreSQL database and one Redis, behind
haproxy (round-robin, health checks, retries with redispatch: haproxy.cfg.in).

Shown here: a session started on one instance works on the other and through the balancer; the
login and survey rate limits (Flask-Limiter, RATELIMIT_STORAGE_URI in Redis) count one budget
across both; a report job queued on one instance is run by the separate worker (queue in Redis,
REDIS_URL) and followed and downloaded from the other; killing one instance with SIGKILL in the
middle of a stream of client forms through the balancer loses no form.

Both instances and the worker use one PORTAL_INSTANCE_PATH, as machines would mount one shared
volume: the worker writes the report there and either instance serves it. PROXY_FIX_HOPS=1 (one
balancer in front): each simulated client connects from an address of its own in 127.0.0.0/8, and
the rate limits count per that address whether it comes through haproxy or straight to an instance.

Needs PostgreSQL (a throwaway database on CI_PG_SERVER, default 127.0.0.1:5432) whatever the pass,
so it runs in the SQLite pass only (tests/system/conftest.py skips it under TEST_DATABASE_URL).
The stack is started once for the module; the last test kills instance A.
"""
import threading
import time
from dataclasses import dataclass

import pytest

from tests import factories
from tests.texts import zh

from .conftest import (ANSWERS, Balancer, Browser, Instance, Process, build_data, invited_contacts,
                       percentile, postgres_database, read_rows, redis_database, start_balancer,
                       start_instance, start_job_worker, wait_http)

pytestmark = pytest.mark.xdist_group("system")

LOGIN_LIMIT = 6
SURVEY_LIMIT = 12
#: client forms submitted through the balancer while instance A is killed, by CLIENTS at once
FORMS = 120
CLIENTS = 8
KILL_AFTER = 40
#: invitations kept out of the stream, for the survey rate limit
SPARE = 1


@dataclass
class Stack:
    database_url: str
    instance_path: object
    a: Instance
    b: Instance
    worker: Process
    balancer: Balancer
    forms: list
    spare: list


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale-out")
    shared = folder / "instance"  # the shared volume: reports, uploads, secret key
    with postgres_database() as url, redis_database() as redis_url:
        def build():
            factories.user("quality1", roles=("quality",))
            return invited_contacts(FORMS + SPARE)
        invitations = build_data(url, build)
        settings = dict(DATABASE_URL=url, REDIS_URL=redis_url, RATELIMIT_STORAGE_URI=redis_url,
                        PORTAL_INSTANCE_PATH=shared, PROXY_FIX_HOPS=1, PDF_PROCESSES=1,
                        LOGIN_RATE_LIMIT=f"{LOGIN_LIMIT} per minute",
                        SURVEY_RATE_LIMIT=f"{SURVEY_LIMIT} per minute;1000 per hour")
        a = start_instance("a", folder, wait=False, **settings)
        b = start_instance("b", folder, wait=False, **settings)
        worker = start_job_worker(folder, **settings)
        processes = [a.process, b.process, worker]
        try:
            wait_http(a.base, a.process)
            wait_http(b.base, b.process)
            balancer = start_balancer(folder, [a, b])
            processes.append(balancer.process)
            yield Stack(url, shared, a, b, worker, balancer, invitations[SPARE:], invitations[:SPARE])
        finally:
            for process in reversed(processes):
                process.stop()


def served(stack):
    """Requests each instance has answered so far, as haproxy counts them."""
    stats = stack.balancer.stats()
    return {name: int(stats[name]["stot"]) for name in ("a", "b")}


def test_a_session_started_on_one_instance_works_on_the_other_and_through_the_balancer(stack):
    browser = Browser(stack.a.base, source="127.0.1.1")
    assert browser.login("quality1", factories.PASSWORD).status == 303  # signed in on A
    on_b = browser.get("/", base=stack.b.base)
    assert on_b.status == 200 and 'action="/logout"' in on_b.text
    stranger = Browser(stack.b.base, source="127.0.1.2")
    assert stranger.get("/").status == 302  # B does not let in just anyone

    before = served(stack)
    pages = [browser.get("/", base=stack.balancer.base) for _ in range(6)]
    assert [p.status for p in pages] == [200] * 6 and all('action="/logout"' in p.text for p in pages)
    after = served(stack)
    assert after["a"] - before["a"] == after["b"] - before["b"] == 3  # round-robin: both served it

    token = on_b.csrf()
    assert browser.post("/logout", {"csrf_token": token}, base=stack.b.base).status == 303
    copied = Browser(stack.a.base, source="127.0.1.1", cookies={**browser.cookies})
    assert copied.get("/").status == 302  # signing out on B ended the session on A too


def _login_attempts(source, bases, username):
    """Failed sign-ins from one address, spread over ``bases`` in turn: their status codes."""
    browser = Browser(bases[0], source=source)
    token = browser.get("/login").csrf()  # one form, good on every instance (same SECRET_KEY)
    data = {"username": username, "password": "not-the-password", "csrf_token": token}
    return [browser.post("/login", data, base=bases[i % len(bases)]).status for i in range(LOGIN_LIMIT + 2)]


def test_the_login_rate_limit_counts_across_both_instances(stack):
    expected = [422] * LOGIN_LIMIT + [429, 429]
    one_instance = _login_attempts("127.0.2.1", [stack.a.base], "nobody1")
    split = _login_attempts("127.0.2.2", [stack.a.base, stack.b.base], "nobody2")
    balanced = _login_attempts("127.0.2.3", [stack.balancer.base], "nobody3")
    assert one_instance == expected
    assert split == expected  # 3 on A and 3 on B: the 7th is refused, on A, as on one instance
    assert balanced == expected


def _link_openings(source, bases, token):
    browser = Browser(bases[0], source=source)
    return [browser.get(f"/s/{token}", base=bases[i % len(bases)]).status for i in range(SURVEY_LIMIT + 2)]


def test_the_survey_rate_limit_counts_across_both_instances(stack):
    (_id, token), = stack.spare
    expected = [303] * SURVEY_LIMIT + [429, 429]
    assert _link_openings("127.0.3.1", [stack.a.base], token) == expected
    assert _link_openings("127.0.3.2", [stack.a.base, stack.b.base], token) == expected
    assert _link_openings("127.0.3.3", [stack.balancer.base], token) == expected


def test_a_job_queued_on_one_instance_runs_on_the_worker_and_is_seen_from_the_other(stack):
    from portal.services.quarters import current_quarter
    browser = Browser(stack.a.base, source="127.0.4.1")
    assert browser.login("quality1", factories.PASSWORD).status == 303
    token = browser.get(f"/rollup/{current_quarter()}").csrf()
    queued = browser.post("/rollup/report-pdf", {"period": current_quarter(), "csrf_token": token})
    assert queued.status == 303 and "/jobs/" in queued.location, (queued.status, queued.text[:300])
    job_path = "/jobs/" + queued.location.rsplit("/jobs/", 1)[1]

    seen, started = [], time.monotonic()
    while True:  # the job's status box, as its page polls it, but from B
        box = browser.get(job_path, base=stack.b.base, headers={"HX-Request": "true"})
        assert box.status == 200, box.text[:300]
        state = box.text.split('data-state="', 1)[1].split('"', 1)[0]
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in ("done", "failed", "interrupted"):
            break
        assert time.monotonic() - started < 40, f"the job is still {state}:\n{stack.worker.log()[-3000:]}"
        time.sleep(0.1)
    assert seen[-1] == "done", f"{seen}\n{box.text[:1000]}\n{stack.worker.log()[-3000:]}"
    print(f"\njob states seen from B: {seen} in {time.monotonic() - started:.1f} s")

    pdf = browser.get(f"{job_path}/file", base=stack.b.base)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body.startswith(b"%PDF")
    stored = list((stack.instance_path / "reports").glob("*.pdf"))
    assert len(stored) == 1 and stored[0].read_bytes() == pdf.body  # on the shared volume
    job_id = int(job_path.rsplit("/", 1)[1])
    (row,) = read_rows(stack.database_url, "SELECT state, kind FROM jobs WHERE id = :id", id=job_id)
    assert tuple(row) == ("done", "rollup_report")
    # the worker ran it; neither web instance did (they only queued it in Redis)
    assert "run_job" in stack.worker.log()
    assert "run_job" not in stack.a.log() and "run_job" not in stack.b.log()


def test_killing_an_instance_mid_stream_loses_no_acknowledged_form(stack):
    """CLIENTS clients fill FORMS forms through the balancer (open the link, load the form, submit);
    A is killed with SIGKILL (its master and workers) after KILL_AFTER acknowledgements. A client
    whose request fails tries the form again, as a person would."""
    already = zh("This questionnaire has already been submitted")
    pending = list(enumerate(stack.forms))
    lock = threading.Lock()
    outcomes, failures, acknowledged_at = {}, [], {}
    killed = threading.Event()
    kill_time = []
    latencies = {"open": [], "form": [], "submit": []}

    def timed(step, call, *args, **kw):
        begun = time.perf_counter()
        reply = call(*args, **kw)
        with lock:
            latencies[step].append(time.perf_counter() - begun)
        return reply

    def fill(i, token):
        browser = Browser(stack.balancer.base, source=f"127.1.{i // 250}.{i % 250 + 1}")
        for attempt in range(8):
            try:
                opened = timed("open", browser.get, f"/s/{token}")
                if opened.status == 404 and attempt:  # an earlier try was recorded, unacknowledged
                    return "recorded-unacknowledged"
                assert opened.status == 303, opened.status
                form = timed("form", browser.get, "/survey")
                assert form.status == 200, form.status
                reply = timed("submit", browser.post, "/survey/submit", {**ANSWERS, "csrf_token": form.csrf()})
                if reply.status == 303 and reply.location.endswith("/survey/thanks"):
                    return "acknowledged"
                if reply.status == 409 and already in reply.text:
                    return "already"  # an earlier try (or haproxy's retry of it) was recorded
                raise AssertionError(f"submit answered {reply.status}")
            except (OSError, AssertionError) as error:
                with lock:
                    failures.append((i, attempt, killed.is_set(), repr(error)))
                time.sleep(0.2)
        return "gave up"

    def client():
        while True:
            with lock:
                if not pending:
                    return
                i, (_invitation_id, token) = pending.pop(0)
            outcome = fill(i, token)
            with lock:
                outcomes[i] = outcome
                acknowledged_at[i] = killed.is_set()

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    while sum(o == "acknowledged" for o in list(outcomes.values())) < KILL_AFTER:
        assert any(t.is_alive() for t in threads), "the clients stopped before the kill"
        time.sleep(0.01)
    before_kill = served(stack)
    stack.a.process.kill()
    kill_time.append(time.monotonic() - started)
    killed.set()
    for t in threads:
        t.join(120)
    elapsed = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), "a client hung"
    stack.balancer.wait_status("a", "DOWN")
    stats = stack.balancer.stats()
    after = served(stack)

    ids = [invitation_id for invitation_id, _token in stack.forms]
    rows = read_rows(stack.database_url, "SELECT invitation_id, count(*) FROM responses "
                     "WHERE invitation_id = ANY(:ids) GROUP BY invitation_id", ids=ids)
    recorded = dict(rows)
    assert sorted(outcomes) == list(range(FORMS))
    assert "gave up" not in outcomes.values(), failures
    acknowledged = [ids[i] for i, o in outcomes.items() if o == "acknowledged"]
    assert all(recorded.get(invitation_id) == 1 for invitation_id in acknowledged)  # none lost
    assert set(recorded) == set(ids) and set(recorded.values()) == {1}  # every form once, none twice
    after_kill = [i for i, o in outcomes.items() if o == "acknowledged" and acknowledged_at[i]]
    assert len(after_kill) >= FORMS - KILL_AFTER - 2 * CLIENTS  # B took the rest
    assert len(failures) <= CLIENTS, failures  # at most the requests in flight when A died
    print(f"\nscale-out: {FORMS} forms ({3 * FORMS} requests) by {CLIENTS} clients through haproxy in "
          f"{elapsed:.1f} s ({FORMS / elapsed:.0f} forms/s, {3 * FORMS / elapsed:.0f} requests/s); "
          f"A killed at {kill_time[0]:.1f} s; outcomes "
          f"{ {o: list(outcomes.values()).count(o) for o in set(outcomes.values())} }; "
          f"client-visible failures {len(failures)} {failures}; served before kill {before_kill}, after {after}; "
          f"haproxy retries {stats['b']['wretr']}/{stats['a']['wretr']} (b/a), "
          f"redispatches {stats['b']['wredis']}/{stats['a']['wredis']}; latency p50/p95/max ms "
          + ", ".join(f"{step} {1000 * percentile(v, 50):.0f}/{1000 * percentile(v, 95):.0f}/{1000 * max(v):.0f}"
                      for step, v in latencies.items()))
