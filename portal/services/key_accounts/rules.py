"""Who may do what in the key-account programme (DESIGN §4.9), as plain rules on a user.

Sales or quality propose designating or withdrawing a client; only an executive decides. The
quality department (or PMO) sets an approved account's team, plan and callback schedule; an
executive approves the service plan. Quality, PMO, exec and admin read every account; the
account's named team reads theirs."""
from sqlalchemy import or_, select

from ...models import KeyAccount

WIDE = ("quality", "pmo", "exec", "admin")
PROPOSERS = ("sales", "quality")
DECIDERS = ("exec",)
#: set the team, the plan and the schedule of an approved account
MANAGERS = ("quality", "pmo")


def _active(user):
    return user is not None and user.is_active


def may_propose(user) -> bool:
    return _active(user) and user.has_role(*PROPOSERS)


def may_decide(user) -> bool:
    return _active(user) and user.has_role(*DECIDERS)


def may_manage(user) -> bool:
    return _active(user) and user.has_role(*MANAGERS)


def is_team_member(user, account) -> bool:
    return _active(user) and account is not None and user.id in account.team_ids()


def can_view(user, account) -> bool:
    """Quality, PMO, exec and admin: every account; its named team: theirs."""
    return _active(user) and (user.has_role(*WIDE) or is_team_member(user, account))


def account_scope(user):
    """SQL condition on KeyAccount for what ``user`` may read (``can_view`` in SQL)."""
    if user.has_role(*WIDE):
        return True
    return or_(KeyAccount.pm_id == user.id, KeyAccount.service_contact_id == user.id,
               KeyAccount.engineer_id == user.id, KeyAccount.sales_id == user.id)


def team_accounts(user):
    """SELECT of the ids of the accounts ``user`` is on the team of."""
    return select(KeyAccount.id).where(or_(
        KeyAccount.pm_id == user.id, KeyAccount.service_contact_id == user.id,
        KeyAccount.engineer_id == user.id, KeyAccount.sales_id == user.id))
