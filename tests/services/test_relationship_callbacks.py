"""Relationship callbacks (DESIGN §4.9): a key account's schedule — every N weeks from a start
date — creates exactly the calls due (none twice, none missed, a holiday moving the due day to
the next working day, a gap in the daily job caught up), in the quality desk's queue beside the
ticket calls and independent of them; worked like any call, but never counted in the ticket rates.

Dates: 2026 is a year the official calendar knows (National Day 1–7 October off, Saturday
10 October a make-up working day); 2027 is not, unless an override covers it."""
import json
import threading
from datetime import date, datetime, timedelta

import pytest
from chinese_calendar import is_workday
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import (AuditEvent, CallbackDraw, CallbackTask, Client, FollowUp, KeyAccount, Response,
                           ServiceCase)
from portal.seed.templates import ensure_default_templates
from portal.services.callbacks import queue
from portal.services.callbacks.sampling import draw, quarter_status
from portal.services.callbacks.summary import callback_summary
from portal.services.key_accounts.schedule import (create_due_tasks, due_on_for, is_overdue,
                                                   scheduled_dates)
from portal.services.settings import set_setting

GOOD = {"q_resolved": "1", "q_timeliness": "5", "q_attitude": "5", "q_technical": "4",
        "q_communication": "1", "q_documentation": "na", "q_overall": "9"}
LOW = {**GOOD, "q_attitude": "2", "q_opinion": "希望多来现场"}
STARTS = date(2026, 7, 9)  # a Thursday: every two weeks it lands on 1 October (National Day)


def add_account(make, *, every_weeks=2, starts_on=STARTS, key_account=True, project=True, contact=True,
                pm=None, sales=None):
    """A client with a contact and a project, and its KeyAccount row with the schedule given."""
    client = make.client(key_account=key_account)
    person = make.contact(client, name=f"王总{client.id}", phone="13912345678") if contact else None
    where = make.project(pm=pm, sales=sales, client_=client) if project else None
    account = KeyAccount(client_id=client.id, callback_every_weeks=every_weeks, callback_starts_on=starts_on,
                         callback_contact_id=person.id if person else None,
                         callback_project_id=where.id if where else None)
    db.session.add(account)
    db.session.commit()
    return account


@pytest.fixture
def desk(make):
    return make.user("rc_agent", roles=("quality",), display_name="质量部 李")


@pytest.fixture
def account(make, desk):
    return add_account(make, pm=make.user("rc_pm", roles=("pm",)), sales=make.user("rc_sales", roles=("sales",)))


def tasks(account=None):
    query = select(CallbackTask).where(CallbackTask.kind == "relationship").order_by(CallbackTask.scheduled_on)
    if account is not None:
        query = query.where(CallbackTask.key_account_id == account.id)
    return db.session.scalars(query).all()


def expected_due(nominal):
    """The next working day on or after ``nominal``, straight from the official calendar."""
    day = nominal
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def days(first, last):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


# --- the schedule ----------------------------------------------------------------------------

def test_the_nominal_dates_are_every_n_weeks_from_the_start(account):
    assert scheduled_dates(account, date(2026, 7, 8)) == []
    assert scheduled_dates(account, date(2026, 8, 6)) == [date(2026, 7, 9), date(2026, 7, 23), date(2026, 8, 6)]
    account.callback_every_weeks = 3
    assert scheduled_dates(account, date(2026, 8, 20)) == [date(2026, 7, 9), date(2026, 7, 30), date(2026, 8, 20)]


@pytest.mark.parametrize("nominal, due", [
    (date(2026, 9, 30), date(2026, 9, 30)),   # a working day: itself
    (date(2026, 10, 1), date(2026, 10, 8)),   # National Day: the first working day after the holiday
    (date(2026, 10, 10), date(2026, 10, 10)),  # a Saturday worked to make up for it
    (date(2026, 10, 11), date(2026, 10, 12)),  # a Sunday: the Monday
    (date(2027, 1, 2), date(2027, 1, 2)),     # a year nobody knows yet: the date itself, never lost
])
def test_the_due_day_is_the_next_working_day(db, nominal, due):
    assert due_on_for(nominal) == due


def test_an_override_of_the_calendar_moves_the_due_day(db, make):
    set_setting("calendar.overrides", {"2027-01-01": "holiday"}, actor=make.user(roles=("admin",)))
    assert due_on_for(date(2027, 1, 1)) == date(2027, 1, 4)  # 2027 known by its override: Friday off → Monday


def test_a_daily_job_creates_exactly_the_calls_due_over_months(account):
    """Every day from July to the end of December: each scheduled date gets one call, due on the
    next working day, created a week ahead; the holiday neither loses nor doubles one."""
    created = sum(create_due_tasks(day) for day in days(date(2026, 7, 1), date(2026, 12, 20)))
    nominal = [STARTS + timedelta(weeks=2 * k) for k in range(13)]  # 9 Jul … 24 Dec ≤ 20 Dec + 7
    assert nominal[-1] == date(2026, 12, 24) and date(2026, 10, 1) in nominal
    assert created == 13
    assert [(t.scheduled_on, t.due_on) for t in tasks(account)] == [(n, expected_due(n)) for n in nominal]
    national_day = next(t for t in tasks(account) if t.scheduled_on == date(2026, 10, 1))
    assert national_day.due_on == date(2026, 10, 8) and national_day.quarter == "2026Q4"
    first = tasks(account)[0]
    assert (first.kind, first.project_id, first.contact_id, first.case_id, first.priority, first.rank,
            first.state, first.quarter) == ("relationship", account.callback_project_id,
                                            account.callback_contact_id, None, None, None, "open", "2026Q3")


def test_running_again_creates_nothing_more(account):
    assert create_due_tasks(date(2026, 8, 1)) == 3  # 9 and 23 July, 6 August (a week ahead)
    assert create_due_tasks(date(2026, 8, 1)) == 0
    assert create_due_tasks(date(2026, 7, 20)) == 0  # an earlier day changes nothing either
    assert len(tasks(account)) == 3


def test_a_call_due_after_the_holiday_is_created_when_it_comes_within_a_week(account):
    create_due_tasks(date(2026, 9, 28))  # looks up to 5 October: 1 October is due on the 8th
    assert date(2026, 10, 1) not in {t.scheduled_on for t in tasks(account)}
    assert create_due_tasks(date(2026, 10, 1)) == 1  # up to the 8th
    assert [t.due_on for t in tasks(account) if t.scheduled_on == date(2026, 10, 1)] == [date(2026, 10, 8)]
    assert create_due_tasks(date(2026, 10, 8)) == 1  # 15 October, and still one call for the 1st
    assert len([t for t in tasks(account) if t.scheduled_on == date(2026, 10, 1)]) == 1


def test_a_gap_in_the_daily_job_is_caught_up_and_shows_overdue(account):
    assert create_due_tasks(date(2026, 7, 1)) == 0
    today = date(2026, 9, 10)  # the job did not run for ten weeks
    assert create_due_tasks(today) == 6  # 9 Jul, 23 Jul, 6 Aug, 20 Aug, 3 Sep, and 17 Sep ahead
    assert [is_overdue(t, today) for t in tasks(account)] == [True] * 5 + [False]


def test_only_calls_within_the_horizon_are_created(account):
    assert create_due_tasks(date(2026, 7, 1), horizon_days=8) == 1
    assert create_due_tasks(date(2026, 7, 1), horizon_days=30) == 1  # 23 July; 9 July has its call
    assert len(tasks(account)) == 2


@pytest.mark.parametrize("missing", ["flag", "every_weeks", "starts_on", "project"])
def test_an_account_withdrawn_or_without_a_complete_schedule_gets_no_call(account, missing):
    if missing == "flag":  # withdrawn: the client's flag is off (the designation service's doing)
        db.session.execute(update(Client).where(Client.id == account.client_id).values(key_account=False))
    else:
        setattr(account, {"every_weeks": "callback_every_weeks", "starts_on": "callback_starts_on",
                          "project": "callback_project_id"}[missing], None)
    db.session.commit()
    assert create_due_tasks(date(2026, 9, 10)) == 0
    assert tasks() == []


def test_a_schedule_without_a_contact_still_makes_its_calls(make, desk):
    account = add_account(make, contact=False)
    assert create_due_tasks(date(2026, 7, 9)) == 1 and tasks(account)[0].contact_id is None


def test_each_account_gets_its_own_calls_and_one_can_be_run_alone(make, account):
    other = add_account(make, every_weeks=1, starts_on=date(2026, 7, 6))
    assert create_due_tasks(date(2026, 7, 13), account=other) == 3  # 6, 13, 20 July
    assert tasks(account) == []
    assert create_due_tasks(date(2026, 7, 13)) == 1  # the first account's 9 July (23 July is not due yet)
    assert len(tasks(other)) == 3


def test_calls_are_assigned_round_robin_to_the_desk(make, account, desk):
    second = make.user("rc_agent2", roles=("quality",))
    make.user("rc_retired", roles=("quality",)).active = False
    db.session.commit()
    create_due_tasks(date(2026, 9, 10))
    assigned = [t.assigned_to_id for t in tasks(account)]
    assert sorted(assigned) == sorted([desk.id, second.id] * 3)


def test_a_run_that_created_calls_is_audited_once(account):
    create_due_tasks(date(2026, 8, 1))
    create_due_tasks(date(2026, 8, 1))
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "relationship_callbacks_created")).all()
    assert len(events) == 1
    detail = json.loads(events[0].detail)
    assert detail["created"] == 3
    assert {t["scheduled_on"] for t in detail["tasks"]} == {"2026-07-09", "2026-07-23", "2026-08-06"}


def test_two_runs_at_once_neither_double_nor_fail(app, account):
    """Eight daily jobs started together (two cron hosts, a manual run...): one set of calls."""
    db.session.commit()
    runners, start = 8, threading.Barrier(8)
    outcomes = [None] * runners

    def run(i):
        with app.app_context():
            try:
                start.wait()
                outcomes[i] = create_due_tasks(date(2026, 9, 10))
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the assertion
                outcomes[i] = f"error: {exc!r} {getattr(getattr(exc, 'orig', None), 'sqlite_errorname', '')}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(runners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert sum(outcomes) == 6
    assert db.session.scalar(select(func.count(CallbackTask.id))) == 6


# --- in the desk's queue ---------------------------------------------------------------------

def test_the_calls_are_in_the_desks_queue_without_any_ticket(account, desk):
    today = date(2026, 9, 10)
    create_due_tasks(today)
    assert db.session.scalar(select(func.count(ServiceCase.id))) == 0
    page = queue.tasks_page(desk, quarter="2026Q3", today=today)
    assert [t.scheduled_on for t in page.items] == [t.scheduled_on for t in tasks(account)]
    assert page.items[0].project.client.name and page.items[0].contact.phone == "13912345678"


def test_the_queue_puts_calls_due_first_then_tickets_then_calls_ahead(make, account, desk):
    project = db.session.get(KeyAccount, account.id).callback_project
    for i in range(2):
        db.session.add(ServiceCase(external_id=f"RC-{i}", project_id=project.id, priority="P1", reporter="报障人",
                                   closed_at=datetime(2026, 9, 1, 2), quarter="2026Q3"))
    db.session.commit()
    draw("2026Q3", desk, seed=7)
    today = date(2026, 9, 3)  # 3 September is due today, 17 September a fortnight ahead
    create_due_tasks(today, horizon_days=14)
    listed = queue.tasks_page(desk, quarter="2026Q3", mine=False, today=today).items
    kinds = [(t.kind, t.scheduled_on) for t in listed]
    assert kinds == [("relationship", date(2026, 7, 9)), ("relationship", date(2026, 7, 23)),
                     ("relationship", date(2026, 8, 6)), ("relationship", date(2026, 8, 20)),
                     ("relationship", date(2026, 9, 3)), ("ticket", None), ("ticket", None),
                     ("relationship", date(2026, 9, 17))]
    tickets = [t for t in listed if t.kind == "ticket"]
    assert [t.rank for t in tickets] == sorted(t.rank for t in tickets)


def test_missed_calls_of_an_earlier_quarter_stay_in_the_current_queue(account, desk):
    today = date(2026, 10, 12)
    create_due_tasks(date(2026, 9, 20))  # up to 27 September: the last is 17 September, in 2026Q3
    missed = tasks(account)[-1]
    assert missed.scheduled_on == date(2026, 9, 17) and missed.quarter == "2026Q3" and is_overdue(missed, today)
    current = queue.tasks_page(desk, quarter="2026Q4", today=today)
    assert missed.id in {t.id for t in current.items}
    closed = tasks(account)[0]
    queue.log_attempt(closed, desk, "refused", expected_version=closed.version)
    db.session.commit()  # a closed call stays in its own quarter
    assert closed.id not in {t.id for t in queue.tasks_page(desk, quarter="2026Q4", state=None, today=today).items}
    assert closed.id in {t.id for t in queue.tasks_page(desk, quarter="2026Q3", state=None, today=today).items}
    assert queue.tasks_page(desk, quarter="2026Q3", today=date(2026, 12, 1)).total == 5  # its open ones


def test_the_desk_home_counts_calls_due_and_missed(make, account, desk):
    today = date(2026, 9, 10)
    create_due_tasks(today)
    counts = queue.desk_counts(desk, "2026Q3", today)
    assert (counts.mine, counts.due, counts.overdue, counts.due_mine) == (6, 5, 5, 5)
    assert counts.mine == queue.tasks_page(desk, quarter="2026Q3", today=today).total
    assert queue.desk_counts(desk, "2026Q3", date(2026, 9, 17)).due == 6
    assert queue.desk_counts(make.user(roles=("pm",)), "2026Q3", today).due == 0  # not their project


# --- working the call ------------------------------------------------------------------------

@pytest.fixture
def due_call(account, desk):
    ensure_default_templates()
    db.session.commit()
    create_due_tasks(date(2026, 7, 9))
    return tasks(account)[0]


def test_a_reached_call_records_the_callback_form_on_the_accounts_project(due_call, desk):
    queue.log_attempt(due_call, desk, "reached", "聊了合作情况", expected_version=due_call.version)
    version = queue.callback_versions("zh")[0]
    response = queue.record_callback(due_call, desk, GOOD, version=version, now=datetime(2026, 7, 9, 3))
    db.session.commit()
    assert (response.channel, response.project_id, response.contact_id, response.quarter) == (
        "phone", due_call.project_id, due_call.contact_id, "2026Q3")
    assert due_call.state == "reached" and due_call.response_id == response.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "callback_recorded"))
    assert json.loads(event.detail)["key_account"] == due_call.key_account_id


def test_a_low_score_on_a_relationship_call_opens_a_follow_up_for_the_pm(due_call, desk):
    queue.log_attempt(due_call, desk, "reached", expected_version=due_call.version)
    response = queue.record_callback(due_call, desk, LOW, version=queue.callback_versions("zh")[0])
    db.session.commit()
    followup = db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))
    assert followup is not None and followup.owner_id == due_call.project.pm_id


def test_a_failed_relationship_call_gets_no_replacement(due_call, desk):
    queue.log_attempt(due_call, desk, "refused", expected_version=due_call.version)
    db.session.commit()
    assert (due_call.state, due_call.failed_reason, due_call.replaced_by_id) == ("failed", "refused", None)
    assert db.session.scalar(select(func.count(CallbackDraw.id))) == 0
    assert db.session.scalar(select(func.count(CallbackTask.id))) == 1


@pytest.mark.parametrize("who", ["pm", "sales"])
def test_pm_and_sales_read_but_cannot_work_a_relationship_call(due_call, who):
    user = getattr(due_call.project, who)
    assert queue.can_read(user, due_call) and not queue.can_work(user)
    with pytest.raises(PermissionError):
        queue.log_attempt(due_call, user, "reached", expected_version=due_call.version)
    assert due_call.attempts_count == 0


def test_another_pm_cannot_read_it(due_call, make):
    assert queue.task_for(make.user(roles=("pm",)), due_call.id) is None


# --- the ticket summary stays about tickets --------------------------------------------------

def test_relationship_calls_count_in_no_ticket_rate(make, account, desk):
    ensure_default_templates()
    project = account.callback_project
    for i in range(5):
        db.session.add(ServiceCase(external_id=f"SUM-{i}", project_id=project.id, priority="P2", reporter="报障人",
                                   closed_at=datetime(2026, 10, 12, 2), quarter="2026Q4"))
    db.session.commit()
    draw("2026Q4", desk, seed=11)
    db.session.commit()

    def figures():
        summary = callback_summary("2026Q4")
        return summary.priorities, summary.totals, summary.cases, quarter_status("2026Q4")

    before = figures()
    create_due_tasks(date(2026, 12, 20))  # Q4's relationship calls: 15 Oct … 24 Dec
    version = queue.callback_versions("zh")[0]
    reached, failed = tasks(account)[-2:]
    queue.log_attempt(reached, desk, "reached", expected_version=reached.version)
    queue.record_callback(reached, desk, GOOD, version=version)
    queue.log_attempt(failed, desk, "wrong_number", expected_version=failed.version)
    db.session.commit()
    assert {t.quarter for t in tasks(account)} >= {"2026Q4"}
    assert figures() == before
    assert db.session.scalar(select(func.count(Response.id))) == 1


# --- the daily command -----------------------------------------------------------------------

def test_the_daily_command_creates_the_calls_and_says_so(runner, account):
    first = runner.invoke(args=["relationship-callbacks", "--today", "2026-09-10"])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == ("relationship callbacks: 6 created (due up to 2026-09-17); "
                                    "5 open and overdue")
    again = runner.invoke(args=["relationship-callbacks", "--today", "2026-09-10"])
    assert again.output.startswith("relationship callbacks: 0 created")
    assert len(tasks(account)) == 6
    assert runner.invoke(args=["relationship-callbacks", "--today", "10/09/2026"]).exit_code == 2
