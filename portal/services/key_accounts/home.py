"""What the account team sees on its home page (DESIGN §4.9): each key account they are on the
team of, with what is due — the next relationship call (and any missed), open complaints, and
low scores of the last 90 days. One statement whatever the number of accounts."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import contains_eager

from ...extensions import db
from ...models import CallbackTask, Client, Complaint, KeyAccount, Project, Response
from ..complaints.rules import OPEN_STATES
from ..quarters import local_today
from ..settings import get_setting
from .rules import team_accounts

LOW_SCORE_DAYS = 90


@dataclass(frozen=True)
class AccountDue:
    account: KeyAccount
    next_call: date | None     # the earliest open relationship call's due date
    overdue_calls: int
    open_complaints: int
    low_scores: int            # responses at or below the follow-up threshold, last 90 days

    @property
    def anything(self) -> bool:
        return bool(self.next_call or self.open_complaints or self.low_scores)


def team_home(user, today: date | None = None) -> list:
    """AccountDue per current key account ``user`` is on the team of, in one statement (the
    figures are correlated subqueries of each account's row)."""
    today = today or local_today()
    since = datetime.combine(today - timedelta(days=LOW_SCORE_DAYS), time.min)
    open_call = and_(CallbackTask.key_account_id == KeyAccount.id, CallbackTask.state == "open")
    next_call = select(func.min(CallbackTask.due_on)).where(open_call).scalar_subquery()
    overdue = select(func.count(CallbackTask.id)).where(open_call, CallbackTask.due_on < today).scalar_subquery()
    complaints = (select(func.count(Complaint.id))
                  .where(Complaint.client_id == KeyAccount.client_id, Complaint.state.in_(OPEN_STATES))
                  .scalar_subquery())
    low = (select(func.count(Response.id)).join(Project, Project.id == Response.project_id)
           .where(Project.client_id == KeyAccount.client_id, Response.submitted_at >= since,
                  Response.score <= get_setting("followup.low_score_threshold")).scalar_subquery())
    rows = db.session.execute(
        select(KeyAccount, next_call, overdue, complaints, low).join(Client, Client.id == KeyAccount.client_id)
        .where(KeyAccount.id.in_(team_accounts(user)), Client.key_account.is_(True))
        .options(contains_eager(KeyAccount.client)).order_by(Client.name)).all()
    return [AccountDue(account, next_on, int(late or 0), int(open_ or 0), int(lows or 0))
            for account, next_on, late, open_, lows in rows]
