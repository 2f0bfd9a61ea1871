"""Relationship callbacks (DESIGN §4.9): a key account's schedule — every N weeks from a start
date — makes calls due for the quality desk, independent of tickets.

Each date the schedule names (its *nominal* date, ``CallbackTask.scheduled_on``) gets exactly one
task, due on that date or, when it is not a working day of the portal's calendar, on the next
working day (``due_on``). ``create_due_tasks`` is the daily job (``flask relationship-callbacks``):
it creates the tasks due up to a few days ahead and catches up on every date missed while it did
not run, so running it twice, or twice at once, or after a gap, neither doubles nor loses a call;
the database's unique key on (account, nominal date) is the guard.
"""
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ...extensions import db
from ...models import CallbackTask, Client, KeyAccount
from ...models.base import utcnow
from ..audit import record_event
from ..quarters import local_today, quarter_of
from ..working_days import CalendarUnknown, working_calendar

#: how far ahead the job creates calls, so that "due this week" shows up before the day
HORIZON_DAYS = 7
#: rows per INSERT (SQLite allows 32 766 bound values in one statement)
_CHUNK = 500
#: a nominal date not followed by a working day within this many days keeps its own date
_SEARCH_DAYS = 60


def scheduled_dates(account, until: date) -> list[date]:
    """The nominal dates ``callback_starts_on + k × callback_every_weeks`` weeks (k = 0, 1, …)
    up to and including ``until``; none for an incomplete schedule."""
    starts, weeks = account.callback_starts_on, account.callback_every_weeks
    if starts is None or not weeks or weeks < 1 or until < starts:
        return []
    step = timedelta(weeks=weeks)
    return [starts + k * step for k in range((until - starts) // step + 1)]


def due_on_for(nominal: date, calendar=None) -> date:
    """The working day a call scheduled on ``nominal`` is due: the date itself when it is a working
    day, else the next one. A year the calendar does not know keeps the nominal date (never lose a
    call over a missing calendar). ``calendar``: a ``working_calendar()`` to reuse."""
    calendar = calendar or working_calendar()
    day = nominal
    try:
        for _ in range(_SEARCH_DAYS):
            if calendar.is_working_day(day):
                return day
            day += timedelta(days=1)
    except CalendarUnknown:
        pass
    return nominal


def is_overdue(task, today: date) -> bool:
    """An open relationship call whose due day has passed."""
    return (task.kind == "relationship" and task.state == "open" and task.due_on is not None
            and task.due_on < today)


def count_overdue(today: date) -> int:
    """The open relationship calls whose due day has passed (``is_overdue`` in SQL)."""
    return db.session.scalar(select(func.count(CallbackTask.id)).where(
        CallbackTask.kind == "relationship", CallbackTask.state == "open", CallbackTask.due_on < today))


def scheduled_accounts(account=None):
    """The accounts whose schedule makes calls: the client currently a key account, and every
    weeks, start date and project set (``account``: only that one, if so)."""
    query = (select(KeyAccount).join(Client, Client.id == KeyAccount.client_id)
             .where(Client.key_account.is_(True), KeyAccount.callback_every_weeks >= 1,
                    KeyAccount.callback_starts_on.is_not(None), KeyAccount.callback_project_id.is_not(None))
             .order_by(KeyAccount.id))
    if account is not None:
        query = query.where(KeyAccount.id == account.id)
    return db.session.scalars(query).all()


def _insert_skipping_doubles(rows) -> list:
    """INSERT the rows, skipping any whose (account, nominal date) exists already — committed by
    another run meanwhile (PostgreSQL waits for that run's commit, then skips). Returns
    (id, key_account_id, scheduled_on, due_on) of the rows inserted. The portal runs on
    PostgreSQL or SQLite, both of which have ``ON CONFLICT DO NOTHING``."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    inserted = []
    for start in range(0, len(rows), _CHUNK):
        statement = (insert(CallbackTask).values(rows[start:start + _CHUNK])
                     .on_conflict_do_nothing(index_elements=["key_account_id", "scheduled_on"])
                     .returning(CallbackTask.id, CallbackTask.key_account_id, CallbackTask.scheduled_on,
                                CallbackTask.due_on))
        inserted += db.session.execute(statement).all()
    return inserted


def create_due_tasks(today=None, *, account=None, horizon_days=HORIZON_DAYS, actor=None) -> int:
    """Create the relationship calls due up to ``today + horizon_days`` that have no task yet, for
    every scheduled account (``account``: that one only), each assigned round-robin to the desk;
    a date missed while the job did not run gets its task too (it shows as overdue). Safe to run
    again, or twice at once. One audit event when something was created; returns how many. Flushes."""
    from ..callbacks.sampling import DeskAssigner
    today = today or local_today()
    until = today + timedelta(days=horizon_days)
    accounts = scheduled_accounts(account)
    if not accounts:
        return 0
    existing = {}
    for account_id, nominal in db.session.execute(
            select(CallbackTask.key_account_id, CallbackTask.scheduled_on)
            .where(CallbackTask.key_account_id.in_([a.id for a in accounts]))):
        existing.setdefault(account_id, set()).add(nominal)
    calendar, now = working_calendar(), utcnow()
    wanted = []
    for acc in accounts:
        for nominal in scheduled_dates(acc, until):
            if nominal in existing.get(acc.id, ()):
                continue
            due = due_on_for(nominal, calendar)
            if due <= until:
                wanted.append((acc, nominal, due))
    if not wanted:
        return 0
    assigner = DeskAssigner()
    rows = [{"kind": "relationship", "key_account_id": acc.id, "project_id": acc.callback_project_id,
             "contact_id": acc.callback_contact_id, "scheduled_on": nominal, "due_on": due,
             "quarter": quarter_of(due), "assigned_to_id": assigner.next(), "state": "open",
             "attempts_count": 0, "version": 1, "created_at": now}
            for acc, nominal, due in wanted]
    created = _insert_skipping_doubles(rows)
    if created:
        record_event("relationship_callbacks_created", account, actor=actor,
                     object_type="KeyAccount" if account is not None else "key_accounts",
                     detail={"today": today.isoformat(), "until": until.isoformat(), "created": len(created),
                             "tasks": [{"task": task_id, "key_account": account_id,
                                        "scheduled_on": nominal.isoformat(), "due_on": due.isoformat()}
                                       for task_id, account_id, nominal, due in created]})
        db.session.flush()
    return len(created)
