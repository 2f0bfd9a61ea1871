"""The key-account flag changes only by an executive's decision: a session hook refuses any
flush that sets or changes ``Client.key_account`` outside ``decision_in_progress()`` — whatever
the path (a view, a CLI command, an import, a shell), not only the ones known today."""
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from ...models import Client

_DECIDING: ContextVar[bool] = ContextVar("key_account_decision", default=False)


class FlagChangeRefused(PermissionError):
    """Someone tried to set the key-account flag without an approved decision."""


@contextmanager
def decision_in_progress():
    """The one place the flag may change: ``designation.decide`` (and test factories that build
    a key account directly, standing in for a decision)."""
    token = _DECIDING.set(True)
    try:
        yield
    finally:
        _DECIDING.reset(token)


@event.listens_for(Session, "before_flush")
def _refuse_flag_changes(session, _flush_context, _instances):
    if _DECIDING.get():
        return
    for obj in session.new:
        if isinstance(obj, Client) and obj.key_account:
            raise FlagChangeRefused("a client becomes a key account only by an approved decision")
    for obj in session.dirty:
        if isinstance(obj, Client) and inspect(obj).attrs.key_account.history.has_changes():
            raise FlagChangeRefused("the key-account flag changes only by an approved decision")
