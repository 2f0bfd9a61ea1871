"""Callback sampling (DESIGN §4.3.2): per priority at least ⌈rate × closed⌉ calls, drawn from the
quarter's own cases by a seeded order (key accounts first) that anyone can recompute, topped up
for cases imported later without taking anything back, and a replacement for every call that
fails while undrawn cases remain."""
import json
import math
import random
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, CallbackDraw, CallbackTask, Client, ServiceCase, User
from portal.models.case import PRIORITIES
from portal.services import DomainError
from portal.services.callbacks import queue
from portal.services.callbacks.sampling import (draw, quarter_seed, quarter_status, rank_of, rates,
                                                required_for)
from portal.services.settings import set_setting

from .. import factories
from ..conftest import _wipe
from ..querycount import count_statements

QUARTER = "2026Q4"
OTHER_QUARTER = "2026Q3"
DEFAULT_RATES = {"P1": 0.8, "P2": 0.5, "P3": 0.2, "P4": 0.05}
HYPOTHESIS = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}

#: per priority (closed cases, of which key accounts)
counts_strategy = st.fixed_dictionaries({
    p: st.integers(0, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))) for p in PRIORITIES})
small_counts = st.fixed_dictionaries({
    p: st.integers(0, 15).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))) for p in PRIORITIES})
seeds = st.integers(0, 2**31 - 1)


# --- the world -------------------------------------------------------------------------------

def fresh():
    """Empty tables for one hypothesis example (the db fixture wipes per test, not per example)."""
    db.session.rollback()
    db.session.expunge_all()
    _wipe()


class World:
    """A quality agent, a key-account and an ordinary client with a project each, and cases."""

    def __init__(self):
        self.desk = factories.user(roles=("quality",))
        pm = factories.user(roles=("pm",))
        self.key_project = factories.project(pm=pm, client_=factories.client(key_account=True))
        self.other_project = factories.project(pm=pm, client_=factories.client())
        self.serial = 0

    def cases(self, spec, quarter=QUARTER, order=None, prefix="T"):
        """``spec``: {priority: (n, key accounts among them)}; ``order``: a Random to shuffle the
        inserts. Returns the rows added."""
        rows = []
        for priority, (n, key) in spec.items():
            for i in range(n):
                self.serial += 1
                project = self.key_project if i < key else self.other_project
                month = 10 if quarter == QUARTER else 7
                rows.append(ServiceCase(
                    external_id=f"{prefix}{quarter}-{priority}-{self.serial:05d}", project_id=project.id,
                    priority=priority, reporter="报障人", reporter_phone="13800000000",
                    closed_at=datetime(2026, month, 1 + i % 28, 8, 0), quarter=quarter))
        if order is not None:
            order.shuffle(rows)
        db.session.add_all(rows)
        db.session.commit()
        return rows


def key_accounts():
    """{external_id: key account?} of every case."""
    return dict(db.session.execute(
        select(ServiceCase.external_id, Client.key_account)
        .join(ServiceCase.project).join(Client)).all())


def drawn(quarter=QUARTER):
    """{priority: [external ids drawn, in rank order]}"""
    rows = db.session.execute(select(CallbackTask.priority, ServiceCase.external_id)
                              .join(CallbackTask.case).where(CallbackTask.quarter == quarter)
                              .order_by(CallbackTask.priority, CallbackTask.rank)).all()
    found = {p: [] for p in PRIORITIES}
    for priority, external_id in rows:
        found[priority].append(external_id)
    return found


def expected_order(seed, priority, quarter=QUARTER):
    """The seeded order recomputed from nothing but the seed, the ticket ids and the clients."""
    keys = key_accounts()
    ids = db.session.scalars(select(ServiceCase.external_id).where(
        ServiceCase.quarter == quarter, ServiceCase.priority == priority)).all()
    return sorted(ids, key=lambda e: rank_of(seed, e, keys[e]))


def ceil_rate(rate, n):
    """⌈rate × n⌉ on the rate as a decimal number, all cases when fewer."""
    return min(n, math.ceil(Decimal(str(rate)) * n))


def active_count(priority):
    return db.session.scalar(select(func.count(CallbackTask.id)).where(
        CallbackTask.quarter == QUARTER, CallbackTask.priority == priority,
        CallbackTask.state.in_(("open", "reached"))))


# --- the rule --------------------------------------------------------------------------------

@pytest.mark.parametrize("rate, closed, required", [
    (0.2, 15, 3), (0.1, 30, 3), (0.7, 10, 7), (0.8, 10, 8), (0.8, 11, 9), (0.5, 3, 2), (0.05, 20, 1),
    (0.05, 21, 2), (0.05, 1, 1), (0.0, 10, 0), (1.0, 7, 7), (0.8, 0, 0), (0.3, 10, 3), (0.57, 100, 57)])
def test_required_is_the_rate_times_closed_rounded_up_exactly(rate, closed, required):
    assert required_for(rate, closed) == required


def test_rates_come_from_the_settings(db):
    assert rates() == DEFAULT_RATES
    admin = factories.user(roles=("admin",))
    set_setting("callback.rate_p3", 0.25, actor=admin)
    assert rates()["P3"] == 0.25


def test_a_p1_sample_meets_80_percent_and_p4_5_percent(db):
    world = World()
    world.cases({"P1": (10, 0), "P4": (21, 0)})
    result = draw(QUARTER, world.desk, seed=7)
    by = {p.priority: p for p in result.priorities}
    assert (by["P1"].required, by["P1"].added, by["P4"].required, by["P4"].added) == (8, 8, 2, 2)
    assert (by["P2"].closed, by["P2"].required, by["P2"].added) == (0, 0, 0)


# --- properties of the first draw ------------------------------------------------------------

@settings(max_examples=30, **HYPOTHESIS)
@given(counts=counts_strategy, seed=seeds)
def test_each_priority_gets_its_rate_from_its_own_cases_key_accounts_first(app, counts, seed):
    fresh()
    world = World()
    world.cases(counts)
    world.cases({p: (4, 2) for p in PRIORITIES}, quarter=OTHER_QUARTER)  # never drawn for QUARTER
    result = draw(QUARTER, world.desk, seed=seed)
    db.session.commit()

    tasks = db.session.scalars(select(CallbackTask)).all()
    assert len({t.case_id for t in tasks}) == len(tasks)  # never a case twice
    keys = key_accounts()
    got = drawn()
    for row in result.priorities:
        n, key = counts[row.priority]
        ids = got[row.priority]
        assert len(ids) == ceil_rate(DEFAULT_RATES[row.priority], n) == row.required == row.added == row.active
        assert (row.closed, row.reached, row.failed) == (n, 0, 0)
        # key accounts first: an ordinary case is drawn only once every key-account case is
        assert sum(keys[e] for e in ids) == min(key, len(ids))
        # reproducible: the best-ranked cases of the seeded order, recomputed here
        assert ids == expected_order(seed, row.priority)[:len(ids)]
    for task in tasks:
        assert task.case.quarter == QUARTER and task.case.priority == task.priority
        assert task.quarter == QUARTER and task.state == "open" and task.assigned_to_id == world.desk.id
        assert task.rank == rank_of(seed, task.case.external_id, keys[task.case.external_id])
    draws = db.session.scalars(select(CallbackDraw)).all()
    assert {d.priority for d in draws} == {p for p in PRIORITIES if got[p]}
    for d in draws:
        assert (d.seed, d.reason, d.quarter, d.added) == (seed, "first", QUARTER, len(got[d.priority]))
        assert (d.closed, d.required) == (counts[d.priority][0], len(got[d.priority]))
    events = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "callbacks_drawn"))
    assert events == (1 if tasks else 0)
    status = {s.priority: (s.closed, s.required, s.active, s.reached, s.failed) for s in quarter_status(QUARTER)}
    assert status == {r.priority: (r.closed, r.required, r.active, r.reached, r.failed) for r in result.priorities}


@settings(max_examples=20, **HYPOTHESIS)
@given(counts=counts_strategy, seed=seeds, order=st.randoms(use_true_random=False))
def test_the_same_seed_draws_the_same_cases_whatever_the_import_order(app, counts, seed, order):
    fresh()
    World().cases(counts)
    first = drawn_with(seed)
    fresh()
    World().cases(counts, order=order)  # same tickets, imported in another order
    assert drawn_with(seed) == first


def drawn_with(seed):
    draw(QUARTER, None, seed=seed)
    db.session.commit()
    return {p: sorted(ids) for p, ids in drawn().items()}


def test_different_seeds_draw_different_cases(db):
    world = World()
    world.cases({"P3": (60, 0)})
    samples = set()
    for seed in range(1, 11):
        draw(QUARTER, world.desk, seed=seed)
        samples.add(tuple(sorted(drawn()["P3"])))
        db.session.rollback()
    assert len(samples) >= 9  # 12 of 60: two seeds picking the same twelve would be a fluke


# --- top-up ----------------------------------------------------------------------------------

@settings(max_examples=25, **HYPOTHESIS)
@given(counts=counts_strategy, extra=counts_strategy, seed=seeds)
def test_a_top_up_keeps_every_drawn_case_and_meets_the_new_requirement(app, counts, extra, seed):
    fresh()
    world = World()
    world.cases(counts)
    draw(QUARTER, world.desk, seed=seed)
    db.session.commit()
    before = drawn()

    world.cases(extra, prefix="L")  # imported later in the quarter
    result = draw(QUARTER, world.desk)  # no seed: the quarter's first one is reused
    db.session.commit()
    if any(before.values()):
        assert quarter_seed(QUARTER) == result.seed == seed
    else:  # nothing was drawn before: this was the quarter's first draw, with a seed of its own
        seed = quarter_seed(QUARTER)
    undrawn = {p: [e for e in expected_order(seed, p) if e not in before[p]] for p in PRIORITIES}
    after = drawn()
    for row in result.priorities:
        p = row.priority
        n = counts[p][0] + extra[p][0]
        assert set(before[p]) <= set(after[p])  # nothing drawn is taken back
        assert len(after[p]) == max(ceil_rate(DEFAULT_RATES[p], n), len(before[p])) == row.active
        new = set(after[p]) - set(before[p])
        assert row.added == len(new) and new == set(undrawn[p][:len(new)])  # the next in the seeded order
    assert set(db.session.scalars(select(CallbackDraw.seed))) <= {seed}
    for d in db.session.scalars(select(CallbackDraw)):
        assert d.reason in ("first", "top_up")
    tasks = db.session.scalars(select(CallbackTask.case_id)).all()
    assert len(tasks) == len(set(tasks))
    assert draw(QUARTER, world.desk).added == 0  # running it again changes nothing


def test_a_later_draw_reuses_the_first_seed_and_refuses_another(db):
    world = World()
    world.cases({"P1": (5, 1)})
    draw(QUARTER, world.desk, seed=1234)
    world.cases({"P1": (5, 0)}, prefix="L")
    assert draw(QUARTER, world.desk, seed=1234).seed == 1234  # the same seed again: fine
    with pytest.raises(DomainError):
        draw(QUARTER, world.desk, seed=99)
    world.cases({"P2": (4, 0)}, prefix="M")
    result = draw(QUARTER, world.desk)
    assert result.seed == 1234 and quarter_seed(QUARTER) == 1234
    reasons = [(d.priority, d.reason) for d in db.session.scalars(select(CallbackDraw).order_by(CallbackDraw.id))]
    assert reasons == [("P1", "first"), ("P1", "top_up"), ("P2", "first")]


def test_a_quarter_with_nothing_to_draw_records_nothing(db):
    world = World()
    result = draw(QUARTER, world.desk, seed=5)
    assert result.seed is None and result.added == 0
    assert db.session.scalar(select(func.count(CallbackDraw.id))) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "callbacks_drawn")) == 0


# --- replacement -----------------------------------------------------------------------------

def fail(task, user, how):
    """Fail ``task``: refused or wrong number once, no answer / busy until max_attempts."""
    if how in ("refused", "wrong_number"):
        return queue.log_attempt(task, user, how, expected_version=task.version)
    while task.state == "open":
        queue.log_attempt(task, user, how, "没人接", expected_version=task.version)
    return task


@settings(max_examples=25, **HYPOTHESIS)
@given(counts=small_counts, seed=seeds, failures=st.lists(
    st.tuples(st.sampled_from(PRIORITIES), st.integers(0, 1000),
              st.sampled_from(("refused", "wrong_number", "no_answer", "busy"))), max_size=8))
def test_a_failed_call_is_replaced_so_the_requirement_is_still_met(app, counts, seed, failures):
    fresh()
    world = World()
    world.cases(counts)
    draw(QUARTER, world.desk, seed=seed)
    db.session.commit()
    failed = {p: 0 for p in PRIORITIES}
    for priority, pick, how in failures:
        open_tasks = db.session.scalars(select(CallbackTask).where(
            CallbackTask.priority == priority, CallbackTask.state == "open").order_by(CallbackTask.id)).all()
        if not open_tasks:
            continue
        seen = set(db.session.scalars(select(CallbackTask.case_id)))
        undrawn = [e for e in expected_order(seed, priority) if e not in set(drawn()[priority])]
        task = fail(open_tasks[pick % len(open_tasks)], world.desk, how)
        db.session.commit()
        failed[priority] += 1
        assert task.state == "failed" and task.failed_reason == how
        assert task.attempts_count == (1 if how in ("refused", "wrong_number") else 3)
        n = counts[priority][0]
        required = ceil_rate(DEFAULT_RATES[priority], n)
        assert active_count(priority) == min(required, n - failed[priority])
        if undrawn:
            replacement = db.session.get(CallbackTask, task.replaced_by_id)
            assert replacement.case_id not in seen and replacement.priority == priority
            assert replacement.state == "open" and replacement.case.external_id == undrawn[0]
            assert replacement.draw.reason == "replacement" and replacement.draw.seed == seed
        else:
            assert task.replaced_by_id is None  # nobody left to call instead
    ids = db.session.scalars(select(CallbackTask.case_id)).all()
    assert len(ids) == len(set(ids))
    for row in quarter_status(QUARTER):
        assert row.failed == failed[row.priority]
        assert row.active == min(row.required, row.closed - row.failed)


def test_an_unreachable_reporter_is_replaced_after_max_attempts(db):
    world = World()
    world.cases({"P1": (5, 0)})  # 4 required, 1 spare
    draw(QUARTER, world.desk, seed=3)
    task = db.session.scalars(select(CallbackTask).order_by(CallbackTask.rank)).first()
    queue.log_attempt(task, world.desk, "no_answer", expected_version=task.version)
    queue.log_attempt(task, world.desk, "busy", expected_version=task.version)
    assert task.state == "open" and active_count("P1") == 4
    queue.log_attempt(task, world.desk, "no_answer", expected_version=task.version)
    assert task.state == "failed" and task.failed_reason == "no_answer" and task.replaced_by_id is not None
    assert active_count("P1") == 4
    status = {s.priority: s for s in quarter_status(QUARTER)}["P1"]
    assert (status.drawn, status.active, status.failed, status.missing) == (5, 4, 1, 0)


def test_a_failure_with_nobody_left_leaves_the_priority_short(db):
    world = World()
    world.cases({"P1": (2, 0)})  # 2 required of 2
    draw(QUARTER, world.desk, seed=3)
    task = db.session.scalars(select(CallbackTask)).first()
    queue.log_attempt(task, world.desk, "refused", expected_version=task.version)
    assert task.replaced_by_id is None
    assert {s.priority: s for s in quarter_status(QUARTER)}["P1"].missing == 1
    world.cases({"P1": (1, 0)}, prefix="L")  # a case imported later fills the gap, as the replacement
    draw(QUARTER, world.desk)
    db.session.refresh(task)
    assert task.replaced_by_id is not None
    assert db.session.get(CallbackTask, task.replaced_by_id).draw.reason == "replacement"


# --- who gets the calls ----------------------------------------------------------------------

def test_new_calls_go_round_robin_to_the_desk_fewest_open_first(db):
    world = World()
    second = factories.user(roles=("quality",))
    inactive = factories.user(roles=("quality",))
    inactive.active = False  # gone from the desk: gets nothing
    factories.user(roles=("pm",))
    world.cases({"P1": (4, 0)}, quarter=OTHER_QUARTER)
    draw(OTHER_QUARTER, world.desk, seed=1)
    for task in db.session.scalars(select(CallbackTask)):  # the first agent is busier
        task.assigned_to_id = world.desk.id
    world.cases({"P1": (10, 0)})  # 8 new calls
    draw(QUARTER, world.desk, seed=2)
    load = dict(db.session.execute(select(CallbackTask.assigned_to_id, func.count())
                                   .where(CallbackTask.quarter == QUARTER, CallbackTask.state == "open")
                                   .group_by(CallbackTask.assigned_to_id)).all())
    assert load == {world.desk.id: 2, second.id: 6}  # 4 + 2 open each


def test_without_a_quality_agent_the_calls_wait_unassigned(db):
    pm = factories.user(roles=("pm",))
    project = factories.project(pm=pm)
    db.session.add(ServiceCase(external_id="X1", project_id=project.id, priority="P1", reporter="r",
                               closed_at=datetime(2026, 10, 2), quarter=QUARTER))
    result = draw(QUARTER, None, seed=1)
    assert result.added == 1
    assert db.session.scalar(select(CallbackTask.assigned_to_id)) is None


@pytest.mark.parametrize("roles", [("pm",), ("sales",), ("admin",), ("pmo",), ("exec",)])
def test_only_the_quality_desk_draws(db, roles):
    world = World()
    world.cases({"P1": (3, 0)})
    with pytest.raises(PermissionError):
        draw(QUARTER, factories.user(roles=roles))
    assert db.session.scalar(select(func.count(CallbackTask.id))) == 0


@pytest.mark.parametrize("quarter", ["2026Q5", "Q4 2026", "", "1999Q1"])
def test_a_bad_quarter_is_refused(db, quarter):
    with pytest.raises(DomainError):
        draw(quarter, None)
    with pytest.raises(DomainError):
        quarter_status(quarter)


def test_drawing_takes_the_same_number_of_queries_for_ten_or_five_hundred_cases(db):
    def statements(n, quarter):
        World().cases({p: (n, n // 3) for p in PRIORITIES}, quarter=quarter, prefix=f"Q{n}")
        with count_statements(db.engine) as found:
            draw(quarter, None, seed=1)
        return found

    few, many = statements(10, "2025Q1"), statements(500, "2025Q2")
    assert len(many) <= len(few) + 2, many.report()  # inserts may come in a batch or two more


def test_the_audit_event_carries_the_figures(db):
    world = World()
    world.cases({"P2": (6, 2)})
    draw(QUARTER, world.desk, seed=11)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "callbacks_drawn"))
    detail = json.loads(event.detail)
    assert event.user_id == world.desk.id and detail["seed"] == 11 and detail["quarter"] == QUARTER
    p2 = next(p for p in detail["priorities"] if p["priority"] == "P2")
    assert (p2["closed"], p2["required"], p2["added"], p2["reason"]) == (6, 3, 3, "first")


def test_shuffled_order_is_not_insertion_order(db):
    """Sanity: the seeded order is not the ticket ids' order (nor their import order)."""
    World().cases({"P1": (30, 0)}, order=random.Random(1))
    order = expected_order(1, "P1")
    assert order != sorted(order)


# --- at the same time ------------------------------------------------------------------------

def _race(app, work, n):
    """Run ``work(i)`` in ``n`` threads released together, each with its own session."""
    import threading
    start, outcomes = threading.Barrier(n), [None] * n

    def run(i):
        with app.app_context():
            start.wait()
            try:
                outcomes[i] = work(i)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - every failure is reported by the assertion
                db.session.rollback()
                outcomes[i] = f"error: {exc!r} {getattr(getattr(exc, 'orig', None), 'sqlite_errorname', '')}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a drawer hung"
    return outcomes


def test_simultaneous_draws_pick_one_seed_and_never_a_case_twice(app, db):
    World().cases({"P1": (20, 5), "P2": (20, 0), "P4": (40, 0)})
    db.session.commit()  # the test's own session holds no lock while the threads run
    outcomes = _race(app, lambda i: draw(QUARTER, None).added, 6)
    assert not any(isinstance(o, str) for o in outcomes), outcomes
    assert sorted(outcomes) == [0] * 5 + [16 + 10 + 2]
    assert len(set(db.session.scalars(select(CallbackDraw.seed)))) == 1
    ids = db.session.scalars(select(CallbackTask.case_id)).all()
    assert len(ids) == len(set(ids)) == 28


def test_two_calls_failing_at_once_each_get_a_replacement(app, db):
    world = World()
    world.cases({"P1": (10, 0)})  # 8 required, 2 spare
    draw(QUARTER, world.desk, seed=9)
    db.session.commit()
    task_ids = db.session.scalars(select(CallbackTask.id).order_by(CallbackTask.rank).limit(2)).all()
    desk_id = world.desk.id
    db.session.commit()  # release the write lock the read took (SQLite)

    def refuse(i):
        task = db.session.get(CallbackTask, task_ids[i])
        queue.log_attempt(task, db.session.get(User, desk_id), "refused", expected_version=task.version)
        return task.replaced_by_id

    outcomes = _race(app, refuse, 2)
    assert all(isinstance(o, int) for o in outcomes) and len(set(outcomes)) == 2, outcomes
    assert active_count("P1") == 8
    ids = db.session.scalars(select(CallbackTask.case_id)).all()
    assert len(ids) == len(set(ids)) == 10
