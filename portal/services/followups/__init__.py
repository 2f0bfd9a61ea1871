"""The closed loop (DESIGN §4.4): a response with an opinion or a low score opens a follow-up
for the project's PM; the PM contacts the client, records cause and actions, resolves or
escalates to an executive, who answers on the record; PMO verifies (closed) or reopens.

Every step goes through ``apply``, driven by one table ``TRANSITIONS``; each step checks
who may take it and the version the actor saw, writes a timeline event and an audit event,
and tells the next person. Functions flush; the caller commits.

The package, by what each part does:

- ``rules``: the state machine as data (``TRANSITIONS``, ``ACTIONS``, ``ACTOR_OF``, ``ACTIVE_STATES``);
- ``opening``: opening a follow-up when a response is submitted (connects ``response_submitted``);
- ``transitions``: ``apply`` and the steps it runs, who may take them, who is told next;
- ``reading``: who sees what, the filtered list, the home-page counts;
- ``reminders``: the daily overdue reminder.

Import from here (``from portal.services import followups``); the modules are the layout, not the API.
"""
from ...extensions import db
from .opening import due_date_for, link_of, open_for_response, triggers_of  # connects the hook
from .reading import (FollowUpFilters, can_view, followup_of, followup_scope, followups_page,
                      followups_query, home_counts, is_overdue, owners_visible_to,
                      projects_visible_to)
from .reminders import fill_missing_due_dates, notify_overdue
from .rules import ACTIONS, ACTIVE_STATES, ACTOR_OF, TRANSITIONS
from .transitions import (ChangedMeanwhile, allowed_actions, apply, escalation_recipients, may_act,
                          state_label)

__all__ = [
    "db",
    "ACTIONS", "ACTIVE_STATES", "ACTOR_OF", "TRANSITIONS",
    "due_date_for", "link_of", "open_for_response", "triggers_of",
    "ChangedMeanwhile", "allowed_actions", "apply", "escalation_recipients", "may_act", "state_label",
    "FollowUpFilters", "can_view", "followup_of", "followup_scope", "followups_page", "followups_query",
    "home_counts", "is_overdue", "owners_visible_to", "projects_visible_to",
    "fill_missing_due_dates", "notify_overdue",
]
