"""The key-account programme (DESIGN §4.9). The package, by what each part does:

- ``rules``: who may propose, decide, manage and read (``can_view``, ``account_scope``);
- ``designation``: proposals to designate or withdraw, and the executive's decision (the only
  way the client's flag changes);
- ``programme``: an approved account's team, service plan (and its approval) and schedule;
- ``schedule``: the relationship callbacks the schedule makes due (the quality desk's tasks);
- ``report``: what the client's service report shows (only that client's data).
"""
from . import guard  # noqa: F401  (the session hook refusing flag changes outside a decision)
from .designation import account_of, decide, decisions_of, pending_decision, pending_proposals, propose
from .guard import FlagChangeRefused, decision_in_progress
from .programme import ChangedMeanwhile, approve_plan, set_plan, set_schedule, set_team
from .rules import (
    DECIDERS,
    MANAGERS,
    PROPOSERS,
    WIDE,
    account_scope,
    can_view,
    is_team_member,
    may_decide,
    may_manage,
    may_propose,
    team_accounts,
)

__all__ = ["account_of", "decide", "decisions_of", "pending_decision", "pending_proposals", "propose",
           "FlagChangeRefused", "decision_in_progress",
           "ChangedMeanwhile", "approve_plan", "set_plan", "set_schedule", "set_team",
           "DECIDERS", "MANAGERS", "PROPOSERS", "WIDE", "account_scope", "can_view", "is_team_member",
           "may_decide", "may_manage", "may_propose", "team_accounts"]
